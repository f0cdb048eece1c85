#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod accounts;
pub mod aliyun;
mod encoding;
mod fault;
mod firmware;
mod http;
pub mod huawei;
pub mod onenet;
mod server;
pub mod sign;
mod state;
pub mod tencent;

#[cfg(test)]
mod tests;

pub use accounts::Accounts;
pub use aliyun::{AliyunDevice, AliyunProduct};
pub use fault::Fault;
pub use firmware::{DownloadFault, FirmwareServer};
pub use http::Recorded;
pub use huawei::{HuaweiAccount, HuaweiDevice, HuaweiProduct};
pub use onenet::{OneNetDevice, OneNetProduct, OneNetUser};
pub use server::Emulator;
pub use tencent::{TencentAuthMode, TencentDevice, TencentProduct};
