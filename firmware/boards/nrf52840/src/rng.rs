//! The chip's true random number generator as the applet's `rand_core::CryptoRng`.
//!
//! The nRF52840's RNG peripheral (product specification v1.7, section 6.21) derives its bits
//! from thermal noise; with its digital error correction on (`CONFIG.DERCEN`, which the
//! board's [`EntropySource`] enables) it removes the bias of the raw bit stream, and its
//! output is meant to be used directly, without a DRBG. Every byte the applet draws comes from
//! the peripheral; nothing is seeded, stored or fixed.

use core::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

/// A source of bias-corrected random bytes: the board's RNG peripheral.
pub trait EntropySource {
    /// Fills `bytes` with fresh random bytes, blocking until they are ready.
    fn fill(&mut self, bytes: &mut [u8]);
}

/// The applet's RNG: every byte straight from the chip's entropy source.
#[derive(Debug)]
pub struct TrueRng<S: EntropySource>(S);

impl<S: EntropySource> TrueRng<S> {
    /// The RNG over `source`.
    pub const fn new(source: S) -> Self {
        Self(source)
    }
}

impl<S: EntropySource> TryRng for TrueRng<S> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0; 4];
        self.0.fill(&mut bytes);
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0; 8];
        self.0.fill(&mut bytes);
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill(dst);
        Ok(())
    }
}

impl<S: EntropySource> TryCryptoRng for TrueRng<S> {}

#[cfg(test)]
mod tests {
    use rand_core::Rng;

    use super::*;

    /// Counts up, so each byte shows where it came from.
    struct Counter(u8);

    impl EntropySource for Counter {
        fn fill(&mut self, bytes: &mut [u8]) {
            for byte in bytes {
                *byte = self.0;
                self.0 = self.0.wrapping_add(1);
            }
        }
    }

    #[test]
    fn every_byte_comes_from_the_source_in_order() {
        let mut rng = TrueRng::new(Counter(0));
        assert_eq!(rng.next_u32(), u32::from_le_bytes([0, 1, 2, 3]));
        assert_eq!(
            rng.next_u64(),
            u64::from_le_bytes([4, 5, 6, 7, 8, 9, 10, 11])
        );
        let mut buf = [0; 3];
        rng.fill_bytes(&mut buf);
        assert_eq!(buf, [12, 13, 14]);
    }
}
