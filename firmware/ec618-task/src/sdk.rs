//! A stand-in for the Air780E SDK's C functions that `hal-ec618` calls, on the emulated
//! board: what lets the crate's own code run here, unchanged, as the device task runs it on
//! the module.
//!
//! - The network adapter is UART0, which QEMU connects to the broker, so "connecting" only
//!   reports success. The SDK's outcomes arrive the way they do on the module: `network_*`
//!   return at once ("pending"), and the result comes later through the control block's
//!   callback, here delivered while the task waits on its semaphore (where lwIP's tcpip
//!   thread would deliver them while the task sleeps). Incoming bytes are announced with
//!   `EV_NW_RESULT_EVENT`, as lwIP does.
//! - TLS calls succeed without encrypting: what is measured is the Rust task, and mbedTLS
//!   runs inside the SDK on the module (its stack use is the SDK's, not measured here).
//! - The semaphore follows the SDK's reading of its initial count (0 = already given, 1 =
//!   empty); the key-value store and the FOTA region are RAM; the heap is a bump allocator.
//!
//! Every function keeps the C signature `hal-ec618` declares for it (its `sys` module, which
//! `cargo xtask ec618-check` holds to the vendor's headers). This is the only module with
//! `unsafe`: C signatures, raw pointers from the caller, and the callbacks it registered.

use core::cell::RefCell;
use core::ffi::{c_char, c_int, c_uint, c_void};
use core::ptr;
use core::sync::atomic::AtomicU8;

use cortex_m::interrupt::{self, Mutex};
use iotcloud_core::Clock;
use mps2_board::SysTickClock;
use mps2_board::hal::Uart0;

/// `OS_EVENT`: what a control block's callback receives.
#[repr(C)]
struct OsEvent {
    id: u32,
    param1: u32,
    param2: u32,
    param3: u32,
}

/// FlashDB's `fdb_blob` (with its `saved` part flattened).
#[repr(C)]
struct FdbBlob {
    buf: *mut c_void,
    size: usize,
    saved_meta_addr: u32,
    saved_addr: u32,
    saved_len: usize,
}

type Callback = unsafe extern "C" fn(data: *mut c_void, param: *mut c_void) -> i32;
type MobileCallback = unsafe extern "C" fn(event: u8, index: u8, status: u8);

const EV_NW_RESULT_CONNECT: u32 = 0xF200_0011;
const EV_NW_RESULT_TX: u32 = 0xF200_0012;
const EV_NW_RESULT_CLOSE: u32 = 0xF200_0013;
const EV_NW_RESULT_EVENT: u32 = 0xF200_0014;
const NW_STATE_OFF_LINE: u8 = 1;
const NW_STATE_ONLINE: u8 = 5;
const LUAT_MOBILE_EVENT_NETIF: u8 = 5;
const LUAT_MOBILE_NETIF_LINK_ON: u8 = 0;
const LUAT_WAIT_FOREVER: c_uint = 0xFFFF_FFFF;
const FDB_NO_ERR: c_int = 0;
const FDB_KV_NAME_ERR: c_int = 5;
const FDB_SAVED_FULL: c_int = 7;

/// Pending results of the one control block, delivered in [`luat_rtos_semaphore_take`].
#[derive(Clone, Copy, Default)]
struct Pending {
    connect: bool,
    tx: bool,
    close: bool,
}

const KV_SLOTS: usize = 4;
const KV_KEY: usize = 65;
const KV_VALUE: usize = 512;
const HEAP: usize = 16 * 1024;

struct Sdk {
    uart: Option<Uart0>,
    clock: Option<SysTickClock>,
    /// The byte read from the UART ahead of `network_rx`, to learn that data is waiting.
    lookahead: Option<u8>,
    mobile: Option<MobileCallback>,
    mobile_told: bool,
    adapter: bool,
    ctrl_busy: bool,
    ctrl_state: u8,
    callback: Option<Callback>,
    param: usize,
    pending: Pending,
    /// An `EV_NW_RESULT_EVENT` was delivered and `network_rx` has not run since.
    rx_announced: bool,
    semaphore: Option<bool>,
    heap_used: usize,
    kv_ready: bool,
    kv: [(usize, [u8; KV_KEY], usize, [u8; KV_VALUE]); KV_SLOTS],
    fota_written: usize,
}

