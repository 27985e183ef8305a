//! The campaign's seeded randomness: one ChaCha stream per link, so a seed replays the same
//! commands, values and kill delays.

use std::ops::RangeInclusive;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// A seeded random stream with the few draws the campaign makes.
pub struct Dice(ChaCha8Rng);

impl Dice {
    /// The stream of `seed`, for the link numbered `stream`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self(rng)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.0.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `range`.
    pub fn range(&mut self, range: RangeInclusive<usize>) -> usize {
        range.start() + self.below(range.end() - range.start() + 1)
    }

    /// True `num` times out of `den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    /// One of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A number in `[0, 1)`.
    pub fn fraction(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        self.0.fill_bytes(&mut bytes);
        bytes
    }

    /// A PIN or PUK: 6 to 8 ASCII digits.
    pub fn digits(&mut self) -> Vec<u8> {
        let len = self.range(6..=8);
        (0..len).map(|_| b'0' + self.below(10) as u8).collect()
    }

    /// 6 to 8 digits other than `not`.
    pub fn digits_other_than(&mut self, not: &[u8]) -> Vec<u8> {
        loop {
            let digits = self.digits();
            if digits != not {
                return digits;
            }
        }
    }
}
