//! The CMSDK APB UART0 of the MPS2 board at `0x4000_4000`, polled.

use core::ptr::{read_volatile, write_volatile};

use crate::clock::{self, Deadline};

/// Base address of UART0.
const BASE: usize = 0x4000_4000;
/// Data register: a read takes the received byte, a write sends one.
const DATA: usize = BASE;
/// State register: bit 0 transmit buffer full, bit 1 receive buffer full.
const STATE: usize = BASE + 0x4;
/// Control register: bit 0 transmit enable, bit 1 receive enable.
const CTRL: usize = BASE + 0x8;
/// Baud rate divider: the system clock over the baud rate, at least 16.
const BAUDDIV: usize = BASE + 0x10;

/// `STATE`: the transmit buffer is full.
const TX_FULL: u32 = 1 << 0;
/// `STATE`: a received byte is waiting.
const RX_FULL: u32 = 1 << 1;
/// `CTRL`: transmitter and receiver enabled, no interrupts.
const TX_RX_ENABLE: u32 = 0b11;
/// The smallest divider the CMSDK UART accepts; QEMU does not pace bytes by baud rate.
const DIVIDER: u32 = 16;

/// UART0, owned by the link. Only [`Uart::take`] makes one, and [`Uart::for_journal`] a
/// second one for the store's write-through.
pub struct Uart(());

/// Reads a UART register.
fn read(register: usize) -> u32 {
    // SAFETY: `register` is one of UART0's word-aligned registers, a device always mapped on
    // mps2-an386; reading STATE or DATA has no effect beyond taking a received byte.
    unsafe { read_volatile(register as *const u32) }
}

/// Writes a UART register.
fn write(register: usize, value: u32) {
    // SAFETY: as in `read`; only the single `Uart` writes UART0's registers.
    unsafe { write_volatile(register as *mut u32, value) }
}

impl Uart {
    /// Enables UART0 for polled transmit and receive. Called once, at boot.
    pub fn take() -> Self {
        write(BAUDDIV, DIVIDER);
        write(CTRL, TX_RX_ENABLE);
        Self(())
    }

    /// UART0 for the store's write-through (`journal.rs`), which talks to the host while the
    /// main loop is inside the card and not using its own handle: the board is single-threaded,
    /// so the two never send or receive at the same time. Touches no register.
    pub fn for_journal() -> Self {
        Self(())
    }

    /// Waits as long as it takes for the next byte.
    pub fn read_byte(&mut self) -> u8 {
        loop {
            if let Some(byte) = self.try_read() {
                return byte;
            }
        }
    }

    /// Waits for the next byte until `deadline`; `None` if it passed first.
    pub fn read_byte_until(&mut self, deadline: Deadline) -> Option<u8> {
        loop {
            if let Some(byte) = self.try_read() {
                return Some(byte);
            }
            if clock::now() >= deadline.0 {
                return None;
            }
        }
    }

    /// Takes a received byte, if one is waiting.
    fn try_read(&mut self) -> Option<u8> {
        (read(STATE) & RX_FULL != 0).then(|| read(DATA) as u8)
    }

    /// Sends `bytes`, waiting for room in the transmit buffer.
    pub fn write_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            while read(STATE) & TX_FULL != 0 {}
            write(DATA, u32::from(byte));
        }
    }
}
