//! Time, injected: a monotonic millisecond clock, wall-clock time when known, and sleeping.

/// The device's sense of time.
///
/// The core never reads a global timer: every HAL (EC618 ticks, embassy-time, tokio) plugs in
/// its own clock, and tests use a fake one.
#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Milliseconds since an arbitrary start. Never goes backwards.
    fn now_ms(&self) -> u64;

    /// Milliseconds since the Unix epoch, or `None` while the device does not know the time
    /// (no network time yet). Signatures that carry a timestamp need it.
    fn unix_time_ms(&self) -> Option<u64>;

    /// Completes once [`Clock::now_ms`] has reached `deadline_ms`. Dropping the future
    /// before then must be harmless.
    async fn sleep_until(&self, deadline_ms: u64);

    /// Told the Unix time in milliseconds the device learned from its cloud (a time
    /// answer), for a clock that can keep it (an RTC). The default ignores it: the device
    /// keeps the learned time itself and signs with it while [`Clock::unix_time_ms`] is
    /// `None`.
    fn set_unix_time_ms(&self, unix_time_ms: u64) {
        let _ = unix_time_ms;
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }

    fn unix_time_ms(&self) -> Option<u64> {
        (**self).unix_time_ms()
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        (**self).sleep_until(deadline_ms).await
    }

    fn set_unix_time_ms(&self, unix_time_ms: u64) {
        (**self).set_unix_time_ms(unix_time_ms)
    }
}

/// [`with_deadline`] written out where it is used, for the core's own calls: an `async fn`
/// keeps its arguments for as long as it runs, so `with_deadline(clock, at, fut)` holds
/// `fut` twice (the argument and the future it awaits), which doubles the size of every
/// future around a large one (registration's HTTP exchange: 3.4 KB more). Evaluates to
/// `Some(output)`, or `None` if the deadline came first.
macro_rules! within {
    ($clock:expr, $deadline:expr, $fut:expr $(,)?) => {
        match embassy_futures::select::select(
            $fut,
            $crate::clock::Clock::sleep_until($clock, $deadline),
        )
        .await
        {
            embassy_futures::select::Either::First(out) => Some(out),
            embassy_futures::select::Either::Second(()) => None,
        }
    };
}

/// Runs `fut` until `clock` reaches `deadline_ms`; `None` if the deadline came first (the
/// future is then dropped, so it must be cancel-safe).
///
/// Being an `async fn`, it keeps `fut` twice while it runs (rustc keeps an `async fn`'s
/// arguments for its whole life): around a future of several kilobytes, prefer
/// `embassy_futures::select::select(fut, clock.sleep_until(deadline_ms))`, which holds it
/// once.
pub async fn with_deadline<C: Clock + ?Sized, F: Future>(
    clock: &C,
    deadline_ms: u64,
    fut: F,
) -> Option<F::Output> {
    within!(clock, deadline_ms, fut)
}
