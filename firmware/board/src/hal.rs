//! The emulated board's HAL: every register and raw memory access of the firmware, and
//! therefore every `unsafe` block, is in this module.
//!
//! - UART0 of the MPS2 FPGA images is an ARM CMSDK APB UART at `0x4000_4000`. QEMU models
//!   one byte of receive and one of transmit buffering, and connects it to a character
//!   device, here a TCP socket.
//! - The stack lies between the end of the static data (`__sheap`, from cortex-m-rt's linker
//!   script) and the top of RAM (`_stack_start`); [`paint_free_stack`] and
//!   [`lowest_touched_stack_word`] measure how deep it went.

use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

const UART0_BASE: usize = 0x4000_4000;
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_ENABLE: u32 = 1 << 0;
const CTRL_RX_ENABLE: u32 = 1 << 1;
/// The smallest divider the UART accepts; the emulated line has no real baud rate.
const MIN_BAUDDIV: u32 = 16;

static UART0_TAKEN: AtomicBool = AtomicBool::new(false);

/// Exclusive access to UART0's registers.
#[derive(Debug)]
pub struct Uart0 {
    _owned: (),
}

impl Uart0 {
    /// The UART, the first time; `None` afterwards, so there is only one owner.
    pub fn take() -> Option<Uart0> {
        if UART0_TAKEN.swap(true, Ordering::AcqRel) {
            None
        } else {
            Some(Uart0 { _owned: () })
        }
    }

    fn read_reg(&self, offset: usize) -> u32 {
        let reg = (UART0_BASE + offset) as *const u32;
        // SAFETY: `reg` is one of UART0's word-aligned registers, which exist for the whole
        // run on this board; reading them has no effect beyond the UART's own state, and
        // `Uart0` is the only owner of that state.
        unsafe { ptr::read_volatile(reg) }
    }

    fn write_reg(&mut self, offset: usize, value: u32) {
        let reg = (UART0_BASE + offset) as *mut u32;
        // SAFETY: as in `read_reg`; `&mut self` makes this the only access in progress.
        unsafe { ptr::write_volatile(reg, value) }
    }

    /// Turns the transmitter and receiver on.
    pub fn enable(&mut self) {
        self.write_reg(BAUDDIV, MIN_BAUDDIV);
        self.write_reg(CTRL, CTRL_TX_ENABLE | CTRL_RX_ENABLE);
    }

    /// Turns the transmitter and receiver off.
    pub fn disable(&mut self) {
        self.write_reg(CTRL, 0);
    }

    /// The received byte, if one is waiting.
    pub fn try_read(&mut self) -> Option<u8> {
        if self.read_reg(STATE) & STATE_RX_FULL == 0 {
            return None;
        }
        // Only the low eight bits of DATA carry the byte.
        Some((self.read_reg(DATA) & 0xff) as u8)
    }

    /// Whether the transmit buffer is empty: every byte written has left the UART.
    pub fn tx_idle(&self) -> bool {
        self.read_reg(STATE) & STATE_TX_FULL == 0
    }

    /// Queues `byte` for sending; `false` while the transmit buffer is full.
    pub fn try_write(&mut self, byte: u8) -> bool {
        if self.read_reg(STATE) & STATE_TX_FULL != 0 {
            return false;
        }
        self.write_reg(DATA, u32::from(byte));
        true
    }
}

unsafe extern "C" {
    /// First address after the static data: the lowest address the stack may reach.
    static __sheap: u32;
    /// The initial stack pointer: the top of RAM.
    static _stack_start: u32;
}

/// The word written over the free stack.
const PAINT: u32 = 0xC0DE_57AC;
/// Bytes just below the current stack pointer left unpainted: the painting loop's own
/// frame may spill there.
const PAINT_GUARD: usize = 64;

/// The stack's bounds: (lowest address, top).
pub fn stack_bounds() -> (usize, usize) {
    (
        (&raw const __sheap) as usize,
        (&raw const _stack_start) as usize,
    )
}

/// Fills the unused part of the stack with a known pattern. Call it first thing in `main`.
pub fn paint_free_stack() {
    let (bottom, _) = stack_bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let end = sp.saturating_sub(PAINT_GUARD);
    let mut addr = bottom;
    while addr + 4 <= end {
        // SAFETY: `addr` is word-aligned (`__sheap` is, by cortex-m-rt's linker script) and
        // lies between the end of the static data and the stack pointer, minus a guard: RAM
        // that nothing uses yet. Only the stack grows into it, later, and overwrites it.
        unsafe { ptr::write_volatile(addr as *mut u32, PAINT) };
        addr += 4;
    }
}

/// The lowest stack address whose paint was overwritten: the stack's high-water mark.
pub fn lowest_touched_stack_word() -> usize {
    let (bottom, top) = stack_bounds();
    let mut addr = bottom;
    while addr < top {
        // SAFETY: `addr` is a word-aligned RAM address between the end of the static data
        // and the top of RAM; reading it has no side effect.
        let word = unsafe { ptr::read_volatile(addr as *const u32) };
        if word != PAINT {
            return addr;
        }
        addr += 4;
    }
    top
}
