//! Errors of this platform, one type per concern, each variant saying what the caller can do.
//!
//! None of them carries key material or passwords: TLS failures name the step that failed and,
//! for certificate checks, mbedTLS's verification flags (which describe the server's chain).

/// Why the network transport failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The cellular data link (IP) is not up. Wait for it ([`crate::network::wait_ready`])
    /// and retry.
    #[error("cellular network not ready")]
    NetworkNotReady,
    /// All adapter sockets are in use (`network_alloc_ctrl` returned NULL; the SDK has 8).
    /// Close another transport first.
    #[error("no free network socket")]
    NoSocket,
    /// The host name is empty or longer than 255 bytes. Fix the endpoint.
    #[error("invalid host name")]
    InvalidHost,
    /// The host name did not resolve (the adapter failed in its DNS state). Retry with backoff.
    #[error("DNS lookup failed")]
    Dns,
    /// The TCP connection could not be made: refused, reset or unreachable (the adapter does
    /// not say which). Retry with backoff.
    #[error("TCP connection refused or unreachable")]
    ConnectionRefused,
    /// `network_connect` failed at once with this code (no socket could be created, or the
    /// lookup could not start). Retry with backoff.
    #[error("connect could not start (code {code})")]
    ConnectFailed {
        /// What `network_connect` returned.
        code: i32,
    },
    /// No answer within the transport's connect or close timeout. Retry with backoff.
    #[error("timed out")]
    Timeout,
    /// The TLS handshake failed. `verify_flags` are mbedTLS's certificate verification flags
    /// (`MBEDTLS_X509_BADCERT_*`); 0 means the failure was not a certificate check (no common
    /// cipher suite, alert from the server, …). A certificate failure will not go away by
    /// retrying: fix the CA or the server name.
    #[error("TLS handshake failed (verification flags {verify_flags:#x})")]
    TlsHandshake {
        /// `network_cert_verify_result` after the failure.
        verify_flags: u32,
    },
    /// `network_init_tls` failed (usually out of heap for the mbedTLS contexts).
    #[error("TLS setup failed (code {code})")]
    TlsSetup {
        /// What `network_init_tls` returned.
        code: i32,
    },
    /// mbedTLS did not accept the CA certificate(s) (`network_set_server_cert`). Fix the PEM.
    #[error("CA certificate rejected (code {code})")]
    CaCertificate {
        /// What `network_set_server_cert` returned.
        code: i32,
    },
    /// mbedTLS did not accept the client certificate or its key (`network_set_client_cert`).
    /// Fix the PEM; the key itself is never reported.
    #[error("client certificate or key rejected (code {code})")]
    ClientCertificate {
        /// What `network_set_client_cert` returned.
        code: i32,
    },
    /// The pre-shared key or its identity is empty or too long (see
    /// [`AdapterTransport::with_psk`](crate::AdapterTransport::with_psk)). Fix the
    /// configuration.
    #[error("pre-shared key or identity empty or too long")]
    InvalidPsk,
    /// The SDK did not accept the pre-shared key (`network_set_psk_info`). The key itself is
    /// never reported.
    #[error("pre-shared key rejected (code {code})")]
    PskRejected {
        /// What `network_set_psk_info` returned.
        code: i32,
    },
    /// [`iotcloud_core::ServerAuth::DefaultRoots`] in a build without the `public-roots`
    /// feature: the SDK has no built-in root store. Give the cloud's CA as PEM, or build with
    /// the feature.
    #[error("no default root certificates on this platform; give a CA certificate")]
    NoDefaultRoots,
    /// A TLS server name different from the host is only possible when the host is an IPv4
    /// address (the adapter sends the name it resolves as SNI).
    #[error("a TLS server name other than the host needs the host to be an IPv4 address")]
    ServerNameUnsupported,
    /// The heap had no room for a NUL-terminated copy of a certificate.
    #[error("out of memory")]
    OutOfMemory,
    /// `network_tx` failed, or the peer never acknowledged the data. Reconnect.
    #[error("send failed (code {code})")]
    Send {
        /// What `network_tx` returned, or the failed result event's code.
        code: i32,
    },
    /// `network_rx` failed. Reconnect.
    #[error("receive failed (code {code})")]
    Receive {
        /// What `network_rx` returned.
        code: i32,
    },
    /// Read or write without a connection.
    #[error("not connected")]
    NotConnected,
}

