//! The board's RNG: a ChaCha20 DRBG seeded by the host over the UART (`S` frames). The
//! mps2-an386 has no entropy source; this is acceptable on this emulated board only. A real
//! board uses its chip's TRNG.
//!
//! The DRBG lives here rather than in the card, so that the host can mix a fresh seed in at
//! every power-on while the card keeps its handle ([`BoardRng`]).

use core::cell::RefCell;
use core::convert::Infallible;

use cortex_m::interrupt::{self, Mutex};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng, TryCryptoRng, TryRng};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// The DRBG, once seeded.
static DRBG: Mutex<RefCell<Option<ChaCha20Rng>>> = Mutex::new(RefCell::new(None));

/// Keys the DRBG with SHA-256 of everything seeded so far: 32 bytes of the previous DRBG's
/// output, if any, then `seed`.
pub fn reseed(seed: &[u8]) {
    interrupt::free(|cs| {
        let mut drbg = DRBG.borrow(cs).borrow_mut();
        let mut hash = Sha256::new();
        if let Some(previous) = drbg.as_mut() {
            let mut carried = [0u8; 32];
            previous.fill_bytes(&mut carried);
            hash.update(carried);
            carried.zeroize();
        }
        hash.update(seed);
        let mut key: [u8; 32] = hash.finalize().into();
        *drbg = Some(ChaCha20Rng::from_seed(key));
        key.zeroize();
    });
}

/// The card's handle on the DRBG; [`BoardRng::get`] gives one only once it is seeded.
pub struct BoardRng(());

impl BoardRng {
    /// A handle, if the DRBG has been seeded.
    pub fn get() -> Option<Self> {
        interrupt::free(|cs| DRBG.borrow(cs).borrow().is_some()).then_some(Self(()))
    }

    /// Runs `f` on the DRBG.
    fn with<T>(f: impl FnOnce(&mut ChaCha20Rng) -> T) -> T {
        interrupt::free(|cs| match DRBG.borrow(cs).borrow_mut().as_mut() {
            Some(drbg) => f(drbg),
            // A handle exists only once the DRBG is seeded, and it is never unseeded.
            None => crate::fatal(),
        })
    }
}

impl TryRng for BoardRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(Self::with(|drbg| drbg.next_u32()))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(Self::with(|drbg| drbg.next_u64()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        Self::with(|drbg| drbg.fill_bytes(dst));
        Ok(())
    }
}

impl TryCryptoRng for BoardRng {}
