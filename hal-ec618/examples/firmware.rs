//! The Rust library of an Air780E firmware: every part of `hal-ec618` used as a device task
//! uses it, behind the `iotcloud-core` traits. The C side creates the task that runs
//! [`iotcloud_task_main`] (see the crate README).
//!
//! `cargo xtask ec618-check` builds it for the module (`--target thumbv7m-none-eabi
//! --release`) and checks that each C symbol it leaves undefined is one the vendor's headers
//! (or this crate's C shim) declare: this is the library a firmware links.

#![no_std]

use core::ffi::c_void;
use core::pin::pin;

use embassy_futures::select::{Either, select};
use embedded_io_async::{Read, Write};
use hal_ec618::{
    AdapterTransport, Ec618Clock, Ec618Platform, FotaSink, LuatKv, NetError, block_on, identity,
    network, time,
};
use iotcloud_core::ota::FirmwareSink;
use iotcloud_core::platform::Platform;
use iotcloud_core::transport::{Endpoint, ServerAuth, Transport};
use iotcloud_core::{Clock, KvStore};

/// One exchange with a broker over TLS-PSK, the way a key-authenticated Tencent device
/// connects on port 8883.
async fn exchange(identity: &[u8], key: &[u8]) -> Result<usize, NetError> {
    let mut transport = AdapterTransport::new()?.with_psk(identity, key)?;
    let endpoint = Endpoint::tls(
        "PRODUCTID.iotcloud.tencentdevices.com",
        8883,
        ServerAuth::NoVerification,
    );
    transport.connect(&endpoint).await?;
    transport.write(&[0xC0, 0x00]).await?; // PINGREQ
    transport.flush().await?;
    let mut reply = [0u8; 2];
    let n = transport.read(&mut reply).await?;
    transport.close().await;
    Ok(n)
}

/// The device's work, run inside [`block_on`].
async fn device() -> Result<(), NetError> {
    network::init().map_err(|_| NetError::NetworkNotReady)?;
    network::wait_ready(120_000)
        .await
        .map_err(|_| NetError::NetworkNotReady)?;

    let mut imei = [0u8; identity::IMEI_LEN];
    let client_id = identity::imei(&mut imei).map_err(|_| NetError::NotConnected)?;

    // A stored record, as registration keeps one.
    if let Some(Ok(mut store)) = LuatKv::open() {
        let mut record = [0u8; 64];
        if store.get("iotcloud/record", &mut record).await == Ok(None) {
            let _ = store.set("iotcloud/record", client_id.as_bytes()).await;
        }
        let _ = store.remove("iotcloud/old").await;
    }

    // The platform as a device takes it.
    let mut platform = Ec618Platform::new()?;
    let _seed = platform.entropy();
    let _known = platform.clock().time_known();

    exchange(client_id.as_bytes(), b"0123456789abcdef").await?;

    // An update, written and validated as the OTA runner does.
    if let Ok(mut sink) = FotaSink::new() {
        let image = [0u8; 64];
        let written = async {
            let at = sink.begin(Some(image.len() as u64), 0).await?;
            sink.write_at(at, &image).await?;
            sink.finish(image.len() as u64).await
        };
        if written.await.is_ok() {
            let _ = sink.reboot_to_apply();
        } else {
            sink.abort().await;
        }
    }
    Ok(())
}

/// The device task's entry, created by the firmware's C code.
#[unsafe(no_mangle)]
pub extern "C" fn iotcloud_task_main(_param: *mut c_void) {
    let clock = Ec618Clock::new();
    // The device beside an SNTP re-sync every hour.
    // Pinned where it is built, so that the task's stack holds the future once.
    let _ = block_on(pin!(async {
        match select(
            device(),
            clock.keep_sntp_synced(c"ntp.aliyun.com", 1, 3_600_000),
        )
        .await
        {
            Either::First(result) => result,
            Either::Second(never) => never,
        }
    }));
    let _ = clock.unix_time_ms();
    // A task function must not return in FreeRTOS: park it.
    loop {
        let _ = block_on(time::sleep_ms(60_000));
    }
}
