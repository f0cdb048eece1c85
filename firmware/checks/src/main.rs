//! The SDK's codec, session and signing checks, on the emulated Cortex-M3.
//!
//! `#[test]` functions need the standard library's harness, which bare metal lacks, so each
//! check here is a plain function over the crates' public APIs with known answers (MQTT byte
//! fixtures, RFC HMAC vectors, the providers' published credentials). Every check prints
//! `ok` or `FAIL` with the line and the values that differed; the run exits through
//! semihosting with status 0 only if all passed.

#![no_std]
#![no_main]

#[macro_use]
mod check;
mod codec;
mod device;
mod providers;
mod session;
mod sign;

use check::Check;
use cortex_m_rt::entry;
use mps2_board::{exit, println};

const GROUPS: &[(&str, &[(&str, Check)])] = &[
    ("mqtt codec", codec::CHECKS),
    ("session", session::CHECKS),
    ("signing helpers", sign::CHECKS),
    ("providers", providers::CHECKS),
    ("device", device::CHECKS),
];

#[entry]
fn main() -> ! {
    let (mut run, mut failed) = (0usize, 0usize);
    for (group, checks) in GROUPS {
        println!("-- {}", group);
        for (name, check) in *checks {
            run += 1;
            match check() {
                Ok(()) => println!("ok   {}", name),
                Err(failure) => {
                    failed += 1;
                    println!("FAIL {}: {}", name, failure);
                }
            }
        }
    }
    println!("{} checks, {} passed, {} failed", run, run - failed, failed);
    exit(failed == 0)
}
