//! The NVMC over the `STORE` region of memory.x: the raw word program and page erase that
//! [`StoreFlash`](ukey_board_nrf52840::flash::StoreFlash) turns into the store's NOR flash.
//!
//! nRF52840 product specification v1.7, section 4.3: `CONFIG.WEN` selects read, write or
//! erase; a write is a 32-bit store to the flash address; `ERASEPAGE` takes a page's address;
//! `READY` says when the operation is done. The CPU stalls on instruction fetches from flash
//! while the NVMC writes or erases, so nothing else runs meanwhile (up to 85 ms for a page
//! erase); USB keeps NAKing the host in hardware.
#![allow(unsafe_code, reason = "the flash is written through raw addresses")]

use core::ptr;

use nrf52840_hal::pac::NVMC;
use ukey_board_nrf52840::flash::Nvm;

unsafe extern "C" {
    /// First byte of the `STORE` region (memory.x).
    static __ustore_start: u8;
    /// One past the last byte of the `STORE` region (memory.x).
    static __ustore_end: u8;
}

/// The flash controller, confined to the `STORE` region.
pub struct Nvmc {
    regs: NVMC,
    base: usize,
    len: usize,
}

impl Nvmc {
    /// Takes the NVMC for the `STORE` region.
    pub fn new(regs: NVMC) -> Self {
        let base = (&raw const __ustore_start) as usize;
        let end = (&raw const __ustore_end) as usize;
        Self {
            regs,
            base,
            len: end.saturating_sub(base),
        }
    }

    fn wait_ready(&self) {
        while self.regs.ready.read().ready().is_busy() {}
    }

    /// Back to read-only once the operation has finished.
    fn read_only(&self) {
        self.wait_ready();
        self.regs.config.write(|w| w.wen().ren());
    }
}

// SAFETY (for the raw accesses below): `StoreFlash` checks every offset against `capacity`
// and alignment before calling, so each address lies in the `STORE` region, which the linker
// keeps free of code and data and which nothing else in the firmware addresses. Volatile
// accesses, because the NVMC changes the flash behind the compiler's back.
impl Nvm for Nvmc {
    fn capacity(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, bytes: &mut [u8]) {
        for (at, byte) in (self.base + offset..).zip(bytes) {
            // SAFETY: see above; any byte of flash may be read.
            *byte = unsafe { ptr::read_volatile(at as *const u8) };
        }
    }

    fn read_word(&self, offset: usize) -> u32 {
        // SAFETY: see above; the offset is word-aligned.
        unsafe { ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn program_word(&mut self, offset: usize, value: u32) {
        self.wait_ready();
        self.regs.config.write(|w| w.wen().wen());
        // SAFETY: see above; writes are enabled and the offset is word-aligned.
        unsafe { ptr::write_volatile((self.base + offset) as *mut u32, value) };
        self.read_only();
    }

    fn erase_page(&mut self, offset: usize) {
        self.wait_ready();
        self.regs.config.write(|w| w.wen().een());
        let page = u32::try_from(self.base + offset).unwrap_or(u32::MAX);
        // SAFETY: ERASEPAGE takes any flash page address; this one is in STORE (see above).
        self.regs.erasepage().write(|w| unsafe { w.bits(page) });
        self.read_only();
    }
}
