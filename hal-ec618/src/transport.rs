//! [`Transport`] over the SDK's network adapter: TCP with the adapter's DNS, and TLS through the
//! SDK's mbedTLS.
//!
//! The adapter runs in callback mode (`network_init_ctrl` without a task handle): every call
//! returns at once, and the outcome arrives later as an `EV_NW_RESULT_*` event in lwIP's tcpip
//! thread. The callback only records the event in a static slot and wakes the awaiting future.
//!
//! A transport keeps its adapter control block (and the TLS configuration in it) across
//! reconnects. That is what keeps a client certificate from leaking: the SDK's
//! `network_set_client_cert` allocates the parsed certificate and key on every call and
//! nothing frees them, so the identity is set once per control block, never per connect.

use core::ffi::c_void;
use core::future::poll_fn;
use core::net::Ipv4Addr;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use core::task::Poll;

use embassy_futures::select::{Either, select};
use iotcloud_core::transport::{ClientIdentity, Endpoint, ServerAuth, Tls, Transport};

#[cfg(feature = "public-roots")]
use crate::PUBLIC_ROOTS_PEM;
use crate::error::NetError;
use crate::waker::WakerSlot;
use crate::{network, sys, time};

/// Sockets the adapter has (`LWIP_NUM_SOCKETS`).
pub const MAX_SOCKETS: usize = sys::LWIP_NUM_SOCKETS;

/// Longest pre-shared key, in bytes (the SDK's mbedTLS `MBEDTLS_PSK_MAX_LEN`).
pub const MAX_PSK_LEN: usize = sys::MBEDTLS_PSK_MAX_LEN;

/// Longest pre-shared-key identity this transport keeps, in bytes.
pub const MAX_PSK_IDENTITY_LEN: usize = 128;

/// Unacknowledged bytes after which a write waits for the peer's acknowledgement.
const TX_WINDOW: u32 = 8 * 1024;

/// Longest host name the adapter passes to mbedTLS as SNI.
const MAX_HOST_LEN: usize = 255;

// Outcome codes kept in the slot.
const PENDING: u8 = 0;
const OK: u8 = 1;
const FAILED: u8 = 2;

/// What the adapter callback has reported for one socket.
struct Slot {
    claimed: AtomicBool,
    waker: WakerSlot,
    /// `EV_NW_RESULT_CONNECT`: PENDING, OK or FAILED.
    connect: AtomicU8,
    /// `ctrl->state` when the connect failed: tells DNS, TCP and TLS failures apart.
    failed_in: AtomicU8,
    /// `EV_NW_RESULT_TX`: PENDING, OK or FAILED.
    tx: AtomicU8,
    /// Code of the last failed result event.
    code: AtomicI32,
    /// `EV_NW_RESULT_CLOSE` seen.
    closed: AtomicBool,
    /// Data may be waiting (`EV_NW_RESULT_EVENT` with 0, or a TX result, during which the
    /// adapter holds back RX events).
    rx: AtomicBool,
    /// `EV_NW_RESULT_EVENT` with an error: the peer closed or the socket failed.
    broken: AtomicBool,
    /// The ctrl, for reading its state from the callback.
    ctrl: core::sync::atomic::AtomicPtr<sys::network_ctrl_t>,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            claimed: AtomicBool::new(false),
            waker: WakerSlot::new(),
            connect: AtomicU8::new(PENDING),
            failed_in: AtomicU8::new(0),
            tx: AtomicU8::new(PENDING),
            code: AtomicI32::new(0),
            closed: AtomicBool::new(false),
            rx: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            ctrl: core::sync::atomic::AtomicPtr::new(ptr::null_mut()),
        }
    }

    fn reset(&self, ctrl: *mut sys::network_ctrl_t) {
        self.connect.store(PENDING, Ordering::Release);
        self.failed_in.store(0, Ordering::Release);
        self.tx.store(PENDING, Ordering::Release);
        self.code.store(0, Ordering::Release);
        self.closed.store(false, Ordering::Release);
        self.rx.store(false, Ordering::Release);
        self.broken.store(false, Ordering::Release);
        self.ctrl.store(ctrl, Ordering::Release);
    }
}

