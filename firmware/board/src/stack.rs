//! Peak stack use, measured by painting: fill the free stack with a pattern at start, run,
//! then find the deepest word that no longer holds it.

use crate::hal;

/// Paints the free stack. Call it first thing in `main`, before deep calls.
pub fn paint() {
    hal::paint_free_stack();
}

/// Bytes of stack used at the deepest point since [`paint`], including the frames that
/// were live when it ran.
pub fn peak_bytes() -> usize {
    let (_, top) = hal::stack_bounds();
    top - hal::lowest_touched_stack_word()
}

/// Bytes available to the stack: from the end of the static data to the top of RAM.
pub fn capacity_bytes() -> usize {
    let (bottom, top) = hal::stack_bounds();
    top - bottom
}
