#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod acceptor;
mod accounts;
pub mod aliyun;
mod broker;
pub mod catalog;
mod cloud;
mod cloud_emulator;
mod devices;
mod encoding;
mod fault;
mod file_download;
mod firmware;
mod http;
pub mod huawei;
pub mod login;
pub mod onenet;
mod server;
pub mod sign;
mod state;
pub mod tencent;
mod thing;
mod topics;
mod wire;

#[cfg(test)]
mod tests;

pub use acceptor::MAX_CONNECTIONS;
pub use accounts::Accounts;
pub use aliyun::{AliyunDevice, AliyunProduct};
pub use broker::{AcceptedLogin, DeliveryError, Published, RefusedLogin, Violation};
pub use catalog::{CatalogError, DeviceSpec};
pub use cloud::{Cloud, UnknownCloud};
pub use cloud_emulator::{CloudEmulator, image};
pub use devices::{BaiduDevice, TlinkDevice, TuyaDevice};
pub use fault::Fault;
pub use file_download::{BlockFault, BlockRequest};
pub use firmware::{DownloadFault, FirmwareServer};
pub use http::Recorded;
pub use huawei::{HuaweiAccount, HuaweiDevice, HuaweiProduct};
pub use login::Identity;
pub use onenet::{OneNetDevice, OneNetProduct, OneNetUser};
pub use server::Emulator;
pub use tencent::{TencentAuthMode, TencentDevice, TencentProduct};
pub use thing::{DataAnswer, DataRequest, DataRequestKind, HUAWEI_SERVICE};
pub use topics::{OtaOffer, OtaReport};
