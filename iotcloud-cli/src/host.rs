//! The host device every command runs: the configured cloud over hal-host, in memory the
//! command owns.

use hal_host::{FileStore, HostPlatform, SystemClock};
use iotcloud::iotcloud_core::ota::Firmware;
use iotcloud::iotcloud_core::scratch::Scratch;
use iotcloud::iotcloud_core::{Provider as _, ServerAuth};
use iotcloud::{AnyProvider, Cloud, Config, Device};

use crate::{Args, CREDENTIALS_LEN};

/// A device's memory: receive, transmit and session buffers, registration record, OTA job.
pub(crate) struct Memory {
    rx: Vec<u8>,
    tx: Vec<u8>,
    session: Vec<u8>,
    creds: Vec<u8>,
    job: Vec<u8>,
}

impl Memory {
    /// 16 KiB to receive, 2 KiB to transmit, `session` bytes of session memory (the offline
    /// queue), room for a certificate record and a 4 KiB OTA job.
    pub(crate) fn new(session: usize) -> Self {
        Memory {
            rx: vec![0u8; 16 * 1024],
            tx: vec![0u8; 2048],
            session: vec![0u8; session],
            creds: vec![0u8; CREDENTIALS_LEN],
            job: vec![0u8; 4096],
        }
    }
}

/// A device of `provider` in `mem`, storing in `store`; with OTA when `firmware` is given.
pub(crate) fn device<'b>(
    provider: AnyProvider<'b>,
    store: FileStore,
    mem: &'b mut Memory,
    firmware: Option<Firmware<'b>>,
) -> Device<'b, AnyProvider<'b>, HostPlatform<FileStore>> {
    device_on(provider, store, mem, firmware, SystemClock::new())
}

/// [`device`] with the wall clock `clock` (one without wall time, to act out a module
/// that never gets network time).
pub(crate) fn device_on<'b>(
    provider: AnyProvider<'b>,
    store: FileStore,
    mem: &'b mut Memory,
    firmware: Option<Firmware<'b>>,
    clock: SystemClock,
) -> Device<'b, AnyProvider<'b>, HostPlatform<FileStore>> {
    let memory = iotcloud::Memory {
        rx: &mut mem.rx,
        tx: &mut mem.tx,
        session: &mut mem.session,
        credentials: &mut mem.creds,
        ota_job: &mut mem.job,
    };
    note_tls(&provider);
    let platform = HostPlatform::new().with_clock(clock).with_store(store);
    let device = Device::new(provider, platform, memory);
    match firmware {
        Some(firmware) => device.with_ota(firmware),
        None => device,
    }
}

/// The cloud named `cloud` and the configuration in `args`.
pub(crate) fn configure<'a>(cloud: &str, args: &'a Args) -> Result<(Cloud, Config<'a>), String> {
    let cloud = Cloud::from_name(cloud).map_err(|e| e.to_string())?;
    let config = Config::from_pairs(args.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| match e {
            iotcloud::ConfigError::UnknownKey(typed) => {
                let names = iotcloud::Key::ALL.map(iotcloud::Key::name);
                format!("{e}{}", crate::suggest::hint(typed, names))
            }
            e => e.to_string(),
        })?;
    if let Some(warning) = experimental(cloud, &config) {
        eprintln!("warning: {warning}");
    }
    Ok((cloud, config))
}

/// What is experimental about `config` on `cloud`, said once per command.
pub(crate) fn experimental(cloud: Cloud, config: &Config<'_>) -> Option<&'static str> {
    let onenet = Cloud::from_name("onenet").ok()?;
    (cloud == onenet && config.get(iotcloud::Key::ProductSecret).is_some()).then_some(
        "onenet with product_secret is experimental: OneNET documents the product-level key \
         for its API, not for device login or device creation; prefer device_secret",
    )
}

/// The store directory of `args`, opened.
pub(crate) fn store(args: &Args) -> Result<FileStore, String> {
    FileStore::open(&args.store).map_err(|e| format!("store {}: {e}", args.store.display()))
}

/// Set when the device's TLS checks no certificate (`tls=insecure`).
static INSECURE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes whether `provider` connects with TLS that checks no certificate, for
/// [`warn_if_insecure`].
pub(crate) fn note_tls(provider: &AnyProvider<'_>) {
    INSECURE.store(
        checks_no_certificate(provider),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// Whether `provider`'s connection uses TLS without checking the server's certificate.
pub(crate) fn checks_no_certificate(provider: &AnyProvider<'_>) -> bool {
    let mut host = [0u8; iotcloud::iotcloud_core::provider::MAX_HOST_LEN];
    provider
        .endpoint(&mut Scratch::new(&mut host))
        .ok()
        .and_then(|e| e.tls)
        .is_some_and(|tls| matches!(tls.server, ServerAuth::NoVerification))
}

/// One line on stderr before each connection that checks no certificate: anyone between
/// the device and the cloud can read what it sends, its password included.
pub(crate) fn warn_if_insecure() {
    if INSECURE.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "warning: tls=insecure: the server's certificate is not checked; anyone on the \
             network path can impersonate it and read the credentials"
        );
    }
}
