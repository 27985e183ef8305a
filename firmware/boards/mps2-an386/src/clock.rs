//! A 64-bit tick clock from SysTick on the core clock (25 MHz on mps2-an386): frame timeouts and
//! the cost of each APDU. Under `-icount shift=0` QEMU's virtual time is 1 ns per instruction,
//! so one tick is 40 instructions.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;

/// Ticks per second: the MPS2 FPGA images' 25 MHz system clock.
pub const TICKS_PER_SECOND: u64 = 25_000_000;

/// SysTick counts down from this value, so one wrap is 2^24 ticks.
const RELOAD: u32 = 0x00FF_FFFF;

/// SysTick wraps since boot.
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Counts one SysTick wrap.
#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick free-running on the core clock, interrupting once per wrap.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`start`].
///
/// SysTick counts `0, RELOAD, ..., 1` and wraps (raising its exception) as it reaches 0 again,
/// so `(RELOAD + 1 - current) & RELOAD` ticks have passed in the current wrap. A wrap whose
/// exception is still pending counts too; the reads are retried if a wrap happens among them.
pub fn now() -> u64 {
    loop {
        let wraps = WRAPS.load(Ordering::Relaxed);
        let pending = SCB::is_pendst_pending();
        let current = SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == wraps && SCB::is_pendst_pending() == pending {
            let wraps = u64::from(wraps) + u64::from(pending);
            return (wraps << 24) | u64::from((RELOAD + 1 - current) & RELOAD);
        }
    }
}

/// A point on the tick clock by which something must happen.
#[derive(Clone, Copy)]
pub struct Deadline(pub u64);

impl Deadline {
    /// `millis` milliseconds from now.
    pub fn after_millis(millis: u64) -> Self {
        Self(now() + millis * TICKS_PER_SECOND / 1000)
    }
}