static SLOTS: [Slot; MAX_SOCKETS] = [const { Slot::new() }; MAX_SOCKETS];

/// The ctrl callback (`CBFuncEx_t`), run in lwIP's tcpip thread: record, wake, return.
unsafe extern "C" fn on_socket_event(data: *mut c_void, param: *mut c_void) -> i32 {
    if data.is_null() || param.is_null() {
        return 0;
    }
    // SAFETY: the adapter passes a valid `OS_EVENT*` for the duration of the call.
    let event = unsafe { *(data as *const sys::OS_EVENT) };
    // SAFETY: `param` is the address of one of the static SLOTS, given to network_init_ctrl.
    let slot = unsafe { &*(param as *const Slot) };
    let code = event.Param1 as i32;
    if code != 0 {
        slot.code.store(code, Ordering::Release);
    }
    match event.ID {
        sys::EV_NW_RESULT_CONNECT => {
            if code == 0 {
                slot.connect.store(OK, Ordering::Release);
            } else {
                let ctrl = slot.ctrl.load(Ordering::Acquire);
                let state = if ctrl.is_null() {
                    0
                } else {
                    // SAFETY: the ctrl is allocated while its slot is in use; the accessor
                    // only reads one byte.
                    unsafe { sys::hal_ec618_ctrl_state(ctrl) }
                };
                slot.failed_in.store(state, Ordering::Release);
                slot.connect.store(FAILED, Ordering::Release);
            }
        }
        sys::EV_NW_RESULT_TX => {
            slot.tx
                .store(if code == 0 { OK } else { FAILED }, Ordering::Release);
            if code != 0 {
                slot.broken.store(true, Ordering::Release);
            }
            // RX events are held back while a TX is pending: look for data now.
            slot.rx.store(true, Ordering::Release);
        }
        sys::EV_NW_RESULT_CLOSE => slot.closed.store(true, Ordering::Release),
        sys::EV_NW_RESULT_EVENT => {
            if code == 0 {
                slot.rx.store(true, Ordering::Release);
            } else {
                slot.broken.store(true, Ordering::Release);
            }
        }
        _ => {}
    }
    slot.waker.wake();
    0
}

/// Claims a free slot for as long as the transport lives.
fn claim_slot() -> Option<&'static Slot> {
    SLOTS.iter().find(|s| {
        s.claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })
}

/// A NUL-terminated copy of PEM data on the SDK heap (mbedTLS wants the NUL counted in the
/// length). The copy is zeroed before it is freed, as it may hold a private key.
struct CString {
    ptr: *mut u8,
    len: usize,
}

impl CString {
    fn new(data: &[u8]) -> Result<CString, NetError> {
        let len = data.len().checked_add(1).ok_or(NetError::OutOfMemory)?;
        // SAFETY: plain allocation; NULL is checked.
        let ptr = unsafe { sys::luat_heap_malloc(len) }.cast::<u8>();
        if ptr.is_null() {
            return Err(NetError::OutOfMemory);
        }
        // SAFETY: `ptr` points at `len` fresh bytes that do not overlap `data`.
        unsafe {
            ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len());
            ptr.add(data.len()).write(0);
        }
        Ok(CString { ptr, len })
    }
}

impl Drop for CString {
    fn drop(&mut self) {
        for i in 0..self.len {
            // SAFETY: `i < len`, inside the allocation; volatile so the wipe is not elided.
            unsafe { ptr::write_volatile(self.ptr.add(i), 0) };
        }
        // SAFETY: `ptr` came from luat_heap_malloc and is freed once.
        unsafe { sys::luat_heap_free(self.ptr.cast()) };
    }
}

