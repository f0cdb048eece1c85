#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The executor when the RTOS cannot give it a semaphore (its own process: the semaphore is
//! created once per program).

use hal_ec618::{ExecutorError, block_on, fake};

#[test]
fn a_failed_semaphore_is_reported_and_a_later_run_succeeds() {
    let _g = fake::lock();
    fake::with(|s| s.sem_create_ret = -1);
    assert_eq!(
        block_on(async { 1 }),
        Err(ExecutorError::Semaphore { code: -1 })
    );
    fake::with(|s| s.sem_create_ret = 0);
    assert_eq!(block_on(async { 2 }), Ok(2));
}
