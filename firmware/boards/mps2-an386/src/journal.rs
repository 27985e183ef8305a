//! The store's write-through to the host (`J`): once the host asks for it, every flash write
//! and erase the card makes is sent to the host (`W`, `X`), which stores it in its image
//! file and acknowledges it, before the flash operation happens here and the card goes on.
//! The host's file is then never behind the board's flash: a host killed at any instant
//! leaves it as a power cut at a flash-operation boundary would leave a chip.
//!
//! ```text
//! board → host   W | len | offset (u32 BE) | bytes        X | 00 08 | from (u32 BE) | to (u32 BE)
//! host → board   W | 00 00  stored   (W | 00 01 | code: refused, the write fails)   X alike
//! ```

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m::interrupt::{self, Mutex};

use crate::clock;
use crate::link;
use crate::uart::Uart;

/// Whether the host asked for the write-through.
static ON: AtomicBool = AtomicBool::new(false);

/// Ticks spent sending flash operations and waiting for the host, since boot: link time,
/// which the `T` frame leaves out of the applet's time.
static TICKS: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

/// Turns the write-through on, for good (`J`).
pub fn start() {
    ON.store(true, Ordering::Relaxed);
}

/// Ticks spent in the write-through since boot.
pub fn ticks() -> u64 {
    interrupt::free(|cs| TICKS.borrow(cs).get())
}

/// Has the host store a write of `bytes` at `offset`; `false` if it refused. Always `true`
/// while the write-through is off.
pub fn write(offset: u32, bytes: &[u8]) -> bool {
    forward(b'W', &offset.to_be_bytes(), bytes)
}

/// Has the host store an erase of `from..to`; `false` if it refused. Always `true` while the
/// write-through is off.
pub fn erase(from: u32, to: u32) -> bool {
    forward(b'X', &from.to_be_bytes(), &to.to_be_bytes())
}

/// Sends a `kind` frame of `head` then `tail`, and waits for the host's acknowledgement.
fn forward(kind: u8, head: &[u8; 4], tail: &[u8]) -> bool {
    if !ON.load(Ordering::Relaxed) {
        return true;
    }
    let start = clock::now();
    let mut uart = Uart::for_journal();
    link::send_header(&mut uart, kind, head.len() + tail.len());
    uart.write_all(head);
    uart.write_all(tail);
    let stored = link::acknowledgement(&mut uart, kind);
    let spent = clock::now() - start;
    interrupt::free(|cs| {
        let ticks = TICKS.borrow(cs);
        ticks.set(ticks.get() + spent);
    });
    stored
}
