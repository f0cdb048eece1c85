//! The crate's trace lines, to `defmt` or `log` as the features choose, or nowhere.
//!
//! Only connection steps are traced (host, port, address, what failed), never payloads or
//! credentials: the transport sees none of the device's secrets except inside the bytes it
//! carries, and it does not log bytes.

macro_rules! debug {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::debug!($($arg)*);
        #[cfg(feature = "log")]
        ::log::debug!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = ($($arg)*);
        }
    }};
}

macro_rules! warning {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        ::defmt::warn!($($arg)*);
        #[cfg(feature = "log")]
        ::log::warn!($($arg)*);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = ($($arg)*);
        }
    }};
}

pub(crate) use {debug, warning};