static SDK: Mutex<RefCell<Sdk>> = Mutex::new(RefCell::new(Sdk {
    uart: None,
    clock: None,
    lookahead: None,
    mobile: None,
    mobile_told: false,
    adapter: false,
    ctrl_busy: false,
    ctrl_state: 0,
    callback: None,
    param: 0,
    pending: Pending {
        connect: false,
        tx: false,
        close: false,
    },
    rx_announced: false,
    semaphore: None,
    heap_used: 0,
    kv_ready: false,
    kv: [(0, [0; KV_KEY], 0, [0; KV_VALUE]); KV_SLOTS],
    fota_written: 0,
}));

/// The heap behind `luat_heap_malloc`, aligned as `malloc`'s. Atomic bytes, so that the C
/// side may write through the pointers handed out from a shared static.
#[repr(C, align(8))]
struct Heap([AtomicU8; HEAP]);
static HEAP_MEMORY: Heap = Heap([const { AtomicU8::new(0) }; HEAP]);

/// The one control block `network_alloc_ctrl` hands out: its address is all the caller uses.
static CTRL: u32 = 0;

fn with<R>(f: impl FnOnce(&mut Sdk) -> R) -> R {
    interrupt::free(|cs| f(&mut SDK.borrow(cs).borrow_mut()))
}

/// Gives the stand-in the board's UART (the "network") and clock (the tick counter).
pub fn install(uart: Uart0, clock: SysTickClock) {
    let mut uart = uart;
    uart.enable();
    with(|s| {
        s.uart = Some(uart);
        s.clock = Some(clock);
    });
}

/// The bytes the FOTA stand-in was given.
pub fn fota_written() -> usize {
    with(|s| s.fota_written)
}

/// The heap's high-water mark (it never frees).
pub fn heap_used() -> usize {
    with(|s| s.heap_used)
}

fn now_ms() -> u64 {
    with(|s| s.clock.map_or(0, |c| c.now_ms()))
}

/// One event for the control block's callback, if one is due: a connect, TX or close
/// result, or data waiting on the UART.
fn due_event() -> Option<(Callback, usize, u32)> {
    with(|s| {
        let callback = s.callback?;
        let id = if s.pending.connect {
            s.pending.connect = false;
            EV_NW_RESULT_CONNECT
        } else if s.pending.tx {
            s.pending.tx = false;
            EV_NW_RESULT_TX
        } else if s.pending.close {
            s.pending.close = false;
            s.ctrl_state = NW_STATE_OFF_LINE;
            EV_NW_RESULT_CLOSE
        } else {
            if s.ctrl_state != NW_STATE_ONLINE || s.rx_announced {
                return None;
            }
            if s.lookahead.is_none() {
                s.lookahead = s.uart.as_mut().and_then(Uart0::try_read);
            }
            s.lookahead?;
            s.rx_announced = true;
            EV_NW_RESULT_EVENT
        };
        Some((callback, s.param, id))
    })
}

/// Delivers what is due: the cellular link coming up, then the control block's events.
fn deliver() {
    let mobile = with(|s| {
        if s.mobile_told || !s.adapter {
            return None;
        }
        s.mobile_told = true;
        s.mobile
    });
    if let Some(mobile) = mobile {
        // SAFETY: the handler `hal-ec618` registered, called as the SDK calls it.
        unsafe { mobile(LUAT_MOBILE_EVENT_NETIF, 0, LUAT_MOBILE_NETIF_LINK_ON) };
    }
    while let Some((callback, param, id)) = due_event() {
        let mut event = OsEvent {
            id,
            param1: 0,
            param2: 0,
            param3: 0,
        };
        // SAFETY: the callback and parameter given to `network_init_ctrl`, called with a
        // live event as lwIP's thread calls it.
        unsafe { callback(ptr::from_mut(&mut event).cast(), param as *mut c_void) };
    }
}

// --- RTOS, time, memory, identity ---

#[unsafe(no_mangle)]
extern "C" fn luat_rtos_semaphore_create(handle: *mut *mut c_void, init_count: u32) -> c_int {
    // The SDK gives a semaphore created with count 0 at once.
    with(|s| s.semaphore = Some(init_count == 0));
    // SAFETY: a valid out-pointer, per the C contract; the handle is never dereferenced.
    unsafe { *handle = ptr::from_ref(&SDK).cast_mut().cast() };
    0
}

