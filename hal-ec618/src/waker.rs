//! A waker slot that a C callback, running in another RTOS task, may fill and fire.
//!
//! The executor side registers the current waker before checking for an event; the C side
//! records the event and then calls [`WakerSlot::wake`]. Both sides only use atomics, so a
//! callback in lwIP's thread never blocks on the task that awaits it.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU8, Ordering};
use core::task::Waker;

const IDLE: u8 = 0;
const REGISTERING: u8 = 1;
const WAKING: u8 = 2;

/// One stored waker, registered by one awaiting future and woken from any context that may
/// call RTOS functions.
pub(crate) struct WakerSlot {
    state: AtomicU8,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the waker cell is only touched by the side that moved `state` away from IDLE
// (REGISTERING for `register`, WAKING for `take`), so there is never more than one accessor.
unsafe impl Sync for WakerSlot {}

impl WakerSlot {
    pub(crate) const fn new() -> Self {
        WakerSlot {
            state: AtomicU8::new(IDLE),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker`, replacing the previous one. If a wake raced with the store, `waker` is
    /// woken at once so the event is not lost.
    pub(crate) fn register(&self, waker: &Waker) {
        match self
            .state
            .compare_exchange(IDLE, REGISTERING, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => {
                // SAFETY: state is REGISTERING, which only this call sets; `take` will not
                // touch the cell until state is back to IDLE.
                unsafe {
                    let cell = &mut *self.waker.get();
                    match cell {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *cell = Some(waker.clone()),
                    }
                }
                if self
                    .state
                    .compare_exchange(REGISTERING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // A wake arrived while we were storing: it set WAKING and left the waker
                    // to us. Take it back out and wake it here.
                    // SAFETY: state is REGISTERING|WAKING; `take` does not touch the cell in
                    // that state, and no other `register` can run (state is not IDLE).
                    let stored = unsafe { (*self.waker.get()).take() };
                    self.state.store(IDLE, Ordering::Release);
                    if let Some(w) = stored {
                        w.wake();
                    }
                }
            }
            Err(WAKING) => {
                // A wake is running right now: make sure this poll happens again.
                waker.wake_by_ref();
            }
            Err(_) => {
                // Another register in progress (not possible with one awaiting future per
                // slot); be safe and poll again.
                waker.wake_by_ref();
            }
        }
    }

    /// Wakes the stored waker, if any.
    pub(crate) fn wake(&self) {
        if let Some(w) = self.take() {
            w.wake();
        }
    }

    fn take(&self) -> Option<Waker> {
        match self.state.fetch_or(WAKING, Ordering::AcqRel) {
            IDLE => {
                // SAFETY: state went IDLE -> WAKING here, so no `register` is inside the cell
                // and no other `take` got WAKING first.
                let w = unsafe { (*self.waker.get()).take() };
                self.state.fetch_and(!WAKING, Ordering::Release);
                w
            }
            // A register is in progress; it will see WAKING and wake its own waker.
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_registered_waker_is_woken_once() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let slot = WakerSlot::new();
        slot.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        slot.register(&waker);
        slot.wake();
        slot.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }
}
