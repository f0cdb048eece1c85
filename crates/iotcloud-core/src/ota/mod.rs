//! Firmware updates over the air: the job a cloud announces, its download into a
//! [`FirmwareSink`], and the progress reported back.

mod sink;

pub use sink::FirmwareSink;
