//! Every C item of the luatos-soc-2022 SDK this crate uses, in one place.
//!
//! Signatures follow the SDK headers at commit `84dc723e` (the repository's last state). Notes
//! that matter for the binding:
//!
//! - The SDK is built with small enums (every object is tagged `Tag_ABI_enum_size: small`):
//!   an enum takes the smallest integer type that holds its values. Each enum type that
//!   crosses the boundary has an alias here with its real size: [`LUAT_MOBILE_EVENT_E`] is one
//!   byte, [`LUAT_RTOS_WAIT_E`] four.
//! - `network_ctrl_t` and `struct fdb_kvdb` are opaque here. The few things this crate needs
//!   from inside them are read through `c/hal_ec618_shim.c`, which the firmware compiles with
//!   the SDK (its prototypes are in `c/hal_ec618_shim.h`).
//! - `size_t` is `usize`, `int` is `c_int`, `uint32_t` is `u32`: the same widths on the
//!   target, and the binding check holds each declaration to the C type it names.
//! - No function here is called from an interrupt.
//!
//! `cargo xtask ec618-check` reads this file and compiles, with `arm-none-eabi-gcc` for the
//! Cortex-M3 and against the vendor's headers, a static assertion for every item: each
//! function's C prototype is the function type declared here, each alias names a compatible C
//! type, each struct has the size, alignment and field offsets asserted at the bottom of this
//! file, and each constant has its C value. Keep items in the plain forms used below (one
//! item per declaration, literal constants): the check refuses what it cannot read.

// The items keep the SDK's C names (fields included) and are documented by its headers;
// only what differs from the header, or matters for safety, is noted here.
#![allow(non_camel_case_types, non_snake_case, clippy::upper_case_acronyms)]
// The whole SDK surface is declared here, including items only the panic handler or the
// fake SDK uses on some builds.
#![allow(dead_code)]

use core::ffi::{c_char, c_int, c_uint, c_void};

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// `LUAT_MOBILE_EVENT_E` (`luat_mobile.h`): values 0 to 0xFF, so one byte.
pub type LUAT_MOBILE_EVENT_E = u8;

/// `LUAT_RTOS_WAIT_E` (`luat_rtos.h`): it holds 0xFFFFFFFF, so four bytes, and GCC gives it
/// `unsigned int` (not `uint32_t`, which is `unsigned long` on arm-none-eabi).
pub type LUAT_RTOS_WAIT_E = c_uint;

/// `BOOL` (`commontypedef.h`): `unsigned char`.
pub type BOOL = u8;

/// `network_ctrl_t`: one adapter socket. Opaque.
#[repr(C)]
pub struct network_ctrl_t {
    _opaque: [u8; 0],
    _pinned: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// `HANDLE`.
pub type HANDLE = *mut c_void;

/// `CBFuncEx_t`: `pData` is an `OS_EVENT*` for network callbacks, `pParam` the user pointer.
pub type CBFuncEx_t = Option<unsafe extern "C" fn(pData: *mut c_void, pParam: *mut c_void) -> i32>;

/// `luat_mobile_event_callback_t`.
pub type luat_mobile_event_callback_t =
    Option<unsafe extern "C" fn(event: LUAT_MOBILE_EVENT_E, index: u8, status: u8)>;

/// `luat_fota_img_proc_ctx_ptr`.
pub type luat_fota_img_proc_ctx_ptr = *mut c_void;

/// `luat_rtos_semaphore_t`, a FreeRTOS handle.
pub type luat_rtos_semaphore_t = *mut c_void;

/// `OS_EVENT` (`bsp_common.h`; the same layout as `luat_event_t`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OS_EVENT {
    pub ID: u32,
    pub Param1: u32,
    pub Param2: u32,
    pub Param3: u32,
}

/// `luat_ip_addr_t`, which the adapter defines as lwIP 2.0.3's dual-stack `ip_addr_t`. Its
/// `u_addr` is a union of an IPv6 and an IPv4 address; IPv4 is in network byte order in
/// `u_addr[0]`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct luat_ip_addr_t {
    pub u_addr: [u32; 4],
    pub r#type: u8,
}

/// `sntp_result_t` of the optional `thirdparty/sntp` component.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct sntp_result_t {
    pub succ: u8,
    pub sec: u32,
    pub us: u32,
}

