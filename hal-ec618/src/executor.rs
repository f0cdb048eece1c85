//! A minimal executor for one RTOS task: poll the future, then sleep on an RTOS semaphore until
//! a waker releases it or the earliest timer is due.
//!
//! Wakers may be called from any task (lwIP's tcpip thread for socket events, the SNTP task,
//! the timer service task): `luat_rtos_semaphore_release` is safe there, and also in an ISR.
//!
//! The semaphore is binary: wakes that arrive while it is already released merge into one
//! (the SDK's release then fails, which is ignored), and a poll follows every wait. Nothing
//! relies on a wake being counted, only on a wake after the last poll not being lost.

use core::future::Future;
use core::pin::pin;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use crate::error::ExecutorError;
use crate::{sys, time};

/// The semaphore the running executor sleeps on. Created once and never deleted, so a waker
/// that outlives `block_on` still points at a live semaphore.
static SEMAPHORE: AtomicPtr<core::ffi::c_void> = AtomicPtr::new(ptr::null_mut());
static RUNNING: AtomicBool = AtomicBool::new(false);

fn semaphore() -> Result<sys::luat_rtos_semaphore_t, ExecutorError> {
    let existing = SEMAPHORE.load(Ordering::Acquire);
    if !existing.is_null() {
        return Ok(existing);
    }
    let mut handle: sys::luat_rtos_semaphore_t = ptr::null_mut();
    // The SDK reads the initial count its own way: 0 makes a binary semaphore that is already
    // *given* (its header says nothing of it; `luat_rtos_semaphore_create` calls
    // `xSemaphoreGive` when the count is 0), and 1 makes an empty one. `block_on` wants it
    // empty, so that its first wait sleeps until a waker releases it; with 0 the first take
    // would return at once and cost one spurious poll (harmless, as every wait here is
    // followed by a poll that re-checks, but not what is meant).
    // SAFETY: `handle` is a valid out-pointer.
    let code = unsafe { sys::luat_rtos_semaphore_create(&mut handle, 1) };
    if code != 0 || handle.is_null() {
        return Err(ExecutorError::Semaphore { code });
    }
    // Only the task holding RUNNING gets here, so there is no race to install it.
    SEMAPHORE.store(handle, Ordering::Release);
    Ok(handle)
}

fn clone(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}

fn wake(data: *const ()) {
    // SAFETY: `data` is the executor's semaphore handle, which is never deleted; release is
    // callable from any task and from an ISR.
    unsafe {
        sys::luat_rtos_semaphore_release(data as sys::luat_rtos_semaphore_t);
    }
}

fn drop_waker(_: *const ()) {}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop_waker);

struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

/// Runs `fut` to completion on the calling RTOS task, which sleeps between polls.
///
/// One `block_on` may run at a time in the whole firmware ([`ExecutorError::Busy`] otherwise):
/// run all of the device's futures inside it (with `embassy_futures::join`/`select` where
/// several are needed). It also fires the timers of [`crate::time::sleep_until`].
///
/// Pass the future pinned where it is built, `block_on(core::pin::pin!(run()))`: a device's
/// future is several kilobytes (5 KB for an Aliyun device with the default features), and
/// given by value it is moved into this function's frame, so the task's stack holds it
/// twice. `Pin<&mut F>` is a future too, and only the pointer moves.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, ExecutorError> {
    if RUNNING
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(ExecutorError::Busy);
    }
    let _running = Running;
    let sem = semaphore()?;
    // SAFETY: the vtable functions only use `data` as the semaphore handle, which stays valid
    // for the life of the program.
    let waker = unsafe { Waker::from_raw(RawWaker::new(sem as *const (), &VTABLE)) };
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Ok(out);
        }
        let timeout = match time::wake_expired() {
            Some(ms) => u32::try_from(ms).unwrap_or(sys::LUAT_WAIT_FOREVER - 1),
            None => sys::LUAT_WAIT_FOREVER,
        };
        // SAFETY: `sem` is a live semaphore handle. A timeout (-1) only means "poll again".
        unsafe {
            sys::luat_rtos_semaphore_take(sem, timeout);
        }
        time::wake_expired();
    }
}
