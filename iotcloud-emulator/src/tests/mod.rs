//! Endpoint tests: each drives the emulator over a real loopback socket.

mod aliyun;
mod client;
mod huawei;
mod onenet;
mod server;
mod tencent;