#[unsafe(no_mangle)]
extern "C" fn luat_rtos_semaphore_take(_handle: *mut c_void, timeout: c_uint) -> c_int {
    let start = now_ms();
    loop {
        deliver();
        let taken = with(|s| match s.semaphore {
            Some(true) => {
                s.semaphore = Some(false);
                true
            }
            _ => false,
        });
        if taken {
            return 0;
        }
        if timeout != LUAT_WAIT_FOREVER && now_ms().saturating_sub(start) >= u64::from(timeout) {
            return -1;
        }
        // SysTick ends the wait every millisecond.
        cortex_m::asm::wfi();
    }
}

#[unsafe(no_mangle)]
extern "C" fn luat_rtos_semaphore_release(_handle: *mut c_void) -> c_int {
    with(|s| match s.semaphore {
        Some(false) => {
            s.semaphore = Some(true);
            0
        }
        // Already given: the binary semaphore's give fails.
        _ => -1,
    })
}

#[unsafe(no_mangle)]
extern "C" fn luat_mcu_tick64_ms() -> u64 {
    now_ms()
}

#[unsafe(no_mangle)]
extern "C" fn soc_get_utc_ms() -> u64 {
    // No network time on this board: the device runs with a clock that does not know it.
    0
}

#[unsafe(no_mangle)]
extern "C" fn luat_heap_malloc(len: usize) -> *mut c_void {
    let start = with(|s| {
        let start = s.heap_used;
        let end = start.checked_add(len.next_multiple_of(8))?;
        (end <= HEAP).then(|| {
            s.heap_used = end;
            start
        })
    });
    match start {
        // Nothing is ever reused, so the block is the caller's for the rest of the run.
        Some(start) => HEAP_MEMORY
            .0
            .as_ptr()
            .cast_mut()
            .cast::<u8>()
            .wrapping_add(start)
            .cast(),
        None => ptr::null_mut(),
    }
}

#[unsafe(no_mangle)]
extern "C" fn luat_heap_free(_ptr: *mut c_void) {}

#[unsafe(no_mangle)]
extern "C" fn luat_pm_reboot() -> c_int {
    0
}

#[unsafe(no_mangle)]
extern "C" fn soc_debug_out(_string: *mut c_char, _size: u32) {}

#[unsafe(no_mangle)]
extern "C" fn luat_mobile_get_imei(_sim_id: c_int, buff: *mut c_char, buf_len: usize) -> c_int {
    const IMEI: &[u8] = b"866123456789012\0";
    let n = IMEI.len().min(buf_len);
    // SAFETY: `buff` is writable for `buf_len` bytes, per the C contract.
    unsafe { ptr::copy_nonoverlapping(IMEI.as_ptr(), buff.cast(), n) };
    n as c_int
}

#[unsafe(no_mangle)]
extern "C" fn luat_mcu_unique_id(t: *mut usize) -> *const c_char {
    static ID: [u8; 16] = *b"ec618-qemu-board";
    // SAFETY: a valid out-pointer, per the C contract.
    unsafe { *t = ID.len() };
    ID.as_ptr().cast()
}

#[unsafe(no_mangle)]
extern "C" fn luat_mobile_event_register_handler(callback: Option<MobileCallback>) -> c_int {
    with(|s| s.mobile = callback);
    0
}

// --- network adapter ---

#[unsafe(no_mangle)]
extern "C" fn net_lwip_init() {}

#[unsafe(no_mangle)]
extern "C" fn net_lwip_register_adapter(_adapter_index: u8) {
    with(|s| s.adapter = true);
}

#[unsafe(no_mangle)]
extern "C" fn network_register_set_default(_adapter_index: u8) {}

#[unsafe(no_mangle)]
extern "C" fn luat_socket_check_ready(_param: u32, _is_ipv6: *mut u8) {}

#[unsafe(no_mangle)]
extern "C" fn network_check_ready(_ctrl: *mut c_void, _adapter_index: u8) -> u8 {
    with(|s| u8::from(s.adapter && s.mobile_told))
}

#[unsafe(no_mangle)]
extern "C" fn network_alloc_ctrl(_adapter_index: u8) -> *mut c_void {
    with(|s| {
        if s.ctrl_busy {
            return ptr::null_mut();
        }
        s.ctrl_busy = true;
        ptr::from_ref(&CTRL).cast_mut().cast()
    })
}

#[unsafe(no_mangle)]
extern "C" fn network_release_ctrl(_ctrl: *mut c_void) {
    with(|s| {
        s.ctrl_busy = false;
        s.callback = None;
    });
}