/// A TLS pre-shared key and its identity, copied into the transport. Wiped when dropped;
/// `Debug` shows the identity's length only.
struct Psk {
    identity: [u8; MAX_PSK_IDENTITY_LEN],
    identity_len: usize,
    key: [u8; MAX_PSK_LEN],
    key_len: usize,
}

impl Psk {
    fn new(identity: &[u8], key: &[u8]) -> Result<Psk, NetError> {
        if identity.is_empty()
            || identity.len() > MAX_PSK_IDENTITY_LEN
            || key.is_empty()
            || key.len() > MAX_PSK_LEN
        {
            return Err(NetError::InvalidPsk);
        }
        let mut psk = Psk {
            identity: [0; MAX_PSK_IDENTITY_LEN],
            identity_len: identity.len(),
            key: [0; MAX_PSK_LEN],
            key_len: key.len(),
        };
        psk.identity[..identity.len()].copy_from_slice(identity);
        psk.key[..key.len()].copy_from_slice(key);
        Ok(psk)
    }

    fn identity(&self) -> &[u8] {
        &self.identity[..self.identity_len]
    }

    fn key(&self) -> &[u8] {
        &self.key[..self.key_len]
    }
}

impl Drop for Psk {
    fn drop(&mut self) {
        for b in self.key.iter_mut().chain(self.identity.iter_mut()) {
            // SAFETY: `b` is a valid, exclusive reference; volatile so the wipe is not elided.
            unsafe { ptr::write_volatile(b, 0) };
        }
    }
}

impl core::fmt::Debug for Psk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Psk")
            .field("identity", &format_args!("<{} bytes>", self.identity_len))
            .field("key", &"<redacted>")
            .finish()
    }
}

/// FNV-1a over what a control block's TLS configuration is made from, to tell whether a
/// connect can reuse the block. It is never shown (it is computed over key material).
struct Fingerprint(u64);

impl Fingerprint {
    fn new() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }

    fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn bytes(&mut self, data: &[u8]) {
        for b in (data.len() as u64).to_le_bytes() {
            self.byte(b);
        }
        for &b in data {
            self.byte(b);
        }
    }

    /// The configuration `tls` (with `psk`, when set) gives a control block.
    fn of(tls: Option<&Tls<'_>>, psk: Option<&Psk>) -> u64 {
        let mut fp = Fingerprint::new();
        match (tls, psk) {
            (None, _) => fp.byte(0),
            (Some(_), Some(psk)) => {
                fp.byte(1);
                fp.bytes(psk.identity());
                fp.bytes(psk.key());
            }
            (Some(tls), None) => {
                fp.byte(2);
                match tls.server {
                    ServerAuth::CaPem(pem) => {
                        fp.byte(0);
                        fp.bytes(pem);
                    }
                    ServerAuth::NoVerification => fp.byte(1),
                    ServerAuth::DefaultRoots => fp.byte(2),
                    // Not reached: a PSK endpoint comes with its key (the first arms).
                    ServerAuth::Psk(_) => fp.byte(3),
                }
                if let Some(ClientIdentity { cert_pem, key_pem }) = tls.client {
                    fp.byte(1);
                    fp.bytes(cert_pem);
                    fp.bytes(key_pem);
                } else {
                    fp.byte(0);
                }
            }
        }
        fp.0
    }
}

