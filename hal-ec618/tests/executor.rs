#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The executor's semaphore (its own process: the semaphore is created once per program).

use core::future::poll_fn;
use core::task::Poll;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hal_ec618::{ExecutorError, block_on, fake};

#[test]
fn a_failed_semaphore_is_reported_and_the_first_wait_sleeps_until_woken() {
    let _g = fake::lock();
    fake::with(|s| s.sem_create_ret = -1);
    assert_eq!(
        block_on(async { 1 }),
        Err(ExecutorError::Semaphore { code: -1 })
    );
    fake::with(|s| s.sem_create_ret = 0);

    // A future that is woken once, 30 ms after its first poll. The SDK makes a semaphore
    // created with count 0 already given: with that one, the executor's first wait would
    // return at once and poll the future a spurious time.
    static WOKEN: AtomicBool = AtomicBool::new(false);
    let polls = AtomicUsize::new(0);
    let out = block_on(poll_fn(|cx| {
        if polls.fetch_add(1, Ordering::SeqCst) == 0 {
            let waker = cx.waker().clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                WOKEN.store(true, Ordering::SeqCst);
                waker.wake();
            });
        }
        if WOKEN.load(Ordering::SeqCst) {
            Poll::Ready(2)
        } else {
            Poll::Pending
        }
    }));
    assert_eq!(out, Ok(2));
    assert_eq!(
        polls.load(Ordering::SeqCst),
        2,
        "a wait returned before the wake"
    );
    fake::with(|s| assert_eq!(s.sems_created_given, 0));
}

#[test]
fn the_fake_semaphore_is_given_when_created_with_count_zero() {
    let _g = fake::lock();
    let mut given = core::ptr::null_mut();
    let mut empty = core::ptr::null_mut();
    // SAFETY: the fake's functions with valid out-pointers and the handles they made.
    unsafe {
        assert_eq!(fake::luat_rtos_semaphore_create(&mut given, 0), 0);
        assert_eq!(fake::luat_rtos_semaphore_create(&mut empty, 1), 0);
        assert_eq!(fake::luat_rtos_semaphore_take(given, 0), 0);
        assert_eq!(fake::luat_rtos_semaphore_take(empty, 0), -1);
    }
}