#[unsafe(no_mangle)]
extern "C" fn network_init_ctrl(
    _ctrl: *mut c_void,
    _task_handle: *mut c_void,
    callback: Option<Callback>,
    param: *mut c_void,
) {
    with(|s| {
        s.callback = callback;
        s.param = param as usize;
        s.ctrl_state = NW_STATE_OFF_LINE;
        s.pending = Pending::default();
    });
}

#[unsafe(no_mangle)]
extern "C" fn network_set_base_mode(
    _ctrl: *mut c_void,
    _is_tcp: u8,
    _tcp_timeout_ms: u32,
    _keep_alive: u8,
    _keep_idle: u32,
    _keep_interval: u8,
    _keep_cnt: u8,
) {
}

#[unsafe(no_mangle)]
extern "C" fn network_connect(
    _ctrl: *mut c_void,
    _domain_name: *const c_char,
    _domain_name_len: u32,
    _remote_ip: *mut c_void,
    _remote_port: u16,
    _timeout_ms: u32,
) -> c_int {
    with(|s| {
        if s.ctrl_state == NW_STATE_ONLINE {
            // The SDK refuses a control block that still has a socket.
            return -1;
        }
        s.ctrl_state = NW_STATE_ONLINE;
        s.rx_announced = false;
        s.pending.connect = true;
        1
    })
}

#[unsafe(no_mangle)]
extern "C" fn network_tx(
    _ctrl: *mut c_void,
    data: *const u8,
    len: u32,
    _flags: c_int,
    _remote_ip: *mut c_void,
    _remote_port: u16,
    tx_len: *mut u32,
    _timeout_ms: u32,
) -> c_int {
    // SAFETY: `data` is readable for `len` bytes during the call, per the C contract.
    let bytes = unsafe { core::slice::from_raw_parts(data, len as usize) };
    let sent = with(|s| {
        if s.ctrl_state != NW_STATE_ONLINE {
            return false;
        }
        let Some(uart) = s.uart.as_mut() else {
            return false;
        };
        for &byte in bytes {
            while !uart.try_write(byte) {}
        }
        s.pending.tx = true;
        true
    });
    if !sent {
        return -1;
    }
    // SAFETY: a valid out-pointer, per the C contract.
    unsafe { *tx_len = len };
    1
}

#[unsafe(no_mangle)]
extern "C" fn network_rx(
    _ctrl: *mut c_void,
    data: *mut u8,
    len: u32,
    _flags: c_int,
    _remote_ip: *mut c_void,
    _remote_port: *mut u16,
    rx_len: *mut u32,
) -> c_int {
    // SAFETY: `data` is writable for `len` bytes during the call, per the C contract.
    let out = unsafe { core::slice::from_raw_parts_mut(data, len as usize) };
    let n = with(|s| {
        s.rx_announced = false;
        let mut n = 0;
        while n < out.len() {
            let byte = match s.lookahead.take() {
                Some(b) => Some(b),
                None => s.uart.as_mut().and_then(Uart0::try_read),
            };
            let Some(byte) = byte else { break };
            out[n] = byte;
            n += 1;
        }
        n
    });
    // SAFETY: a valid out-pointer, per the C contract.
    unsafe { *rx_len = n as u32 };
    0
}

#[unsafe(no_mangle)]
extern "C" fn network_close(_ctrl: *mut c_void, _timeout_ms: u32) -> c_int {
    with(|s| s.pending.close = true);
    1
}

#[unsafe(no_mangle)]
extern "C" fn network_force_close_socket(_ctrl: *mut c_void) {
    with(|s| s.ctrl_state = NW_STATE_OFF_LINE);
}

#[unsafe(no_mangle)]
extern "C" fn network_init_tls(_ctrl: *mut c_void, _verify_mode: c_int) -> c_int {
    0
}

#[unsafe(no_mangle)]
extern "C" fn network_set_server_cert(_ctrl: *mut c_void, _cert: *const u8, _len: usize) -> c_int {
    0
}

#[unsafe(no_mangle)]
extern "C" fn network_set_client_cert(
    _ctrl: *mut c_void,
    _cert: *const u8,
    _cert_len: usize,
    _key: *const u8,
    _key_len: usize,
    _pwd: *const u8,
    _pwd_len: usize,
) -> c_int {
    0
}

#[unsafe(no_mangle)]
extern "C" fn network_set_psk_info(
    _ctrl: *mut c_void,
    _psk: *const u8,
    _psk_len: usize,
    _identity: *const u8,
    _identity_len: usize,
) -> c_int {
    0
}