/// A TCP or TLS connection through the SDK's network adapter.
///
/// Up to [`MAX_SOCKETS`] transports can exist at once (the adapter's limit, shared with any C
/// code using the adapter).
///
/// - The first `connect` takes an adapter control block and configures it (TCP, and TLS with
///   the endpoint's CA, client certificate or the transport's pre-shared key). The transport
///   keeps the block, and reconnects through it, until it is dropped; a `connect` whose TLS
///   settings differ from the block's gives the block back and takes a new one.
/// - `read` is cancel-safe: bytes are only taken from the adapter inside a poll that returns
///   them. `Ok(0)` means the adapter reported the connection closed or failed (it does not
///   tell which).
/// - `write` hands the bytes to the adapter, which copies (or encrypts) them at once; when
///   more than 8 KiB are unacknowledged it first waits for the peer's acknowledgement.
///   `flush` waits until everything written was acknowledged.
/// - Connect and close are bounded by timeouts measured with [`crate::time`], whose timers the
///   executor must fire.
///
/// A client certificate costs heap that is never given back: the SDK's
/// `network_set_client_cert` allocates the parsed certificate and key (an `mbedtls_x509_crt`
/// of 340 bytes and an `mbedtls_pk_context` of 8, plus what parsing allocates: a copy of the
/// certificate's DER, and the key's numbers) and no SDK call frees them, not even
/// `network_release_ctrl`. Setting it once per control block makes that a one-time cost per
/// transport (and per change of identity), instead of a leak on every reconnect.
pub struct AdapterTransport {
    slot: &'static Slot,
    ctrl: *mut sys::network_ctrl_t,
    /// What the ctrl's configuration was made from; `None` without a ctrl.
    config: Option<u64>,
    online: bool,
    unacked: u32,
    connect_timeout_ms: u64,
    close_timeout_ms: u64,
    psk: Option<Psk>,
}

impl core::fmt::Debug for AdapterTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AdapterTransport")
            .field("has_control_block", &!self.ctrl.is_null())
            .field("online", &self.online)
            .field("unacked", &self.unacked)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("close_timeout_ms", &self.close_timeout_ms)
            .field("psk", &self.psk)
            .finish()
    }
}

impl core::fmt::Debug for Slot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}

impl AdapterTransport {
    /// A transport with no connection yet. [`NetError::NoSocket`] if [`MAX_SOCKETS`] already
    /// exist.
    pub fn new() -> Result<Self, NetError> {
        let slot = claim_slot().ok_or(NetError::NoSocket)?;
        Ok(AdapterTransport {
            slot,
            ctrl: ptr::null_mut(),
            config: None,
            online: false,
            unacked: 0,
            connect_timeout_ms: 60_000,
            close_timeout_ms: 5_000,
            psk: None,
        })
    }

    /// How long `connect` may take in all (DNS, TCP, TLS); default 60 s.
    pub fn with_connect_timeout_ms(mut self, ms: u64) -> Self {
        self.connect_timeout_ms = ms;
        self
    }

    /// How long `close` waits for the peer before dropping the socket; default 5 s.
    pub fn with_close_timeout_ms(mut self, ms: u64) -> Self {
        self.close_timeout_ms = ms;
        self
    }

    /// Authenticates TLS connections with a pre-shared key (TLS-PSK, `network_set_psk_info`)
    /// instead of certificates: Tencent IoT Explorer's key-authenticated devices on port 8883
    /// use the client id as `identity` and the decoded device secret as `key`.
    ///
    /// A device does not need this: an endpoint with [`ServerAuth::Psk`] (what the Tencent
    /// provider gives a key device, since this transport
    /// [supports](Transport::supports_psk) TLS-PSK) brings its own key, which is used instead
    /// of this one. This key is for TLS endpoints that name none.
    ///
    /// With a key set, every TLS connect offers only pre-shared-key cipher suites (ECDHE-PSK,
    /// then PSK, with AES): no certificate is exchanged, and the server proves itself by
    /// knowing the key. The endpoint's [`ServerAuth`] and client certificate are then not
    /// used. Plain TCP endpoints are not affected.
    ///
    /// The key and identity are copied into the transport (1 to [`MAX_PSK_LEN`] and 1 to
    /// [`MAX_PSK_IDENTITY_LEN`] bytes, else [`NetError::InvalidPsk`]) and wiped when it is
    /// dropped. Neither `Debug` nor any error shows the key.
    pub fn with_psk(mut self, identity: &[u8], key: &[u8]) -> Result<Self, NetError> {
        self.psk = Some(Psk::new(identity, key)?);
        Ok(self)
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.online
    }

