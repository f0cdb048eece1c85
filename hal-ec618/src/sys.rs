//! Every C item of the luatos-soc-2022 SDK this crate uses, in one place.
//!
//! Signatures follow the SDK headers at commit `84dc723e` (see the crate README). Notes that
//! matter for the binding:
//!
//! - C enums in these signatures are one byte on arm-none-eabi (AAPCS short enums), so they are
//!   declared as `u8`.
//! - `network_ctrl_t`, `luat_fota_img_proc_ctx_ptr` and `struct fdb_kvdb` are opaque: their
//!   layout depends on how the SDK's mbedTLS, lwIP and FlashDB were configured. The one field of
//!   `network_ctrl_t` this crate needs (`state`) is read through `hal_ec618_ctrl_state`, a
//!   one-line C accessor shipped in `c/hal_ec618_shim.c` and compiled inside the SDK build.
//! - `size_t` is `usize`; `int` is 32 bits on the target (`c_int`).
//! - No function here is called from an interrupt.

// The items keep the SDK's C names and are documented by its headers (named in each group
// below); only what differs from the header, or matters for safety, is noted here.
#![allow(non_camel_case_types, clippy::upper_case_acronyms)]
// The whole SDK surface is declared here, including items only the panic handler or the
// fake SDK uses on some builds.
#![allow(dead_code)]

use core::ffi::{c_char, c_int, c_void};

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// `network_ctrl_t`: one adapter socket. Opaque.
#[repr(C)]
pub struct network_ctrl_t {
    _opaque: [u8; 0],
    _pinned: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// `HANDLE`.
pub type HANDLE = *mut c_void;

/// `CBFuncEx_t`: `pData` is an `OS_EVENT*` for network callbacks, `pParam` the user pointer.
pub type CBFuncEx_t =
    Option<unsafe extern "C" fn(p_data: *mut c_void, p_param: *mut c_void) -> i32>;

/// `luat_mobile_event_callback_t` (`event`, `index` and `status` are one-byte enums).
pub type luat_mobile_event_callback_t =
    Option<unsafe extern "C" fn(event: u8, index: u8, status: u8)>;

/// `luat_fota_img_proc_ctx_ptr`.
pub type luat_fota_img_proc_ctx_ptr = *mut c_void;

/// `luat_rtos_semaphore_t`, a FreeRTOS handle (pointer-sized).
pub type luat_rtos_semaphore_t = *mut c_void;

/// `OS_EVENT` (identical in layout to `luat_event_t`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OS_EVENT {
    pub id: u32,
    pub param1: u32,
    pub param2: u32,
    pub param3: u32,
}
const _: () = assert!(core::mem::size_of::<OS_EVENT>() == 16);
const _: () = assert!(core::mem::align_of::<OS_EVENT>() == 4);

/// `luat_ip_addr_t` = lwIP 2.0.3 dual-stack `ip_addr_t`. IPv4 is in network byte order in
/// `u_addr[0]`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct luat_ip_addr_t {
    pub u_addr: [u32; 4],
    pub type_: u8,
}
const _: () = assert!(core::mem::size_of::<luat_ip_addr_t>() == 20);
const _: () = assert!(core::mem::align_of::<luat_ip_addr_t>() == 4);

/// `sntp_result_t` of `thirdparty/sntp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct sntp_result_t {
    pub succ: u8,
    pub sec: u32,
    pub us: u32,
}
const _: () = assert!(core::mem::size_of::<sntp_result_t>() == 12);

/// `struct fdb_blob` of FlashDB 1.1.0 (`fdb_def.h`): the buffer to read into and what was
/// found in flash.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fdb_blob {
    pub buf: *mut c_void,
    pub size: usize,
    pub saved: fdb_blob_saved,
}

/// The `saved` part of [`fdb_blob`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct fdb_blob_saved {
    pub meta_addr: u32,
    pub addr: u32,
    pub len: usize,
}
#[cfg(target_pointer_width = "32")]
const _: () = assert!(core::mem::size_of::<fdb_blob>() == 20);

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

/// mbedTLS verify modes for `network_init_tls`.
pub const MBEDTLS_SSL_VERIFY_NONE: c_int = 0;
pub const MBEDTLS_SSL_VERIFY_REQUIRED: c_int = 2;

/// `LUAT_MOBILE_EVENT_E` values used here, and their statuses.
pub const LUAT_MOBILE_EVENT_NETIF: u8 = 5;
pub const LUAT_MOBILE_EVENT_TIME_SYNC: u8 = 6;
pub const LUAT_MOBILE_NETIF_LINK_ON: u8 = 0;

/// FlashDB `fdb_err_t` values returned by `luat_kv_*`.
pub const FDB_NO_ERR: c_int = 0;
pub const FDB_KV_NAME_ERR: c_int = 5;
pub const FDB_SAVED_FULL: c_int = 7;

/// `LUAT_WAIT_FOREVER`.
pub const LUAT_WAIT_FOREVER: u32 = 0xFFFF_FFFF;

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
    pub fn network_set_client_cert(
        ctrl: *mut network_ctrl_t,
        cert: *const u8,
        cert_len: usize,
        key: *const u8,
        key_len: usize,
        pwd: *const u8,
        pwd_len: usize,
    ) -> c_int;
    pub fn network_cert_verify_result(ctrl: *mut network_ctrl_t) -> c_int;

    /// `ctrl->state`, from `c/hal_ec618_shim.c` (not part of the SDK).
    pub fn hal_ec618_ctrl_state(ctrl: *mut network_ctrl_t) -> u8;

    // --- cellular state and identity (luat_mobile.h, luat_mcu.h) ---
    pub fn luat_mobile_event_register_handler(callback_fun: luat_mobile_event_callback_t) -> c_int;
    pub fn luat_mobile_get_imei(sim_id: c_int, buff: *mut c_char, buf_len: usize) -> c_int;
    pub fn luat_mcu_unique_id(t: *mut usize) -> *const c_char;

    // --- time (luat_mcu.h, common_api.h) ---
    pub fn luat_mcu_tick64_ms() -> u64;
    pub fn soc_get_utc_ms() -> u64;

    // --- RTOS and memory (luat_rtos.h, luat_mem.h, luat_pm.h, common_api.h) ---
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
    pub static luat_kvdb: *mut fdb_kvdb;

    // --- delta FOTA (luat_fota.h) ---
    pub fn luat_fota_init() -> luat_fota_img_proc_ctx_ptr;
    pub fn luat_fota_write(
        context: luat_fota_img_proc_ctx_ptr,
        data: *mut c_void,
        len: c_int,
    ) -> c_int;
    pub fn luat_fota_done(context: luat_fota_img_proc_ctx_ptr) -> c_int;
}

#[cfg(feature = "sntp")]
unsafe extern "C" {
    /// `BOOL SntpInit(CHAR* serverAddr, UINT16 serverPort, BOOL autoSync, UINT8 cid,
    /// CBFuncEx_t callback, void *user_param);` (`BOOL` taken as one byte).
    pub fn SntpInit(
        server_addr: *const c_char,
        server_port: u16,
        auto_sync: u8,
        cid: u8,
        callback: CBFuncEx_t,
        user_param: *mut c_void,
    ) -> u8;
}
