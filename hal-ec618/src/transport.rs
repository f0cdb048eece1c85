//! [`Transport`] over the SDK's network adapter: TCP with the adapter's DNS, and TLS through the
//! SDK's mbedTLS.
//!
//! The adapter runs in callback mode (`network_init_ctrl` without a task handle): every call
//! returns at once, and the outcome arrives later as an `EV_NW_RESULT_*` event in lwIP's tcpip
//! thread. The callback only records the event in a static slot and wakes the awaiting future.

use core::ffi::c_void;
use core::future::poll_fn;
use core::net::Ipv4Addr;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use core::task::Poll;

use embassy_futures::select::{Either, select};
use iotcloud_core::transport::{ClientIdentity, Endpoint, ServerAuth, Transport};

use crate::error::NetError;
use crate::waker::WakerSlot;
use crate::{network, sys, time};

/// Sockets the adapter has (`LWIP_NUM_SOCKETS`).
pub const MAX_SOCKETS: usize = 8;

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
    let code = event.param1 as i32;
    if code != 0 {
        slot.code.store(code, Ordering::Release);
    }
    match event.id {
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

/// A TCP or TLS connection through the SDK's network adapter.
///
/// Up to [`MAX_SOCKETS`] transports can exist at once (the adapter's limit, shared with any C
/// code using the adapter). The adapter socket is taken on `connect` and given back on
/// `close` or drop.
///
/// - `read` is cancel-safe: bytes are only taken from the adapter inside a poll that returns
///   them. `Ok(0)` means the adapter reported the connection closed or failed (it does not
///   tell which).
/// - `write` hands the bytes to the adapter, which copies (or encrypts) them at once; when
///   more than 8 KiB are unacknowledged it first waits for the peer's acknowledgement.
///   `flush` waits until everything written was acknowledged.
/// - Connect and close are bounded by timeouts measured with [`crate::time`], whose timers the
///   executor must fire.
#[derive(Debug)]
pub struct AdapterTransport {
    slot: &'static Slot,
    ctrl: *mut sys::network_ctrl_t,
    online: bool,
    unacked: u32,
    connect_timeout_ms: u64,
    close_timeout_ms: u64,
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
            online: false,
            unacked: 0,
            connect_timeout_ms: 60_000,
            close_timeout_ms: 5_000,
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

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.online
    }

    /// Drops the socket at once and gives the ctrl back to the adapter.
    fn release(&mut self) {
        let ctrl = core::mem::replace(&mut self.ctrl, ptr::null_mut());
        self.online = false;
        self.unacked = 0;
        if ctrl.is_null() {
            return;
        }
        // SAFETY: `ctrl` came from network_alloc_ctrl and is released exactly once here;
        // release also frees its TLS state.
        unsafe {
            sys::network_force_close_socket(ctrl);
            sys::network_release_ctrl(ctrl);
        }
        self.slot.ctrl.store(ptr::null_mut(), Ordering::Release);
    }

    /// Allocates and configures a ctrl for `endpoint`; returns it with the IP to connect to
    /// (for a server name that differs from an IPv4 host).
    fn prepare(
        &mut self,
        endpoint: &Endpoint<'_>,
    ) -> Result<Option<sys::luat_ip_addr_t>, NetError> {
        // SAFETY: plain allocation from the adapter's table; NULL is checked.
        let ctrl = unsafe { sys::network_alloc_ctrl(sys::NW_ADAPTER_INDEX_LWIP_GPRS) };
        if ctrl.is_null() {
            return Err(NetError::NoSocket);
        }
        self.ctrl = ctrl;
        self.slot.reset(ctrl);
        let param = ptr::from_ref(self.slot).cast_mut().cast::<c_void>();
        // SAFETY: `ctrl` is ours; callback mode (no task handle); `param` is a static slot
        // that outlives the ctrl. TCP with keepalive, as the SDK's examples configure it;
        // base mode is set before TLS, which reads it.
        unsafe {
            sys::network_init_ctrl(ctrl, ptr::null_mut(), Some(on_socket_event), param);
            sys::network_set_base_mode(ctrl, 1, 15_000, 1, 300, 5, 9);
        }
        let Some(tls) = endpoint.tls else {
            return Ok(None);
        };
        let mut remote_ip = None;
        if let Some(name) = tls.server_name.filter(|n| *n != endpoint.host) {
            if name.is_empty() || name.len() > MAX_HOST_LEN {
                return Err(NetError::InvalidHost);
            }
            let ip: Ipv4Addr = endpoint
                .host
                .parse()
                .map_err(|_| NetError::ServerNameUnsupported)?;
            remote_ip = Some(sys::luat_ip_addr_t {
                u_addr: [u32::from_ne_bytes(ip.octets()), 0, 0, 0],
                type_: 0,
            });
        }
        let verify = match tls.server {
            ServerAuth::CaPem(_) => sys::MBEDTLS_SSL_VERIFY_REQUIRED,
            ServerAuth::NoVerification => sys::MBEDTLS_SSL_VERIFY_NONE,
            ServerAuth::DefaultRoots => return Err(NetError::NoDefaultRoots),
        };
        // SAFETY: `ctrl` is ours and configured for TCP.
        let code = unsafe { sys::network_init_tls(ctrl, verify) };
        if code < 0 {
            return Err(NetError::TlsSetup { code });
        }
        if let ServerAuth::CaPem(pem) = tls.server {
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
            // key password.
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
        Ok(remote_ip)
    }

    async fn connect_inner(&mut self, endpoint: &Endpoint<'_>) -> Result<(), NetError> {
        let host = endpoint.host;
        if host.is_empty() || host.len() > MAX_HOST_LEN {
            return Err(NetError::InvalidHost);
        }
        if !network::is_ready() {
            return Err(NetError::NetworkNotReady);
        }
        let mut remote_ip = self.prepare(endpoint)?;
        let domain = match (&remote_ip, endpoint.tls.and_then(|t| t.server_name)) {
            (Some(_), Some(name)) => name,
            _ => host,
        };
        let ip_ptr = remote_ip.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        let timeout = u32::try_from(self.connect_timeout_ms).unwrap_or(u32::MAX);
        // SAFETY: `ctrl` is configured and has no socket; the name is copied by length (no NUL
        // needed); `ip_ptr` is NULL or points at a live `luat_ip_addr_t` copied during the
        // call. Callback mode: the call returns at once.
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
    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<(), NetError> {
        self.release();
        let result = self.connect_inner(endpoint).await;
        if result.is_err() {
            self.release();
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
        self.release();
    }
}
