//! The measured work of each Rust client, run inside a child process (see `crate::child`).
//! Both clients run on a single-threaded tokio runtime with `TCP_NODELAY`, keep at most
//! [`WINDOW`](crate::WINDOW) QoS 1 messages in flight, and report on stdout as `key=value`.

pub mod rumqtt;
pub mod sdk;

use std::io::{BufRead, Write};

use crate::error::{Context, Result, fail};

/// Tells the parent the client is connected, then blocks until it says `go`.
pub fn ready_then_wait_for_go() -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(b"ready\n").ctx("writing to the parent")?;
    out.flush().ctx("writing to the parent")?;
    drop(out);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .ctx("reading from the parent")?;
    if line.trim() != "go" {
        return fail("the parent did not say go");
    }
    Ok(())
}

/// Prints one `key=value` line for the parent.
pub fn report(key: &str, value: impl std::fmt::Display) {
    println!("{key}={value}");
}

/// Allocations per message over a window, as printed for the parent.
pub fn per_message(allocations: u64, messages: u64) -> f64 {
    if messages == 0 {
        0.0
    } else {
        allocations as f64 / messages as f64
    }
}

/// A single-threaded tokio runtime with timers and I/O.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ctx("starting a tokio runtime")
}

/// Reports a round-trip run: median and 99th-percentile latency of `samples`, and the
/// allocations per message over the `messages` timed.
pub fn report_round_trips(samples: &mut [std::time::Duration], allocations: u64, messages: u64) {
    let (median, p99) = percentiles(samples);
    report("median_us", format!("{median:.1}"));
    report("p99_us", format!("{p99:.1}"));
    report("allocs_per_msg", per_message(allocations, messages));
}

/// Median and 99th percentile of `samples`, in microseconds.
fn percentiles(samples: &mut [std::time::Duration]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1].as_secs_f64() * 1e6
    };
    (at(0.5), at(0.99))
}
