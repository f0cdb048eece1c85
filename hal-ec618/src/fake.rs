//! Rust stand-ins for the SDK's C functions, so that every binding runs in host tests.
//!
//! Each function keeps the C signature of `sys` and acts on one shared [`Fake`] state that a
//! test scripts and inspects. Result events are delivered from a separate thread, as lwIP's
//! tcpip thread does on the module. Tests take [`lock`] first: it serialises them (the state is
//! global, like the SDK's) and resets the state.
//!
//! The stand-ins do what the SDK's sources at commit `84dc723e` do, including where that
//! differs from its headers' comments:
//!
//! - `luat_kv_init` initialises once: after a failed first call it returns 0 and the store
//!   stays unusable; reads then find nothing (without setting the blob's length) and writes
//!   fail with `FDB_INIT_FAILED`.
//! - `SntpInit` runs one exchange (up to three requests) in its own task and reports it once;
//!   `autoSync` is stored and never read, and the RTC is not set. It returns FALSE while an
//!   exchange runs.
//! - `network_set_client_cert` allocates the parsed certificate and key on every successful
//!   call, and nothing ever frees them ([`Fake::client_identities_leaked`]).
//! - `net_lwip_init` has no guard: a second call resets every socket's buffers
//!   ([`Fake::socket_lists_reset`]).
//! - `luat_rtos_semaphore_create` with an initial count of 0 makes a semaphore that is already
//!   given; 1 makes an empty one.
//! - `network_connect` fails at once while the ctrl still has a socket (also after a failed
//!   connect); `network_force_close_socket` drops it. `network_init_ctrl` clears the ctrl
//!   without freeing its TLS contexts ([`Fake::tls_contexts_leaked`]).

#![allow(
    missing_docs,
    clippy::missing_safety_doc,
    clippy::unwrap_used,
    clippy::expect_used
)]

use core::ffi::{c_char, c_int, c_void};
use std::boxed::Box;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::string::String;
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use std::vec::Vec;

use crate::sys::{self, CBFuncEx_t, OS_EVENT, fdb_blob, fdb_kvdb, luat_ip_addr_t, network_ctrl_t};

/// What the next `network_connect` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectPlan {
    /// Connects; `EV_NW_RESULT_CONNECT` with 0.
    Succeed,
    /// Fails while the ctrl is in this state; `EV_NW_RESULT_CONNECT` with -1.
    FailIn(u8),
    /// Returns this code at once.
    Immediate(i32),
    /// Returns 1 and never reports.
    Never,
}

/// One connect request as the adapter saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectCall {
    pub domain: String,
    pub port: u16,
    pub ip: Option<[u8; 4]>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Ctrl {
    busy: bool,
    state: u8,
    /// `socket_id >= 0`.
    socket_open: bool,
    /// `tls_mode`.
    tls: bool,
    /// TLS contexts allocated (`ctrl->ssl` and friends).
    tls_contexts: bool,
    /// Client identities configured on this ctrl.
    own_certs: usize,
    /// A PSK is configured.
    psk: bool,
    /// Only PSK cipher suites are offered.
    psk_only: bool,
    callback: CBFuncEx_t,
    param: usize,
}

/// What the next SNTP exchange answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SntpReply {
    /// The server answered with this time (seconds, microseconds).
    Time(u32, u32),
    /// No answer after the SDK's three requests.
    NoAnswer,
}

/// The SDK's key-value database as `luat_kv_init` leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvDb {
    /// `luat_kvdb` is NULL: `luat_kv_init` never ran.
    Absent,
    /// Allocated, and FlashDB's initialisation succeeded.
    Ready,
    /// Allocated, but FlashDB's initialisation failed: every later `luat_kv_init` returns 0.
    Broken,
}

