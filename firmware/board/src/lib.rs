//! The platform of QEMU's `mps2-an385` board (a Cortex-M3) for the iotcloud SDK:
//!
//! - [`UartTransport`]: UART0 as an [`iotcloud_core::Transport`]. QEMU connects the UART to
//!   a TCP port (`-serial tcp:HOST:PORT`), so the byte stream is a TCP connection to the
//!   broker and the endpoint's host and port are ignored.
//! - [`SysTickClock`]: an [`iotcloud_core::Clock`] counting milliseconds with SysTick.
//! - [`println!`] and [`exit`]: output and exit status through semihosting.
//! - [`stack`]: peak stack measurement by painting the free stack.
//!
//! The register and memory accesses are all in [`hal`], the only module with `unsafe`.

#![no_std]

pub mod clock;
pub mod hal;
pub mod stack;
pub mod transport;

pub use clock::SysTickClock;
pub use transport::{UartError, UartTransport};

/// Prints a line on the host's standard output through semihosting.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::semihosting::hprintln!($($arg)*)
    };
}

#[doc(hidden)]
pub use cortex_m_semihosting as semihosting;

/// Ends the emulation: QEMU exits with status 0 when `success`, 1 otherwise.
pub fn exit(success: bool) -> ! {
    let status = if success {
        cortex_m_semihosting::debug::EXIT_SUCCESS
    } else {
        cortex_m_semihosting::debug::EXIT_FAILURE
    };
    loop {
        // Returns only when no debugger or emulator listens; keep asking.
        cortex_m_semihosting::debug::exit(status);
    }
}

/// A panic ends the run with a failure, saying where. Only the location is printed: the
/// message would link the formatting of every panic's arguments, several KiB that a device
/// without a console would not carry either.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(at) => println!("PANIC at {}:{}", at.file(), at.line()),
        None => println!("PANIC"),
    }
    exit(false)
}
