//! The stack high-water mark. cortex-m-rt's `paint-stack` feature fills the whole stack region,
//! `_stack_end` (just above `.bss`) up to `_stack_start` (the top of RAM), with
//! [`STACK_PAINT_VALUE`] before `main`; the deepest word whose paint is gone marks the most
//! stack used. [`take`] repaints what lies below the stack pointer, so each reading covers the
//! time since the previous one.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m_rt::STACK_PAINT_VALUE;

unsafe extern "C" {
    /// Lowest address of the stack region (cortex-m-rt's linker script).
    static _stack_end: u32;
    /// One past the highest address of the stack region, the initial stack pointer.
    static _stack_start: u32;
}

/// Bytes left unpainted below the stack pointer when repainting, for the repainting code's own
/// use of the stack (it calls nothing, so this is slack).
const MARGIN: usize = 64;

/// The most stack any reading has seen since boot.
static PEAK: AtomicU32 = AtomicU32::new(0);

/// One reading of the stack's use, in bytes.
pub struct HighWater {
    /// The most stack used since the previous reading (since boot, for the first).
    pub since_last: u32,
    /// The most stack used since boot.
    pub peak: u32,
    /// The size of the stack region: RAM above the statics.
    pub size: u32,
}

/// Reads the high-water mark since the previous call, then repaints the free stack.
pub fn take() -> HighWater {
    let bottom = (&raw const _stack_end) as usize;
    let top = (&raw const _stack_start) as usize;
    let mut word = bottom;
    // SAFETY: every word-aligned address in `bottom..top` is stack RAM, painted before `main`
    // or by the last call; reading it as plain words has no effect.
    while word < top && unsafe { read_volatile(word as *const u32) } == STACK_PAINT_VALUE {
        word += 4;
    }
    let since_last = (top - word) as u32;
    let peak = PEAK
        .fetch_max(since_last, Ordering::Relaxed)
        .max(since_last);
    let free_end = (cortex_m::register::msp::read() as usize).saturating_sub(MARGIN) & !3;
    let mut paint = word;
    while paint < free_end {
        // SAFETY: `paint` lies below the stack pointer (less a margin) and above the statics:
        // stack no frame holds; the single-core board's only interrupt, SysTick, pushes below
        // the stack pointer when it runs and is done with it when it returns.
        unsafe { write_volatile(paint as *mut u32, STACK_PAINT_VALUE) };
        paint += 4;
    }
    HighWater {
        since_last,
        peak,
        size: (top - bottom) as u32,
    }
}