    /// Drops the socket at once, keeping the control block and its configuration.
    fn drop_socket(&mut self) {
        self.online = false;
        self.unacked = 0;
        if self.ctrl.is_null() {
            return;
        }
        // SAFETY: `ctrl` is ours (from network_alloc_ctrl, not yet released); closing a ctrl
        // without a socket does nothing.
        unsafe { sys::network_force_close_socket(self.ctrl) };
    }

    /// Drops the socket and gives the control block back to the adapter.
    fn release(&mut self) {
        self.drop_socket();
        let ctrl = core::mem::replace(&mut self.ctrl, ptr::null_mut());
        self.config = None;
        if ctrl.is_null() {
            return;
        }
        // SAFETY: `ctrl` came from network_alloc_ctrl and is released exactly once here;
        // release also frees its TLS contexts (not a client identity: see the type's docs).
        unsafe { sys::network_release_ctrl(ctrl) };
        self.slot.ctrl.store(ptr::null_mut(), Ordering::Release);
    }

    /// Makes sure the transport holds a control block configured for `tls`: the one it has if
    /// that was configured the same way, else a new one.
    fn ensure_ctrl(&mut self, tls: Option<&Tls<'_>>) -> Result<(), NetError> {
        // The endpoint's pre-shared key, copied (and wiped when this returns), else the
        // transport's own.
        let endpoint_psk = match tls.map(|t| t.server) {
            Some(ServerAuth::Psk(psk)) => Some(Psk::new(psk.identity().as_bytes(), psk.key())?),
            _ => None,
        };
        let wanted = Fingerprint::of(tls, endpoint_psk.as_ref().or(self.psk.as_ref()));
        if !self.ctrl.is_null() && self.config == Some(wanted) {
            return Ok(());
        }
        self.release();
        // SAFETY: plain allocation from the adapter's table; NULL is checked.
        let ctrl = unsafe { sys::network_alloc_ctrl(sys::NW_ADAPTER_INDEX_LWIP_GPRS) };
        if ctrl.is_null() {
            return Err(NetError::NoSocket);
        }
        self.ctrl = ctrl;
        self.slot.reset(ctrl);
        let param = ptr::from_ref(self.slot).cast_mut().cast::<c_void>();
        // SAFETY: `ctrl` is ours and fresh (init_ctrl clears it: it runs once per block, so no
        // TLS context is lost); callback mode (no task handle); `param` is a static slot that
        // outlives the ctrl. TCP with keepalive, as the SDK's examples configure it; base mode
        // is set before TLS, which reads it.
        unsafe {
            sys::network_init_ctrl(ctrl, ptr::null_mut(), Some(on_socket_event), param);
            sys::network_set_base_mode(ctrl, 1, 15_000, 1, 300, 5, 9);
        }
        let psk = endpoint_psk.as_ref().or(self.psk.as_ref());
        if let Some(Err(e)) = tls.map(|tls| Self::configure_tls(ctrl, tls, psk)) {
            self.release();
            return Err(e);
        }
        self.config = Some(wanted);
        Ok(())
    }

