//! The cellular data link: one-time adapter setup, the mobile event handler, and waiting until
//! IP is up.

use core::future::poll_fn;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::Poll;

use embassy_futures::select::{Either, select};

use crate::error::NetworkError;
use crate::waker::WakerSlot;
use crate::{sys, time};

static INIT: AtomicBool = AtomicBool::new(false);
static LINK_EVENT: AtomicBool = AtomicBool::new(false);
static LINK_WAKER: WakerSlot = WakerSlot::new();

/// How often [`wait_ready`] asks the adapter again, in case the mobile events go to a C handler
/// that does not forward them.
const POLL_MS: u64 = 500;

/// Sets up the network adapter once, as the SDK's examples do: registers
/// [`on_mobile_event`] as the mobile event handler, then `net_lwip_init`,
/// `net_lwip_register_adapter(1)` and `network_register_set_default(1)`.
///
/// Call it from the device task before the first connect. Later calls do nothing. If the
/// firmware's C code already registers its own mobile handler (the SDK keeps only one), call
/// [`init_adapter`] instead and forward the events to [`on_mobile_event`].
///
/// `net_lwip_init` must run once in the life of the firmware: it has no guard of its own,
/// and a second call initialises the adapter's socket lists again, losing what open sockets
/// had queued (and the SDK's own users of the adapter, such as its HTTP client, with them).
/// So the firmware's C code must not call `net_lwip_init` or `net_lwip_register_adapter`
/// once this crate has; if the C code sets the adapter up itself, it does so before the
/// device task starts, and the task calls [`mark_adapter_initialised`] instead of this.
pub fn init() -> Result<(), NetworkError> {
    if INIT.load(Ordering::Acquire) {
        return Ok(());
    }
    // SAFETY: the handler is a plain function that lives forever.
    let code = unsafe { sys::luat_mobile_event_register_handler(Some(on_mobile_event)) };
    if code != 0 {
        return Err(NetworkError::RegisterHandler { code });
    }
    init_adapter();
    Ok(())
}

/// The adapter half of [`init`], without registering a mobile event handler. Runs once;
/// later calls (and calls after [`mark_adapter_initialised`]) do nothing.
pub fn init_adapter() {
    if INIT.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: one-time SDK initialisation, in the order the SDK's examples use; guarded by
    // INIT so it runs once.
    unsafe {
        sys::net_lwip_init();
        sys::net_lwip_register_adapter(sys::NW_ADAPTER_INDEX_LWIP_GPRS);
        sys::network_register_set_default(sys::NW_ADAPTER_INDEX_LWIP_GPRS);
    }
}

/// Records that the firmware's C code has already set the adapter up (`net_lwip_init`,
/// `net_lwip_register_adapter(1)`, `network_register_set_default(1)`): [`init`] and
/// [`init_adapter`] then do nothing, so those calls never run a second time. The C code must
/// then also register the mobile event handler, forwarding every event to
/// [`on_mobile_event`] (or at least calling `luat_socket_check_ready` on "link on").
pub fn mark_adapter_initialised() {
    INIT.store(true, Ordering::Release);
}

/// The mobile event handler (`luat_mobile_event_callback_t`). On "IP link on" it calls
/// `luat_socket_check_ready`, without which the adapter never becomes ready; on the network
/// time event it marks the wall-clock time as known. Then it wakes [`wait_ready`].
///
/// Firmware whose own C handler is registered must call this from it with the same arguments.
#[unsafe(no_mangle)]
pub extern "C" fn hal_ec618_on_mobile_event(
    event: sys::LUAT_MOBILE_EVENT_E,
    index: u8,
    status: u8,
) {
    match (event, status) {
        (sys::LUAT_MOBILE_EVENT_NETIF, sys::LUAT_MOBILE_NETIF_LINK_ON) => {
            // SAFETY: called with the event's index, as the SDK examples do; `is_ipv6` may be
            // NULL.
            unsafe { sys::luat_socket_check_ready(u32::from(index), core::ptr::null_mut()) };
        }
        (sys::LUAT_MOBILE_EVENT_TIME_SYNC, 0) => time::network_time_synced(),
        _ => {}
    }
    LINK_EVENT.store(true, Ordering::Release);
    LINK_WAKER.wake();
}

/// The mobile event handler, for Rust callers (same as [`hal_ec618_on_mobile_event`]).
pub use hal_ec618_on_mobile_event as on_mobile_event;

/// Whether the cellular IP link is up (`network_check_ready` on the cellular adapter).
pub fn is_ready() -> bool {
    // SAFETY: a NULL ctrl is allowed: the adapter index is used instead.
    unsafe { sys::network_check_ready(core::ptr::null_mut(), sys::NW_ADAPTER_INDEX_LWIP_GPRS) != 0 }
}

/// Waits until the IP link is up, or fails with [`NetworkError::NotReady`] after `timeout_ms`.
pub async fn wait_ready(timeout_ms: u64) -> Result<(), NetworkError> {
    let start = time::now_ms();
    let deadline = start.saturating_add(timeout_ms);
    loop {
        if is_ready() {
            return Ok(());
        }
        let now = time::now_ms();
        if now >= deadline {
            return Err(NetworkError::NotReady {
                waited_ms: now - start,
            });
        }
        let event = poll_fn(|cx| {
            LINK_WAKER.register(cx.waker());
            if LINK_EVENT.swap(false, Ordering::AcqRel) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        let next = deadline.min(now.saturating_add(POLL_MS));
        match select(event, time::sleep_until(next)).await {
            Either::First(()) | Either::Second(()) => {}
        }
    }
}