/// The scripted SDK.
#[derive(Debug)]
pub struct Fake {
    /// Every SDK call, by name, in order.
    pub calls: Vec<&'static str>,
    pub ready: bool,
    pub connect_plan: ConnectPlan,
    pub connects: Vec<ConnectCall>,
    pub verify_flags: i32,
    pub init_tls_ret: i32,
    pub server_cert_ret: i32,
    pub client_cert_ret: i32,
    pub psk_ret: i32,
    /// (identity, key) pairs given to `network_set_psk_info`.
    pub psk_seen: Vec<(Vec<u8>, Vec<u8>)>,
    /// Certificate-and-key pairs `network_set_client_cert` allocated; never freed, as on the
    /// module.
    pub client_identities_leaked: usize,
    /// TLS contexts lost because `network_init_ctrl` cleared a ctrl that had them.
    pub tls_contexts_leaked: usize,
    /// `net_lwip_init` calls, and how many of them reset the socket lists (all but the first).
    pub net_lwip_inits: usize,
    pub socket_lists_reset: usize,
    /// CA PEMs received, without their NUL; `cert_nul_ok` is false if one lacked it.
    pub ca_seen: Vec<Vec<u8>>,
    pub client_seen: Vec<(Vec<u8>, Vec<u8>)>,
    pub cert_nul_ok: bool,
    pub rx: VecDeque<u8>,
    pub rx_closed: bool,
    pub rx_ret: i32,
    pub tx: Vec<u8>,
    pub tx_ret: i32,
    pub tx_result: i32,
    pub tx_auto_ack: bool,
    pub close_ret: i32,
    pub close_event: bool,
    ctrls: [Ctrl; 8],
    pub mobile_handler: sys::luat_mobile_event_callback_t,
    pub register_ret: i32,
    pub imei: Vec<u8>,
    pub imei_ret: i32,
    pub unique_id: &'static [u8],
    pub tick_offset_ms: u64,
    pub utc_ms: u64,
    pub sem_create_ret: i32,
    heap: HashMap<usize, Vec<u8>>,
    pub malloc_fail: bool,
    /// For each freed block: whether it had been wiped to zeros.
    pub freed_zeroed: Vec<bool>,
    pub reboot_ret: i32,
    pub kv: BTreeMap<Vec<u8>, Vec<u8>>,
    /// What FlashDB's initialisation returns the first time `luat_kv_init` runs.
    pub kv_init_ret: i32,
    pub kvdb: KvDb,
    pub kv_init_calls: usize,
    pub kv_set_ret: Option<i32>,
    pub kv_del_ret: Option<i32>,
    pub fota_init_fail: bool,
    pub fota_inits: usize,
    pub fota: Vec<u8>,
    pub fota_writes: usize,
    pub fota_max_chunk: usize,
    pub fota_fail_write: Option<usize>,
    pub fota_done_ret: i32,
    pub sntp_server: Option<String>,
    /// `autoSync` of every `SntpInit` call.
    pub sntp_auto_sync: Vec<u8>,
    /// Exchanges started.
    pub sntp_runs: usize,
    /// Whether an exchange runs (`SntpInit` then returns FALSE).
    pub sntp_running: bool,
    /// Answers of the next exchanges, delivered from another thread after `sntp_delay_ms`;
    /// with none left, an exchange waits for [`sntp_answer`].
    pub sntp_script: VecDeque<SntpReply>,
    pub sntp_delay_ms: u64,
    sntp_callback: CBFuncEx_t,
    sntp_param: usize,
    /// Semaphores created with an initial count of 0 (created already given).
    pub sems_created_given: usize,
}

impl Fake {
    fn new() -> Self {
        Fake {
            calls: Vec::new(),
            ready: true,
            connect_plan: ConnectPlan::Succeed,
            connects: Vec::new(),
            verify_flags: 0,
            init_tls_ret: 0,
            server_cert_ret: 0,
            client_cert_ret: 0,
            psk_ret: 0,
            psk_seen: Vec::new(),
            client_identities_leaked: 0,
            tls_contexts_leaked: 0,
            net_lwip_inits: 0,
            socket_lists_reset: 0,
            ca_seen: Vec::new(),
            client_seen: Vec::new(),
            cert_nul_ok: true,
            rx: VecDeque::new(),
            rx_closed: false,
            rx_ret: 0,
            tx: Vec::new(),
            tx_ret: 1,
            tx_result: 0,
            tx_auto_ack: true,
            close_ret: 1,
            close_event: true,
            ctrls: [Ctrl::default(); 8],
            mobile_handler: None,
            register_ret: 0,
            imei: b"861234567890123".to_vec(),
            imei_ret: 0,
            unique_id: &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88],
            tick_offset_ms: 0,
            utc_ms: 0,
            sem_create_ret: 0,
            heap: HashMap::new(),
            malloc_fail: false,
            freed_zeroed: Vec::new(),
            reboot_ret: -1,
            kv: BTreeMap::new(),
            kv_init_ret: 0,
            kvdb: KvDb::Absent,
            kv_init_calls: 0,
            kv_set_ret: None,
            kv_del_ret: None,
            fota_init_fail: false,
            fota_inits: 0,
            fota: Vec::new(),
            fota_writes: 0,
            fota_max_chunk: 0,
            fota_fail_write: None,
            fota_done_ret: 0,
            sntp_server: None,
            sntp_auto_sync: Vec::new(),
            sntp_runs: 0,
            sntp_running: false,
            sntp_script: VecDeque::new(),
            sntp_delay_ms: 3,
            sntp_callback: None,
            sntp_param: 0,
            sems_created_given: 0,
        }
    }

    /// Ctrls currently allocated.
    pub fn ctrls_in_use(&self) -> usize {
        self.ctrls.iter().filter(|c| c.busy).count()
    }

    /// Allocated ctrls that still have a socket.
    pub fn sockets_open(&self) -> usize {
        self.ctrls
            .iter()
            .filter(|c| c.busy && c.socket_open)
            .count()
    }

    /// Heap blocks not freed.
    pub fn heap_in_use(&self) -> usize {
        self.heap.len()
    }

    /// Client identities configured on the allocated ctrls, one entry per ctrl.
    pub fn identities_per_ctrl(&self) -> Vec<usize> {
        self.ctrls
            .iter()
            .filter(|c| c.busy)
            .map(|c| c.own_certs)
            .collect()
    }

    /// Whether every allocated TLS ctrl with a PSK offers only PSK cipher suites, and at least
    /// one such ctrl exists.
    pub fn psk_ctrls_offer_only_psk(&self) -> bool {
        let psk: Vec<_> = self.ctrls.iter().filter(|c| c.busy && c.psk).collect();
        !psk.is_empty() && psk.iter().all(|c| c.psk_only)
    }
}