    /// Turns the fresh control block `ctrl` into a TLS one: the pre-shared key `psk` (the
    /// endpoint's or the transport's), or the endpoint's CA and client certificate.
    fn configure_tls(
        ctrl: *mut sys::network_ctrl_t,
        tls: &Tls<'_>,
        psk: Option<&Psk>,
    ) -> Result<(), NetError> {
        if let Some(psk) = psk {
            // SAFETY: `ctrl` is ours and configured for TCP. No certificate is exchanged in a
            // PSK suite, so there is nothing to verify.
            let code = unsafe { sys::network_init_tls(ctrl, sys::MBEDTLS_SSL_VERIFY_NONE) };
            if code < 0 {
                return Err(NetError::TlsSetup { code });
            }
            let (key, identity) = (psk.key(), psk.identity());
            // SAFETY: TLS is initialised on `ctrl`, so its configuration exists; the shim only
            // sets a static suite list on it. mbedTLS copies key and identity during the call.
            let code = unsafe {
                sys::hal_ec618_offer_psk_suites_only(ctrl);
                sys::network_set_psk_info(
                    ctrl,
                    key.as_ptr(),
                    key.len(),
                    identity.as_ptr(),
                    identity.len(),
                )
            };
            if code < 0 {
                return Err(NetError::PskRejected { code });
            }
            return Ok(());
        }
        // The CA the server is checked against, if any.
        let (verify, ca) = match tls.server {
            ServerAuth::CaPem(pem) => (sys::MBEDTLS_SSL_VERIFY_REQUIRED, Some(pem)),
            ServerAuth::NoVerification => (sys::MBEDTLS_SSL_VERIFY_NONE, None),
            #[cfg(feature = "public-roots")]
            ServerAuth::DefaultRoots => (sys::MBEDTLS_SSL_VERIFY_REQUIRED, Some(PUBLIC_ROOTS_PEM)),
            #[cfg(not(feature = "public-roots"))]
            ServerAuth::DefaultRoots => return Err(NetError::NoDefaultRoots),
            // Not reached: a PSK endpoint comes with its key (handled above).
            ServerAuth::Psk(_) => return Err(NetError::InvalidPsk),
        };
        // SAFETY: `ctrl` is ours and configured for TCP.
        let code = unsafe { sys::network_init_tls(ctrl, verify) };
        if code < 0 {
            return Err(NetError::TlsSetup { code });
        }
        if let Some(pem) = ca {
            let ca = CString::new(pem)?;
            // SAFETY: `ca` is NUL-terminated and its length counts the NUL; mbedTLS parses it
            // during the call and keeps no pointer to it.
            let code = unsafe { sys::network_set_server_cert(ctrl, ca.ptr, ca.len) };
            if code < 0 {
                return Err(NetError::CaCertificate { code });
            }
        }
        if let Some(ClientIdentity { cert_pem, key_pem }) = tls.client {
            let cert = CString::new(cert_pem)?;
            let key = CString::new(key_pem)?;
            // SAFETY: both NUL-terminated with the NUL counted; parsed during the call. No
            // key password. Called once per control block (see the type's docs).
            let code = unsafe {
                sys::network_set_client_cert(
                    ctrl,
                    cert.ptr,
                    cert.len,
                    key.ptr,
                    key.len,
                    ptr::null(),
                    0,
                )
            };
            if code < 0 {
                return Err(NetError::ClientCertificate { code });
            }
        }
        Ok(())
    }