impl embedded_io::Error for NetError {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as K;
        match self {
            NetError::NetworkNotReady | NetError::NotConnected => K::NotConnected,
            NetError::NoSocket | NetError::OutOfMemory => K::OutOfMemory,
            NetError::InvalidHost => K::InvalidInput,
            NetError::Dns => K::NotFound,
            NetError::ConnectionRefused => K::ConnectionRefused,
            NetError::ConnectFailed { .. } => K::Other,
            NetError::Timeout => K::TimedOut,
            NetError::TlsHandshake { .. } => K::InvalidData,
            NetError::TlsSetup { .. } => K::OutOfMemory,
            NetError::CaCertificate { .. }
            | NetError::ClientCertificate { .. }
            | NetError::InvalidPsk
            | NetError::PskRejected { .. } => K::InvalidInput,
            NetError::NoDefaultRoots | NetError::ServerNameUnsupported => K::Unsupported,
            NetError::Send { .. } => K::BrokenPipe,
            NetError::Receive { .. } => K::ConnectionReset,
        }
    }
}

/// Why waiting for the cellular network failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The data link did not come up in time. Check the SIM and antenna; retry later.
    #[error("cellular network not ready after {waited_ms} ms")]
    NotReady {
        /// How long was waited.
        waited_ms: u64,
    },
    /// `luat_mobile_event_register_handler` failed with this code.
    #[error("could not register the mobile event handler (code {code})")]
    RegisterHandler {
        /// What the SDK returned.
        code: i32,
    },
}

/// Why a device identity could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The caller's buffer is shorter than the value. Give at least `needed` bytes.
    #[error("buffer of {capacity} bytes is too small, {needed} needed")]
    BufferTooSmall {
        /// Bytes the value needs.
        needed: usize,
        /// Bytes given.
        capacity: usize,
    },
    /// The SDK returned an error code (for example, the modem is not up yet). Retry later.
    #[error("identity not available (code {code})")]
    Unavailable {
        /// What the SDK returned.
        code: i32,
    },
    /// The SDK returned something that is not a valid value (empty, or not digits).
    #[error("the SDK returned an invalid value")]
    Invalid,
}

/// Why a firmware download could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FotaError {
    /// Another [`crate::FotaSink`] exists: the SDK keeps one FOTA in progress at a time.
    #[error("a FOTA sink is already in use")]
    Busy,
    /// The image does not fit the 512 KiB FOTA region.
    #[error("image of {size} bytes does not fit the {capacity}-byte FOTA region")]
    TooLarge {
        /// Size of the image (or of the bytes written so far).
        size: u64,
        /// Size of the region.
        capacity: u64,
    },
    /// `luat_fota_init` returned NULL: erasing the FOTA region failed. Retry; if it keeps
    /// failing the flash is worn.
    #[error("erasing the FOTA region failed")]
    Erase,
    /// `write_at`, `finish` before `begin`, or after a failure that needs a new `begin`.
    #[error("no FOTA in progress; call begin")]
    NotStarted,
    /// A write at an offset past the bytes written so far: the region is append-only.
    #[error("write at offset {offset}, but only {written} bytes are written (append only)")]
    Gap {
        /// Offset asked for.
        offset: u64,
        /// Bytes written so far.
        written: u64,
    },
    /// `luat_fota_write` failed at this offset. The image is lost: start again with `begin`.
    #[error("writing the FOTA region failed at offset {offset} (code {code})")]
    Write {
        /// Offset of the failed write.
        offset: u64,
        /// What `luat_fota_write` returned.
        code: i32,
    },
    /// `finish(len)` with a length different from the bytes written.
    #[error("finish with {len} bytes, but {written} were written")]
    LengthMismatch {
        /// Length given to `finish`.
        len: u64,
        /// Bytes written.
        written: u64,
    },
    /// `luat_fota_done` rejected the package: it is not a valid delta, or it was made for a
    /// different base image than the one running. Retrying the same package cannot help.
    #[error("the FOTA package was rejected (code {code})")]
    Rejected {
        /// What `luat_fota_done` returned.
        code: i32,
    },
    /// `luat_pm_reboot` failed.
    #[error("reboot failed (code {code})")]
    Reboot {
        /// What `luat_pm_reboot` returned.
        code: i32,
    },
}

/// Why [`crate::executor::block_on`] could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutorError {
    /// `block_on` is already running in another task: this executor serves one device task.
    #[error("the executor is already running")]
    Busy,
    /// `luat_rtos_semaphore_create` failed with this code (out of heap).
    #[error("could not create the executor's semaphore (code {code})")]
    Semaphore {
        /// What the SDK returned.
        code: i32,
    },
}

/// Why an SNTP exchange gave no time (feature `sntp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SntpError {
    /// The server name is empty or too long. Fix the configuration.
    #[error("invalid SNTP server name")]
    InvalidServer,
    /// `SntpInit` refused to start: an exchange is already running (the SDK runs one at a
    /// time, for C code too) or its task could not be created. Retry later.
    #[error("an SNTP exchange is already running")]
    Busy,
    /// The exchange ended without a time: no data connection, the name did not resolve, or
    /// the SDK's three requests went unanswered. Retry later.
    #[error("no SNTP answer")]
    NoAnswer,
    /// No result arrived in time. Retry later.
    #[error("timed out waiting for the SNTP result")]
    Timeout,
}