static STATE: LazyLock<Mutex<Fake>> = LazyLock::new(|| Mutex::new(Fake::new()));
static TEST: Mutex<()> = Mutex::new(());
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Serialises tests and resets the fake SDK, with what this crate remembers about the
/// key-value store's initialisation (as a reboot would).
pub fn lock() -> MutexGuard<'static, ()> {
    let guard = TEST.lock().unwrap_or_else(|e| e.into_inner());
    *state() = Fake::new();
    crate::kv::forget_init();
    guard
}

fn state() -> MutexGuard<'static, Fake> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on the fake's state.
pub fn with<R>(f: impl FnOnce(&mut Fake) -> R) -> R {
    f(&mut state())
}

fn call(name: &'static str) {
    state().calls.push(name);
}

fn ctrl_ptr(i: usize) -> *mut network_ctrl_t {
    ((i + 1) * 0x100) as *mut network_ctrl_t
}

fn ctrl_index(ctrl: *mut network_ctrl_t) -> usize {
    (ctrl as usize / 0x100)
        .checked_sub(1)
        .filter(|&i| i < 8)
        .expect("not a fake ctrl")
}

/// Delivers a result event to ctrl `i` from another thread, after a short delay.
fn deliver(i: usize, id: u32, param1: i32) {
    deliver_after(i, id, param1, || {});
}

/// Like [`deliver`], running `before` in the event thread just before the callback (as the
/// adapter changes its state in the tcpip thread right before it reports).
fn deliver_after(i: usize, id: u32, param1: i32, before: impl FnOnce() + Send + 'static) {
    let (callback, param) = {
        let s = state();
        (s.ctrls[i].callback, s.ctrls[i].param)
    };
    let Some(callback) = callback else { return };
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(3));
        before();
        let mut event = OS_EVENT {
            ID: id,
            Param1: param1 as u32,
            Param2: 0,
            Param3: 0,
        };
        // SAFETY: the callback is the one given to network_init_ctrl, with its param.
        unsafe { callback(ptr_of(&mut event), param as *mut c_void) };
    });
}

fn ptr_of(event: &mut OS_EVENT) -> *mut c_void {
    (event as *mut OS_EVENT).cast()
}

fn online_ctrl() -> Option<usize> {
    state()
        .ctrls
        .iter()
        .position(|c| c.busy && c.state == sys::NW_STATE_ONLINE)
}

/// Data from the peer: buffered, then `EV_NW_RESULT_EVENT` with 0.
pub fn push_rx(data: &[u8]) {
    state().rx.extend(data.iter().copied());
    if let Some(i) = online_ctrl() {
        deliver(i, sys::EV_NW_RESULT_EVENT, 0);
    }
}

/// The peer closes: `EV_NW_RESULT_EVENT` with -1; reads fail once the buffer is empty.
pub fn peer_close() {
    if let Some(i) = online_ctrl() {
        deliver_after(i, sys::EV_NW_RESULT_EVENT, -1, || state().rx_closed = true);
    }
}

/// Calls the registered mobile event handler.
pub fn mobile_event(event: u8, index: u8, status: u8) {
    let handler = state().mobile_handler;
    if let Some(h) = handler {
        // SAFETY: the handler registered through luat_mobile_event_register_handler.
        unsafe { h(event, index, status) };
    }
}

/// Ends the running SNTP exchange with `reply`, as the SDK's SNTP task does: the exchange is
/// marked finished, then the callback runs once. Nothing happens if no exchange runs.
pub fn sntp_answer(reply: SntpReply) {
    let (cb, param) = {
        let mut s = state();
        if !s.sntp_running {
            return;
        }
        s.sntp_running = false;
        (s.sntp_callback, s.sntp_param)
    };
    let Some(cb) = cb else { return };
    let mut result = match reply {
        SntpReply::Time(sec, us) => sys::sntp_result_t { succ: 1, sec, us },
        SntpReply::NoAnswer => sys::sntp_result_t::default(),
    };
    // SAFETY: the callback given to SntpInit, with a valid result and its user parameter.
    unsafe {
        cb(
            (&mut result as *mut sys::sntp_result_t).cast(),
            param as *mut c_void,
        )
    };
}

fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller passes a pointer valid for `len` bytes, as the C contract requires.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

/// A PEM as mbedTLS wants it: NUL-terminated with the NUL counted.
fn pem(ptr: *const u8, len: usize, s: &mut Fake) -> Vec<u8> {
    let data = bytes(ptr, len);
    match data.split_last() {
        Some((0, body)) if !body.contains(&0) => body.to_vec(),
        _ => {
            s.cert_nul_ok = false;
            data.to_vec()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Network adapter
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn net_lwip_init() {
    let mut s = state();
    s.calls.push("net_lwip_init");
    s.net_lwip_inits += 1;
    if s.net_lwip_inits > 1 {
        // The socket lists are initialised again: what open sockets had buffered is lost.
        s.socket_lists_reset += 1;
        s.rx.clear();
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn net_lwip_register_adapter(adapter_index: u8) {
    assert_eq!(adapter_index, sys::NW_ADAPTER_INDEX_LWIP_GPRS);
    call("net_lwip_register_adapter");
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_register_set_default(adapter_index: u8) {
    assert_eq!(adapter_index, sys::NW_ADAPTER_INDEX_LWIP_GPRS);
    call("network_register_set_default");
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_socket_check_ready(_param: u32, _is_ipv6: *mut u8) {
    let mut s = state();
    s.calls.push("luat_socket_check_ready");
    s.ready = true;
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_check_ready(_ctrl: *mut network_ctrl_t, _adapter_index: u8) -> u8 {
    u8::from(state().ready)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_alloc_ctrl(_adapter_index: u8) -> *mut network_ctrl_t {
    let mut s = state();
    s.calls.push("network_alloc_ctrl");
    match s.ctrls.iter().position(|c| !c.busy) {
        Some(i) => {
            // The table entry keeps what it had (as on the module); init_ctrl clears it.
            s.ctrls[i].busy = true;
            s.ctrls[i].state = sys::NW_STATE_OFF_LINE;
            ctrl_ptr(i)
        }
        None => core::ptr::null_mut(),
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_release_ctrl(ctrl: *mut network_ctrl_t) {
    let i = ctrl_index(ctrl);
    let mut s = state();
    s.calls.push("network_release_ctrl");
    assert!(s.ctrls[i].busy, "release of a free ctrl");
    // network_deinit_tls frees the TLS contexts; the client identities stay allocated.
    s.ctrls[i] = Ctrl::default();
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_init_ctrl(
    ctrl: *mut network_ctrl_t,
    task_handle: sys::HANDLE,
    callback: CBFuncEx_t,
    param: *mut c_void,
) {
    assert!(task_handle.is_null(), "callback mode expected");
    let i = ctrl_index(ctrl);
    let mut s = state();
    s.calls.push("network_init_ctrl");
    // memset of the whole ctrl: TLS contexts it had are lost, not freed.
    if s.ctrls[i].tls_contexts {
        s.tls_contexts_leaked += 1;
    }
    s.ctrls[i] = Ctrl {
        busy: true,
        state: s.ctrls[i].state,
        callback,
        param: param as usize,
        ..Ctrl::default()
    };
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_set_base_mode(
    ctrl: *mut network_ctrl_t,
    is_tcp: u8,
    _tcp_timeout_ms: u32,
    _keep_alive: u8,
    _keep_idle: u32,
    _keep_interval: u8,
    _keep_cnt: u8,
) {
    ctrl_index(ctrl);
    assert_eq!(is_tcp, 1);
    call("network_set_base_mode");
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_connect(
    ctrl: *mut network_ctrl_t,
    domain_name: *const c_char,
    domain_name_len: u32,
    remote_ip: *mut luat_ip_addr_t,
    remote_port: u16,
    _timeout_ms: u32,
) -> c_int {
    let i = ctrl_index(ctrl);
    let domain =
        String::from_utf8_lossy(bytes(domain_name.cast(), domain_name_len as usize)).into_owned();
    // SAFETY: NULL or a valid address, per the C contract.
    let ip = unsafe { remote_ip.as_ref() }.map(|ip| ip.u_addr[0].to_ne_bytes());
    let plan = {
        let mut s = state();
        s.calls.push("network_connect");
        if s.ctrls[i].socket_open {
            // `if (ctrl->socket_id >= 0) return -1;`
            return -1;
        }
        s.connects.push(ConnectCall {
            domain,
            port: remote_port,
            ip,
        });
        s.connect_plan
    };
    match plan {
        ConnectPlan::Succeed => {
            let mut s = state();
            s.ctrls[i].state = sys::NW_STATE_ONLINE;
            s.ctrls[i].socket_open = true;
            drop(s);
            deliver(i, sys::EV_NW_RESULT_CONNECT, 0);
            1
        }
        ConnectPlan::FailIn(st) => {
            let mut s = state();
            s.ctrls[i].state = st;
            // The failed connect leaves its socket behind until it is force-closed.
            s.ctrls[i].socket_open = st != sys::NW_STATE_WAIT_DNS && st != sys::NW_STATE_LINK_OFF;
            drop(s);
            deliver(i, sys::EV_NW_RESULT_CONNECT, -1);
            1
        }
        ConnectPlan::Immediate(code) => code,
        ConnectPlan::Never => 1,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_tx(
    ctrl: *mut network_ctrl_t,
    data: *const u8,
    len: u32,
    _flags: c_int,
    _remote_ip: *mut luat_ip_addr_t,
    _remote_port: u16,
    tx_len: *mut u32,
    timeout_ms: u32,
) -> c_int {
    assert_eq!(timeout_ms, 0, "non-blocking tx expected");
    let i = ctrl_index(ctrl);
    let (ret, result, ack) = {
        let mut s = state();
        s.calls.push("network_tx");
        if s.ctrls[i].state != sys::NW_STATE_ONLINE || s.tx_ret < 0 {
            return if s.tx_ret < 0 { s.tx_ret } else { -1 };
        }
        s.tx.extend_from_slice(bytes(data, len as usize));
        (s.tx_ret, s.tx_result, s.tx_auto_ack)
    };
    // SAFETY: a valid out-pointer, per the C contract.
    unsafe { *tx_len = len };
    if ret == 1 && ack {
        deliver(i, sys::EV_NW_RESULT_TX, result);
    }
    ret
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_rx(
    ctrl: *mut network_ctrl_t,
    data: *mut u8,
    len: u32,
    _flags: c_int,
    _remote_ip: *mut luat_ip_addr_t,
    _remote_port: *mut u16,
    rx_len: *mut u32,
) -> c_int {
    ctrl_index(ctrl);
    let mut s = state();
    s.calls.push("network_rx");
    if s.rx_ret < 0 {
        return s.rx_ret;
    }
    if s.rx.is_empty() && s.rx_closed {
        return -1;
    }
    let n = (len as usize).min(s.rx.len());
    for k in 0..n {
        let b = s.rx.pop_front().unwrap_or(0);
        // SAFETY: `data` is writable for `len` bytes and `k < len`.
        unsafe { *data.add(k) = b };
    }
    // SAFETY: a valid out-pointer.
    unsafe { *rx_len = n as u32 };
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_close(ctrl: *mut network_ctrl_t, _timeout_ms: u32) -> c_int {
    let i = ctrl_index(ctrl);
    let (ret, event) = {
        let mut s = state();
        s.calls.push("network_close");
        s.ctrls[i].state = sys::NW_STATE_OFF_LINE;
        (s.close_ret, s.close_event)
    };
    if ret == 1 && event {
        // The close completes in the tcpip thread, which force-closes the socket.
        deliver_after(i, sys::EV_NW_RESULT_CLOSE, 0, move || {
            state().ctrls[i].socket_open = false;
        });
    } else if ret != 1 {
        state().ctrls[i].socket_open = false;
    }
    ret
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_force_close_socket(ctrl: *mut network_ctrl_t) {
    let i = ctrl_index(ctrl);
    let mut s = state();
    s.calls.push("network_force_close_socket");
    s.ctrls[i].state = sys::NW_STATE_OFF_LINE;
    s.ctrls[i].socket_open = false;
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_init_tls(ctrl: *mut network_ctrl_t, verify_mode: c_int) -> c_int {
    let i = ctrl_index(ctrl);
    let mut s = state();
    s.calls
        .push(if verify_mode == sys::MBEDTLS_SSL_VERIFY_REQUIRED {
            "network_init_tls(required)"
        } else {
            "network_init_tls(none)"
        });
    if s.init_tls_ret >= 0 {
        s.ctrls[i].tls = true;
        // `if (!ctrl->ssl)`: the contexts are allocated once per ctrl.
        s.ctrls[i].tls_contexts = true;
    }
    s.init_tls_ret
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_set_server_cert(
    ctrl: *mut network_ctrl_t,
    cert: *const u8,
    cert_len: usize,
) -> c_int {
    let i = ctrl_index(ctrl);
    let mut s = state();
    s.calls.push("network_set_server_cert");
    if !s.ctrls[i].tls {
        return -2;
    }
    let body = pem(cert, cert_len, &mut s);
    s.ca_seen.push(body);
    s.server_cert_ret
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_set_client_cert(
    ctrl: *mut network_ctrl_t,
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
    pwd: *const u8,
    pwd_len: usize,
) -> c_int {
    let i = ctrl_index(ctrl);
    let mut s = state();
    s.calls.push("network_set_client_cert");
    assert!(pwd.is_null() && pwd_len == 0);
    if !s.ctrls[i].tls {
        return -2;
    }
    let c = pem(cert, cert_len, &mut s);
    let k = pem(key, key_len, &mut s);
    s.client_seen.push((c, k));
    if s.client_cert_ret == 0 {
        // zalloc'd certificate and key, handed to mbedtls_ssl_conf_own_cert: never freed.
        s.client_identities_leaked += 1;
        s.ctrls[i].own_certs += 1;
    }
    s.client_cert_ret
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_set_psk_info(
    ctrl: *mut network_ctrl_t,
    psk: *const u8,
    psk_len: usize,
    psk_identity: *const u8,
    psk_identity_len: usize,
) -> c_int {
    let i = ctrl_index(ctrl);
    let mut s = state();
    s.calls.push("network_set_psk_info");
    if !s.ctrls[i].tls {
        return -sys::ERROR_PERMISSION_DENIED;
    }
    // mbedtls_ssl_conf_psk: a key of 1 to MBEDTLS_PSK_MAX_LEN bytes, copied.
    if psk_len == 0 || psk_len > sys::MBEDTLS_PSK_MAX_LEN || s.psk_ret != 0 {
        return -sys::ERROR_OPERATION_FAILED;
    }
    let identity = bytes(psk_identity, psk_identity_len).to_vec();
    let key = bytes(psk, psk_len).to_vec();
    s.psk_seen.push((identity, key));
    s.ctrls[i].psk = true;
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn hal_ec618_offer_psk_suites_only(ctrl: *mut network_ctrl_t) {
    let i = ctrl_index(ctrl);
    let mut s = state();
    s.calls.push("hal_ec618_offer_psk_suites_only");
    if s.ctrls[i].tls_contexts {
        s.ctrls[i].psk_only = true;
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn network_cert_verify_result(ctrl: *mut network_ctrl_t) -> c_int {
    let i = ctrl_index(ctrl);
    let s = state();
    if s.ctrls[i].tls { s.verify_flags } else { -1 }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn hal_ec618_ctrl_state(ctrl: *mut network_ctrl_t) -> u8 {
    let i = ctrl_index(ctrl);
    state().ctrls[i].state
}

// ---------------------------------------------------------------------------------------------
// Mobile, identity, time
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_mobile_event_register_handler(
    callback_fun: sys::luat_mobile_event_callback_t,
) -> c_int {
    let mut s = state();
    s.calls.push("luat_mobile_event_register_handler");
    if s.register_ret == 0 {
        s.mobile_handler = callback_fun;
    }
    s.register_ret
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_mobile_get_imei(
    _sim_id: c_int,
    buff: *mut c_char,
    buf_len: usize,
) -> c_int {
    let s = state();
    if s.imei_ret < 0 {
        return s.imei_ret;
    }
    let mut internal = [0u8; 20];
    let n = s.imei.len().min(20);
    internal[..n].copy_from_slice(&s.imei[..n]);
    let copy = buf_len.min(20);
    // SAFETY: `buff` is writable for `buf_len` bytes.
    unsafe { core::ptr::copy_nonoverlapping(internal.as_ptr(), buff.cast(), copy) };
    copy as c_int
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_mcu_unique_id(t: *mut usize) -> *const c_char {
    let id = state().unique_id;
    // SAFETY: a valid out-pointer.
    unsafe { *t = id.len() };
    if id.is_empty() {
        core::ptr::null()
    } else {
        id.as_ptr().cast()
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_mcu_tick64_ms() -> u64 {
    let offset = state().tick_offset_ms;
    START.elapsed().as_millis() as u64 + offset
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn soc_get_utc_ms() -> u64 {
    state().utc_ms
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn SntpInit(
    server_addr: *mut c_char,
    server_port: u16,
    auto_sync: sys::BOOL,
    _cid: u8,
    callback: CBFuncEx_t,
    user_param: *mut c_void,
) -> sys::BOOL {
    assert_eq!(server_port, sys::SNTP_DEFAULT_PORT);
    if server_addr.is_null() {
        return 0;
    }
    // SAFETY: a NUL-terminated string, per the C contract.
    let server = unsafe { core::ffi::CStr::from_ptr(server_addr) };
    let mut s = state();
    s.calls.push("SntpInit");
    s.sntp_auto_sync.push(auto_sync);
    // `strlen(serverAddr) > DNS_MAX_NAME_LENGTH || strlen(serverAddr) == 0`, then "has run".
    let len = server.to_bytes().len();
    if len == 0 || len > sys::DNS_MAX_NAME_LENGTH || s.sntp_running {
        return 0;
    }
    // strcpy into a DNS_MAX_NAME_LENGTH buffer: a name of exactly that length overflows it.
    assert!(
        len < sys::DNS_MAX_NAME_LENGTH,
        "SntpInit's strcpy would write past its buffer"
    );
    s.sntp_server = Some(server.to_string_lossy().into_owned());
    s.sntp_callback = callback;
    s.sntp_param = user_param as usize;
    s.sntp_running = true;
    s.sntp_runs += 1;
    if let Some(reply) = s.sntp_script.pop_front() {
        let delay = s.sntp_delay_ms;
        drop(s);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay));
            sntp_answer(reply);
        });
    }
    1
}

// ---------------------------------------------------------------------------------------------
// RTOS, heap, system
// ---------------------------------------------------------------------------------------------

struct Semaphore {
    /// Takes available, and the most there can be.
    count: Mutex<u32>,
    max: u32,
    cond: Condvar,
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_rtos_semaphore_create(
    handle: *mut sys::luat_rtos_semaphore_t,
    init_count: u32,
) -> c_int {
    let ret = state().sem_create_ret;
    if ret != 0 {
        return ret;
    }
    // `if (init_count <= 1) { binary; if (!init_count) give; } else counting(init, init)`.
    let (count, max) = match init_count {
        0 => {
            state().sems_created_given += 1;
            (1, 1)
        }
        1 => (0, 1),
        n => (n, n),
    };
    let sem = Box::leak(Box::new(Semaphore {
        count: Mutex::new(count),
        max,
        cond: Condvar::new(),
    }));
    // SAFETY: a valid out-pointer.
    unsafe { *handle = (sem as *mut Semaphore).cast() };
    0
}

fn sem<'a>(handle: sys::luat_rtos_semaphore_t) -> &'a Semaphore {
    // SAFETY: handles come from luat_rtos_semaphore_create, which leaks them.
    unsafe { &*(handle as *const Semaphore) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_rtos_semaphore_take(
    handle: sys::luat_rtos_semaphore_t,
    timeout: u32,
) -> c_int {
    let sem = sem(handle);
    let mut count = sem.count.lock().unwrap();
    let deadline = (timeout != sys::LUAT_WAIT_FOREVER)
        .then(|| Instant::now() + Duration::from_millis(u64::from(timeout)));
    while *count == 0 {
        match deadline {
            None => count = sem.cond.wait(count).unwrap(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return -1;
                }
                count = sem.cond.wait_timeout(count, d - now).unwrap().0;
            }
        }
    }
    *count -= 1;
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_rtos_semaphore_release(handle: sys::luat_rtos_semaphore_t) -> c_int {
    let sem = sem(handle);
    let mut count = sem.count.lock().unwrap();
    if *count >= sem.max {
        // xSemaphoreGive on a full semaphore fails.
        return -1;
    }
    *count += 1;
    sem.cond.notify_one();
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_heap_malloc(len: usize) -> *mut c_void {
    let mut s = state();
    if s.malloc_fail {
        return core::ptr::null_mut();
    }
    let mut block = std::vec![0xA5u8; len.max(1)];
    let ptr = block.as_mut_ptr();
    s.heap.insert(ptr as usize, block);
    ptr.cast()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_heap_free(ptr: *mut c_void) {
    let mut s = state();
    let block = s
        .heap
        .remove(&(ptr as usize))
        .expect("free of an unknown block");
    let zeroed = block.iter().all(|&b| b == 0);
    s.freed_zeroed.push(zeroed);
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_pm_reboot() -> c_int {
    let mut s = state();
    s.calls.push("luat_pm_reboot");
    s.reboot_ret
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn soc_debug_out(_string: *mut c_char, _size: u32) {
    call("soc_debug_out");
}

// ---------------------------------------------------------------------------------------------
// Key-value store
// ---------------------------------------------------------------------------------------------

/// Where the fake's key-value database "lives" (never dereferenced).
const KVDB: usize = 0x4000;

fn key_of(key: *const c_char) -> Vec<u8> {
    // SAFETY: a NUL-terminated string, per the C contract.
    unsafe { core::ffi::CStr::from_ptr(key) }
        .to_bytes()
        .to_vec()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn hal_ec618_kvdb() -> *mut fdb_kvdb {
    match state().kvdb {
        KvDb::Absent => core::ptr::null_mut(),
        KvDb::Ready | KvDb::Broken => KVDB as *mut fdb_kvdb,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_kv_init() -> c_int {
    let mut s = state();
    s.calls.push("luat_kv_init");
    s.kv_init_calls += 1;
    match s.kvdb {
        // The first call allocates the database and returns FlashDB's result.
        KvDb::Absent => {
            let ret = s.kv_init_ret;
            s.kvdb = if ret == sys::FDB_NO_ERR {
                KvDb::Ready
            } else {
                KvDb::Broken
            };
            ret
        }
        // `if (luat_kvdb == NULL) { ... } return 0;`: later calls succeed, broken or not.
        KvDb::Ready | KvDb::Broken => 0,
    }
}

/// What `luat_kv_set` and `luat_kv_del` return before the store works.
fn kv_unusable(s: &Fake) -> Option<c_int> {
    match s.kvdb {
        KvDb::Absent => Some(-1),
        KvDb::Broken => Some(sys::FDB_INIT_FAILED),
        KvDb::Ready => None,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_kv_set(key: *const c_char, data: *mut c_void, len: usize) -> c_int {
    let key = key_of(key);
    let value = bytes(data.cast(), len).to_vec();
    let mut s = state();
    s.calls.push("luat_kv_set");
    if let Some(ret) = kv_unusable(&s) {
        return ret;
    }
    if let Some(ret) = s.kv_set_ret {
        return ret;
    }
    if key.len() > 64 {
        return sys::FDB_KV_NAME_ERR;
    }
    s.kv.insert(key, value);
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_kv_del(key: *const c_char) -> c_int {
    let key = key_of(key);
    let mut s = state();
    s.calls.push("luat_kv_del");
    if let Some(ret) = kv_unusable(&s) {
        return ret;
    }
    if let Some(ret) = s.kv_del_ret {
        return ret;
    }
    match s.kv.remove(&key) {
        Some(_) => 0,
        None => sys::FDB_KV_NAME_ERR,
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fdb_kv_get_blob(
    db: *mut fdb_kvdb,
    key: *const c_char,
    blob: *mut fdb_blob,
) -> usize {
    assert_eq!(db as usize, KVDB, "not the SDK's database");
    let key = key_of(key);
    let s = state();
    // `if (!db_init_ok(db)) return 0;`: nothing read, the blob untouched.
    if s.kvdb != KvDb::Ready {
        return 0;
    }
    // SAFETY: a valid blob, per the C contract.
    let blob = unsafe { &mut *blob };
    // A missing key also leaves the blob untouched.
    match s.kv.get(&key) {
        Some(value) => {
            let n = value.len().min(blob.size);
            // SAFETY: `blob.buf` is writable for `blob.size` bytes.
            unsafe { core::ptr::copy_nonoverlapping(value.as_ptr(), blob.buf.cast(), n) };
            blob.saved.len = value.len();
            n
        }
        None => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// FOTA
// ---------------------------------------------------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_fota_init() -> sys::luat_fota_img_proc_ctx_ptr {
    let mut s = state();
    s.fota_inits += 1;
    s.fota.clear();
    s.fota_writes = 0;
    if s.fota_init_fail {
        core::ptr::null_mut()
    } else {
        0x5000 as sys::luat_fota_img_proc_ctx_ptr
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_fota_write(
    context: sys::luat_fota_img_proc_ctx_ptr,
    data: *mut c_void,
    len: c_int,
) -> c_int {
    assert_eq!(context as usize, 0x5000);
    let chunk = bytes(data.cast(), len as usize).to_vec();
    let mut s = state();
    s.fota_writes += 1;
    if s.fota_fail_write == Some(s.fota_writes) {
        return -1;
    }
    s.fota_max_chunk = s.fota_max_chunk.max(chunk.len());
    s.fota.extend_from_slice(&chunk);
    0
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn luat_fota_done(context: sys::luat_fota_img_proc_ctx_ptr) -> c_int {
    assert_eq!(context as usize, 0x5000);
    let mut s = state();
    s.calls.push("luat_fota_done");
    s.fota_done_ret
}

/// The adapter's connection stages a test can make a connect fail in.
pub mod stage {
    use crate::sys;

    /// Resolving the host name.
    pub const DNS: u8 = sys::NW_STATE_WAIT_DNS;
    /// Opening the TCP connection.
    pub const CONNECTING: u8 = sys::NW_STATE_CONNECTING;
    /// The TLS handshake.
    pub const HANDSHAKE: u8 = sys::NW_STATE_SHAKEHAND;
    /// The cellular link is down.
    pub const LINK_OFF: u8 = sys::NW_STATE_LINK_OFF;
}

/// SDK codes tests hand to the fake.
pub mod codes {
    use crate::sys;

    /// Mobile event: network interface.
    pub const MOBILE_EVENT_NETIF: u8 = sys::LUAT_MOBILE_EVENT_NETIF;
    /// Network interface event: link on.
    pub const MOBILE_NETIF_LINK_ON: u8 = sys::LUAT_MOBILE_NETIF_LINK_ON;
    /// Mobile event: network time received.
    pub const MOBILE_EVENT_TIME_SYNC: u8 = sys::LUAT_MOBILE_EVENT_TIME_SYNC;
    /// FlashDB: the store is full.
    pub const FDB_SAVED_FULL: i32 = sys::FDB_SAVED_FULL;
    /// FlashDB: the database could not be initialised.
    pub const FDB_INIT_FAILED: i32 = sys::FDB_INIT_FAILED;
}