    /// The name to connect to, and the address when it is not the name: a TLS server name
    /// different from the host needs the host to be an IPv4 address.
    fn target<'e>(
        endpoint: &Endpoint<'e>,
    ) -> Result<(&'e str, Option<sys::luat_ip_addr_t>), NetError> {
        let host = endpoint.host;
        if host.is_empty() || host.len() > MAX_HOST_LEN {
            return Err(NetError::InvalidHost);
        }
        let Some(name) = endpoint
            .tls
            .and_then(|t| t.server_name)
            .filter(|n| *n != host)
        else {
            return Ok((host, None));
        };
        if name.is_empty() || name.len() > MAX_HOST_LEN {
            return Err(NetError::InvalidHost);
        }
        let ip: Ipv4Addr = host.parse().map_err(|_| NetError::ServerNameUnsupported)?;
        let ip = sys::luat_ip_addr_t {
            u_addr: [u32::from_ne_bytes(ip.octets()), 0, 0, 0],
            r#type: 0,
        };
        Ok((name, Some(ip)))
    }

    async fn connect_inner(&mut self, endpoint: &Endpoint<'_>) -> Result<(), NetError> {
        let (domain, mut remote_ip) = Self::target(endpoint)?;
        let default_roots = endpoint
            .tls
            .is_some_and(|tls| tls.server == ServerAuth::DefaultRoots);
        if default_roots && self.psk.is_none() && !cfg!(feature = "public-roots") {
            return Err(NetError::NoDefaultRoots);
        }
        if !network::is_ready() {
            return Err(NetError::NetworkNotReady);
        }
        self.ensure_ctrl(endpoint.tls.as_ref())?;
        self.slot.reset(self.ctrl);
        let ip_ptr = remote_ip.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        let timeout = u32::try_from(self.connect_timeout_ms).unwrap_or(u32::MAX);
        // SAFETY: `ctrl` is configured and has no socket (dropped by `connect`); the name is
        // copied by length (no NUL needed); `ip_ptr` is NULL or points at a live
        // `luat_ip_addr_t` copied during the call. Callback mode: the call returns at once.
        let code = unsafe {
            sys::network_connect(
                self.ctrl,
                domain.as_ptr().cast(),
                domain.len() as u32,
                ip_ptr,
                endpoint.port,
                timeout,
            )
        };
        match code {
            0 => {}
            1 => self.wait_connect().await?,
            code => return Err(NetError::ConnectFailed { code }),
        }
        self.online = true;
        Ok(())
    }

    async fn wait_connect(&mut self) -> Result<(), NetError> {
        let slot = self.slot;
        let outcome = poll_fn(|cx| {
            slot.waker.register(cx.waker());
            match slot.connect.load(Ordering::Acquire) {
                PENDING => Poll::Pending,
                OK => Poll::Ready(Ok(())),
                _ => Poll::Ready(Err(slot.failed_in.load(Ordering::Acquire))),
            }
        });
        let deadline = time::now_ms().saturating_add(self.connect_timeout_ms);
        match select(outcome, time::sleep_until(deadline)).await {
            Either::First(Ok(())) => Ok(()),
            Either::First(Err(state)) => Err(self.connect_error(state)),
            Either::Second(()) => Err(NetError::Timeout),
        }
    }

    /// Names a failed connect by the adapter state it failed in.
    fn connect_error(&self, state: u8) -> NetError {
        match state {
            sys::NW_STATE_LINK_OFF => NetError::NetworkNotReady,
            sys::NW_STATE_WAIT_DNS => NetError::Dns,
            sys::NW_STATE_CONNECTING => NetError::ConnectionRefused,
            sys::NW_STATE_SHAKEHAND => {
                // SAFETY: `ctrl` is still ours (not yet released) and in TLS mode.
                let flags = unsafe { sys::network_cert_verify_result(self.ctrl) };
                NetError::TlsHandshake {
                    verify_flags: u32::try_from(flags).unwrap_or(0),
                }
            }
            _ => NetError::ConnectFailed {
                code: self.slot.code.load(Ordering::Acquire),
            },
        }
    }

    /// Waits for the TX result of everything written so far.
    async fn wait_acked(&mut self) -> Result<(), NetError> {
        if self.unacked == 0 {
            return Ok(());
        }
        let slot = self.slot;
        let outcome = poll_fn(|cx| {
            slot.waker.register(cx.waker());
            match slot.tx.load(Ordering::Acquire) {
                PENDING => Poll::Pending,
                state => Poll::Ready(state),
            }
        })
        .await;
        if outcome != OK {
            self.online = false;
            return Err(NetError::Send {
                code: slot.code.load(Ordering::Acquire),
            });
        }
        self.unacked = 0;
        Ok(())
    }
}

impl Drop for AdapterTransport {
    fn drop(&mut self) {
        self.release();
        self.slot.claimed.store(false, Ordering::Release);
    }
}

impl embedded_io::ErrorType for AdapterTransport {
    type Error = NetError;
}