#[unsafe(no_mangle)]
extern "C" fn network_cert_verify_result(_ctrl: *mut c_void) -> c_int {
    0
}

#[unsafe(no_mangle)]
extern "C" fn hal_ec618_ctrl_state(_ctrl: *mut c_void) -> u8 {
    with(|s| s.ctrl_state)
}

#[unsafe(no_mangle)]
extern "C" fn hal_ec618_offer_psk_suites_only(_ctrl: *mut c_void) {}

// --- key-value store ---

/// The NUL-terminated key at `key`, if it fits a slot.
fn key_bytes<'a>(key: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: `key` is a NUL-terminated string, per the C contract (`hal-ec618` builds it
    // in a buffer of FDB_KV_NAME_MAX + 1 bytes).
    let key = unsafe { core::ffi::CStr::from_ptr(key) }.to_bytes();
    (key.len() < KV_KEY).then_some(key)
}

#[unsafe(no_mangle)]
extern "C" fn luat_kv_init() -> c_int {
    with(|s| s.kv_ready = true);
    FDB_NO_ERR
}

#[unsafe(no_mangle)]
extern "C" fn hal_ec618_kvdb() -> *mut c_void {
    with(|s| {
        if s.kv_ready {
            ptr::from_ref(&SDK).cast_mut().cast()
        } else {
            ptr::null_mut()
        }
    })
}

#[unsafe(no_mangle)]
extern "C" fn luat_kv_set(key: *const c_char, data: *mut c_void, len: usize) -> c_int {
    let Some(key) = key_bytes(key) else {
        return FDB_KV_NAME_ERR;
    };
    if len > KV_VALUE {
        return FDB_SAVED_FULL;
    }
    // SAFETY: `data` is readable for `len` bytes, per the C contract.
    let value = unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len) };
    with(|s| {
        let slot =
            s.kv.iter()
                .position(|e| e.0 != 0 && &e.1[..e.0] == key)
                .or_else(|| s.kv.iter().position(|e| e.0 == 0));
        let Some(i) = slot else {
            return FDB_SAVED_FULL;
        };
        let entry = &mut s.kv[i];
        entry.0 = key.len();
        entry.1[..key.len()].copy_from_slice(key);
        entry.2 = len;
        entry.3[..len].copy_from_slice(value);
        FDB_NO_ERR
    })
}

#[unsafe(no_mangle)]
extern "C" fn luat_kv_del(key: *const c_char) -> c_int {
    let Some(key) = key_bytes(key) else {
        return FDB_KV_NAME_ERR;
    };
    with(
        |s| match s.kv.iter_mut().find(|e| e.0 != 0 && &e.1[..e.0] == key) {
            Some(entry) => {
                entry.0 = 0;
                FDB_NO_ERR
            }
            None => FDB_KV_NAME_ERR,
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn fdb_kv_get_blob(_db: *mut c_void, key: *const c_char, blob: *mut FdbBlob) -> usize {
    let Some(key) = key_bytes(key) else {
        return 0;
    };
    // SAFETY: a valid `fdb_blob` whose `buf` is writable for `size` bytes, per the C contract.
    let blob = unsafe { &mut *blob };
    // SAFETY: as above.
    let out = unsafe { core::slice::from_raw_parts_mut(blob.buf.cast::<u8>(), blob.size) };
    with(|s| {
        let Some(entry) = s.kv.iter().find(|e| e.0 != 0 && &e.1[..e.0] == key) else {
            // FlashDB leaves the blob's length alone when the key is absent.
            return 0;
        };
        let n = entry.2.min(out.len());
        out[..n].copy_from_slice(&entry.3[..n]);
        blob.saved_len = entry.2;
        n
    })
}

// --- FOTA ---

#[unsafe(no_mangle)]
extern "C" fn luat_fota_init() -> *mut c_void {
    with(|s| s.fota_written = 0);
    ptr::from_ref(&SDK).cast_mut().cast()
}

#[unsafe(no_mangle)]
extern "C" fn luat_fota_write(_context: *mut c_void, _data: *mut c_void, len: c_int) -> c_int {
    with(|s| s.fota_written += usize::try_from(len).unwrap_or(0));
    0
}

#[unsafe(no_mangle)]
extern "C" fn luat_fota_done(_context: *mut c_void) -> c_int {
    0
}