/// `struct fdb_blob` of FlashDB 1.1.0 (`fdb_def.h`): the buffer to read into and what was
/// found in flash.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fdb_blob {
    pub buf: *mut c_void,
    pub size: usize,
    pub saved: fdb_blob_saved,
}

/// The type of `struct fdb_blob`'s `saved` member (an unnamed struct in C).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct fdb_blob_saved {
    pub meta_addr: u32,
    pub addr: u32,
    pub len: usize,
}

/// `struct fdb_kvdb`: opaque.
#[repr(C)]
pub struct fdb_kvdb {
    _opaque: [u8; 0],
    _pinned: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/// `NW_ADAPTER_INDEX_LWIP_GPRS`: the cellular data connection.
pub const NW_ADAPTER_INDEX_LWIP_GPRS: u8 = 1;

/// `LWIP_NUM_SOCKETS`: the adapter's control blocks, shared by all users of the adapter.
pub const LWIP_NUM_SOCKETS: usize = 8;

/// Results of the high-level adapter calls, delivered to the ctrl callback.
pub const EV_NW_RESULT_LINK: u32 = 0xF200_0010;
pub const EV_NW_RESULT_CONNECT: u32 = 0xF200_0011;
pub const EV_NW_RESULT_TX: u32 = 0xF200_0012;
pub const EV_NW_RESULT_CLOSE: u32 = 0xF200_0013;
pub const EV_NW_RESULT_EVENT: u32 = 0xF200_0014;

/// `ctrl->state` values.
pub const NW_STATE_LINK_OFF: u8 = 0;
pub const NW_STATE_OFF_LINE: u8 = 1;
pub const NW_STATE_WAIT_DNS: u8 = 2;
pub const NW_STATE_CONNECTING: u8 = 3;
pub const NW_STATE_SHAKEHAND: u8 = 4;
pub const NW_STATE_ONLINE: u8 = 5;

/// Error codes of `bsp_common.h`, which the adapter returns negated.
pub const ERROR_PERMISSION_DENIED: c_int = 2;
pub const ERROR_OPERATION_FAILED: c_int = 6;

/// mbedTLS verify modes for `network_init_tls`.
pub const MBEDTLS_SSL_VERIFY_NONE: c_int = 0;
pub const MBEDTLS_SSL_VERIFY_REQUIRED: c_int = 2;

/// Longest pre-shared key the SDK's mbedTLS accepts, in bytes.
pub const MBEDTLS_PSK_MAX_LEN: usize = 32;

/// lwIP's `DNS_MAX_NAME_LENGTH`: the size of the buffer the SNTP client copies its server
/// name into, NUL included.
pub const DNS_MAX_NAME_LENGTH: usize = 256;

/// `LUAT_MOBILE_EVENT_E` values used here, and their statuses.
pub const LUAT_MOBILE_EVENT_NETIF: LUAT_MOBILE_EVENT_E = 5;
pub const LUAT_MOBILE_EVENT_TIME_SYNC: LUAT_MOBILE_EVENT_E = 6;
pub const LUAT_MOBILE_NETIF_LINK_ON: u8 = 0;

/// FlashDB `fdb_err_t` values returned by `luat_kv_*`.
pub const FDB_NO_ERR: c_int = 0;
pub const FDB_KV_NAME_ERR: c_int = 5;
pub const FDB_SAVED_FULL: c_int = 7;
pub const FDB_INIT_FAILED: c_int = 8;

/// `FDB_KV_NAME_MAX`: the longest key, in bytes.
pub const FDB_KV_NAME_MAX: usize = 64;

/// `LUAT_WAIT_FOREVER`.
pub const LUAT_WAIT_FOREVER: LUAT_RTOS_WAIT_E = 0xFFFF_FFFF;

/// `SNTP_DEFAULT_PORT` of `thirdparty/sntp`.
pub const SNTP_DEFAULT_PORT: u16 = 123;

// ---------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------

unsafe extern "C" {
    // --- network adapter (luatos_lwip_socket) ---
    pub fn net_lwip_init();
    pub fn net_lwip_register_adapter(adapter_index: u8);
    pub fn network_register_set_default(adapter_index: u8);
    pub fn luat_socket_check_ready(param: u32, is_ipv6: *mut u8);
    pub fn network_check_ready(ctrl: *mut network_ctrl_t, adapter_index: u8) -> u8;
    pub fn network_alloc_ctrl(adapter_index: u8) -> *mut network_ctrl_t;
    pub fn network_release_ctrl(ctrl: *mut network_ctrl_t);
    pub fn network_init_ctrl(
        ctrl: *mut network_ctrl_t,
        task_handle: HANDLE,
        callback: CBFuncEx_t,
        param: *mut c_void,
    );
    pub fn network_set_base_mode(
        ctrl: *mut network_ctrl_t,
        is_tcp: u8,
        tcp_timeout_ms: u32,
        keep_alive: u8,
        keep_idle: u32,
        keep_interval: u8,
        keep_cnt: u8,
    );
    pub fn network_connect(
        ctrl: *mut network_ctrl_t,
        domain_name: *const c_char,
        domain_name_len: u32,
        remote_ip: *mut luat_ip_addr_t,
        remote_port: u16,
        timeout_ms: u32,
    ) -> c_int;
    pub fn network_tx(
        ctrl: *mut network_ctrl_t,
        data: *const u8,
        len: u32,
        flags: c_int,
        remote_ip: *mut luat_ip_addr_t,
        remote_port: u16,
        tx_len: *mut u32,
        timeout_ms: u32,
    ) -> c_int;
    pub fn network_rx(
        ctrl: *mut network_ctrl_t,
        data: *mut u8,
        len: u32,
        flags: c_int,
        remote_ip: *mut luat_ip_addr_t,
        remote_port: *mut u16,
        rx_len: *mut u32,
    ) -> c_int;
    pub fn network_close(ctrl: *mut network_ctrl_t, timeout_ms: u32) -> c_int;
    pub fn network_force_close_socket(ctrl: *mut network_ctrl_t);
    pub fn network_init_tls(ctrl: *mut network_ctrl_t, verify_mode: c_int) -> c_int;
    pub fn network_set_server_cert(
        ctrl: *mut network_ctrl_t,
        cert: *const u8,
        cert_len: usize,
    ) -> c_int;
    /// Parses the certificate and key into two blocks it allocates and hands to the TLS
    /// configuration, which never frees them: each successful call leaks them for good.
    pub fn network_set_client_cert(
        ctrl: *mut network_ctrl_t,
        cert: *const u8,
        cert_len: usize,
        key: *const u8,
        key_len: usize,
        pwd: *const u8,
        pwd_len: usize,
    ) -> c_int;
    /// Copies the key and identity into the TLS configuration (freed with it).
    pub fn network_set_psk_info(
        ctrl: *mut network_ctrl_t,
        psk: *const u8,
        psk_len: usize,
        psk_identity: *const u8,
        psk_identity_len: usize,
    ) -> c_int;
    pub fn network_cert_verify_result(ctrl: *mut network_ctrl_t) -> c_int;

    // --- c/hal_ec618_shim.c (this crate's, compiled by the SDK build) ---
    /// `ctrl->state`.
    pub fn hal_ec618_ctrl_state(ctrl: *mut network_ctrl_t) -> u8;
    /// The SDK's key-value database (`luat_kvdb`, which no SDK header declares); NULL before
    /// the first `luat_kv_init`.
    pub fn hal_ec618_kvdb() -> *mut fdb_kvdb;
    /// Restricts the ctrl's TLS configuration to pre-shared-key cipher suites.
    pub fn hal_ec618_offer_psk_suites_only(ctrl: *mut network_ctrl_t);

    // --- cellular state and identity (luat_mobile.h, luat_mcu.h) ---
    pub fn luat_mobile_event_register_handler(callback_fun: luat_mobile_event_callback_t) -> c_int;
    pub fn luat_mobile_get_imei(sim_id: c_int, buff: *mut c_char, buf_len: usize) -> c_int;
    pub fn luat_mcu_unique_id(t: *mut usize) -> *const c_char;

    // --- time (luat_mcu.h, common_api.h) ---
    pub fn luat_mcu_tick64_ms() -> u64;
    pub fn soc_get_utc_ms() -> u64;

    // --- RTOS and memory (luat_rtos.h, luat_mem.h, luat_pm.h, common_api.h) ---
    /// `init_count` 0 makes a binary semaphore that is already given, 1 an empty one; more
    /// makes a counting semaphore that starts full (`interface/src/luat_rtos_ec618.c`).
    pub fn luat_rtos_semaphore_create(
        semaphore_handle: *mut luat_rtos_semaphore_t,
        init_count: u32,
    ) -> c_int;
    pub fn luat_rtos_semaphore_take(semaphore_handle: luat_rtos_semaphore_t, timeout: u32)
    -> c_int;
    pub fn luat_rtos_semaphore_release(semaphore_handle: luat_rtos_semaphore_t) -> c_int;
    pub fn luat_heap_malloc(len: usize) -> *mut c_void;
    pub fn luat_heap_free(ptr: *mut c_void);
    pub fn luat_pm_reboot() -> c_int;
    pub fn soc_debug_out(string: *mut c_char, size: u32);

    // --- key-value store (luat_kv.h, FlashDB) ---
    pub fn luat_kv_init() -> c_int;
    pub fn luat_kv_set(key: *const c_char, data: *mut c_void, len: usize) -> c_int;
    pub fn luat_kv_del(key: *const c_char) -> c_int;
    pub fn fdb_kv_get_blob(db: *mut fdb_kvdb, key: *const c_char, blob: *mut fdb_blob) -> usize;

    // --- delta FOTA (luat_fota.h) ---
    pub fn luat_fota_init() -> luat_fota_img_proc_ctx_ptr;
    pub fn luat_fota_write(
        context: luat_fota_img_proc_ctx_ptr,
        data: *mut c_void,
        len: c_int,
    ) -> c_int;
    pub fn luat_fota_done(context: luat_fota_img_proc_ctx_ptr) -> c_int;
}

#[cfg(any(feature = "sntp", not(target_os = "none")))]
unsafe extern "C" {
    /// `thirdparty/sntp/sntp.h`. Copies `serverAddr` (at most `DNS_MAX_NAME_LENGTH - 1`
    /// bytes are safe) and starts one exchange in its own task; FALSE while one is running.
    pub fn SntpInit(
        serverAddr: *mut c_char,
        serverPort: u16,
        autoSync: BOOL,
        cid: u8,
        callback: CBFuncEx_t,
        user_param: *mut c_void,
    ) -> BOOL;
}

// ---------------------------------------------------------------------------------------------
// Layouts on the target (the binding check asserts the same numbers in C)
// ---------------------------------------------------------------------------------------------

#[cfg(target_pointer_width = "32")]
const _: () = {
    use core::mem::{align_of, offset_of, size_of};

    assert!(size_of::<OS_EVENT>() == 16);
    assert!(align_of::<OS_EVENT>() == 4);
    assert!(offset_of!(OS_EVENT, ID) == 0);
    assert!(offset_of!(OS_EVENT, Param1) == 4);
    assert!(offset_of!(OS_EVENT, Param2) == 8);
    assert!(offset_of!(OS_EVENT, Param3) == 12);

    assert!(size_of::<luat_ip_addr_t>() == 20);
    assert!(align_of::<luat_ip_addr_t>() == 4);
    assert!(offset_of!(luat_ip_addr_t, u_addr) == 0);
    assert!(offset_of!(luat_ip_addr_t, r#type) == 16);

    assert!(size_of::<sntp_result_t>() == 12);
    assert!(align_of::<sntp_result_t>() == 4);
    assert!(offset_of!(sntp_result_t, succ) == 0);
    assert!(offset_of!(sntp_result_t, sec) == 4);
    assert!(offset_of!(sntp_result_t, us) == 8);

    assert!(size_of::<fdb_blob>() == 20);
    assert!(align_of::<fdb_blob>() == 4);
    assert!(offset_of!(fdb_blob, buf) == 0);
    assert!(offset_of!(fdb_blob, size) == 4);
    assert!(offset_of!(fdb_blob, saved) == 8);

    assert!(size_of::<fdb_blob_saved>() == 12);
    assert!(align_of::<fdb_blob_saved>() == 4);
    assert!(offset_of!(fdb_blob_saved, meta_addr) == 0);
    assert!(offset_of!(fdb_blob_saved, addr) == 4);
    assert!(offset_of!(fdb_blob_saved, len) == 8);
};