impl embedded_io_async::Read for AdapterTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        if self.ctrl.is_null() || !self.online {
            return Err(NetError::NotConnected);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let ctrl = self.ctrl;
        let slot = self.slot;
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        poll_fn(|cx| {
            slot.waker.register(cx.waker());
            slot.rx.store(false, Ordering::Release);
            let mut got: u32 = 0;
            // SAFETY: `ctrl` is connected; `buf` is writable for `len` bytes; the adapter copies
            // at most `len` and never blocks; remote address out-pointers may be NULL for TCP.
            let code = unsafe {
                sys::network_rx(
                    ctrl,
                    buf.as_mut_ptr(),
                    len,
                    0,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    &mut got,
                )
            };
            if code < 0 {
                // A failed socket after the peer closed is the end of the stream.
                return Poll::Ready(if slot.broken.load(Ordering::Acquire) {
                    Ok(0)
                } else {
                    Err(NetError::Receive { code })
                });
            }
            if got > 0 {
                return Poll::Ready(Ok((got as usize).min(buf.len())));
            }
            if slot.broken.load(Ordering::Acquire) {
                return Poll::Ready(Ok(0));
            }
            Poll::Pending
        })
        .await
    }
}

impl embedded_io_async::Write for AdapterTransport {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, NetError> {
        if self.ctrl.is_null() || !self.online {
            return Err(NetError::NotConnected);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.slot.broken.load(Ordering::Acquire) {
            self.online = false;
            return Err(NetError::Send {
                code: self.slot.code.load(Ordering::Acquire),
            });
        }
        if self.unacked >= TX_WINDOW {
            self.wait_acked().await?;
        }
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        self.slot.tx.store(PENDING, Ordering::Release);
        let mut sent: u32 = 0;
        // SAFETY: `ctrl` is connected; `buf` is readable for `len` bytes and copied (or
        // encrypted) during the call; no remote address for TCP; timeout 0 = do not block.
        let code = unsafe {
            sys::network_tx(
                self.ctrl,
                buf.as_ptr(),
                len,
                0,
                ptr::null_mut(),
                0,
                &mut sent,
                0,
            )
        };
        if code < 0 {
            self.online = false;
            return Err(NetError::Send { code });
        }
        let sent = (sent as usize).min(buf.len());
        if sent == 0 {
            return Err(NetError::Send { code });
        }
        if code == 1 {
            self.unacked = self.unacked.saturating_add(sent as u32);
        }
        Ok(sent)
    }

    async fn flush(&mut self) -> Result<(), NetError> {
        if self.ctrl.is_null() || !self.online {
            return Err(NetError::NotConnected);
        }
        self.wait_acked().await
    }
}

impl Transport for AdapterTransport {
    /// True: the SDK's mbedTLS has the pre-shared-key suites, and an endpoint's
    /// [`ServerAuth::Psk`] is set on the control block with `network_set_psk_info`.
    fn supports_psk(&self) -> bool {
        true
    }

    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<(), NetError> {
        // The adapter refuses to connect a ctrl that still has a socket (also one left by a
        // failed connect), so drop it first, and again after a failure.
        self.drop_socket();
        let result = self.connect_inner(endpoint).await;
        if result.is_err() {
            self.drop_socket();
        }
        result
    }

    async fn close(&mut self) {
        if self.ctrl.is_null() {
            return;
        }
        if self.online {
            self.slot.closed.store(false, Ordering::Release);
            // SAFETY: `ctrl` is ours; timeout 0 = graceful close in the background.
            let code = unsafe { sys::network_close(self.ctrl, 0) };
            if code == 1 {
                let slot = self.slot;
                let closed = poll_fn(|cx| {
                    slot.waker.register(cx.waker());
                    if slot.closed.load(Ordering::Acquire) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                });
                let deadline = time::now_ms().saturating_add(self.close_timeout_ms);
                let _ = select(closed, time::sleep_until(deadline)).await;
            }
        }
        // The control block stays for the next connect.
        self.drop_socket();
    }
}
