//! Arithmetic modulo the P-256 and SM2 primes, on fiat-crypto's formally verified code.
//!
//! The curve crates keep their field types private, so a table of multiples of `G` could
//! only reach their point arithmetic through a checked decoding (two conversions and an
//! on-curve test per point read), and their one field inversion per signature is a
//! constant-time `divstep` loop that costs SM2 as much as 500 multiplications. Over
//! fiat-crypto directly, stored points are constants in Montgomery form and the inversion is
//! Fermat's `a^(p-2)` with a public exponent: 256 squarings and 79 multiplications.
//!
//! Every operation runs in constant time. Values are kept in Montgomery form, below `p`, in
//! the target's native words (fiat's `_64` modules on 64-bit targets, `_32` otherwise).

use core::ops::{Add, Mul, Neg, Sub};

use subtle::Choice;

/// An element of a prime field in Montgomery form.
pub trait FieldElement:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Neg<Output = Self>
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// `b` of the curve `y² = x³ - 3x + b` over this field.
    const B: Self;
    /// `p - 2`, big-endian: the exponent of Fermat's inversion.
    const P_MINUS_2: [u8; 32];

    /// `self²`.
    fn square(&self) -> Self;

    /// `b` if `choice` is set, else `a`, in constant time.
    fn select(a: &Self, b: &Self, choice: Choice) -> Self;

    /// The canonical big-endian bytes of the element.
    fn to_be_bytes(&self) -> [u8; 32];

    /// The element with canonical big-endian bytes `bytes`, which must be below `p`.
    fn from_canonical_be_bytes(bytes: &[u8; 32]) -> Self;

    /// `self^-1`, or `0` for `0`: `self^(p-2)` with a 4-bit window over the public exponent.
    fn invert(&self) -> Self {
        let mut powers = [Self::ONE; 16];
        for i in 1..powers.len() {
            powers[i] = powers[i - 1] * *self;
        }
        let mut acc = Self::ONE;
        for byte in Self::P_MINUS_2 {
            for nibble in [byte >> 4, byte & 0x0F] {
                for _ in 0..4 {
                    acc = acc.square();
                }
                acc = acc * powers[usize::from(nibble)];
            }
        }
        acc
    }
}

/// Implements the operator trait `$trait` for a field type with the fiat function `$fiat_fn`.
macro_rules! binary_op {
    ($name:ident, $fiat:ident, $mont:ident, $trait:ident, $method:ident, $fiat_fn:ident) => {
        impl $trait for $name {
            type Output = Self;
            fn $method(self, rhs: Self) -> Self {
                let mut out = $fiat::$mont([0; LIMBS]);
                $fiat::$fiat_fn(&mut out, &self.0, &rhs.0);
                Self(out)
            }
        }
    };
}

/// Defines a field element type over one fiat-crypto module.
macro_rules! fiat_field {
    (
        $(#[$doc:meta])*
        $name:ident, $fiat:ident, $b:literal, $p_minus_2:literal,
        $mont:ident, $non_mont:ident,
        $mul:ident, $square:ident, $add:ident, $sub:ident, $opp:ident,
        $to_mont:ident, $from_mont:ident, $select:ident, $to_bytes:ident, $from_bytes:ident
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name($fiat::$mont);

        impl $name {
            /// The element with canonical big-endian bytes `bytes`, which must be below `p`
            /// (as constants and stored table points are; a test checks the tables).
            pub const fn from_be_bytes(bytes: &[u8; 32]) -> Self {
                let mut little = [0u8; 32];
                let mut i = 0;
                while i < 32 {
                    little[i] = bytes[31 - i];
                    i += 1;
                }
                let mut limbs = $fiat::$non_mont([0; LIMBS]);
                $fiat::$from_bytes(&mut limbs.0, &little);
                let mut out = $fiat::$mont([0; LIMBS]);
                $fiat::$to_mont(&mut out, &limbs);
                Self(out)
            }

            const fn from_hex(hex: &str) -> Self {
                Self::from_be_bytes(&hex_bytes(hex))
            }
        }

        impl FieldElement for $name {
            const ZERO: Self = Self($fiat::$mont([0; LIMBS]));
            const ONE: Self = Self::from_hex(
                "0000000000000000000000000000000000000000000000000000000000000001",
            );
            const B: Self = Self::from_hex($b);
            const P_MINUS_2: [u8; 32] = hex_bytes($p_minus_2);

            fn square(&self) -> Self {
                let mut out = $fiat::$mont([0; LIMBS]);
                $fiat::$square(&mut out, &self.0);
                Self(out)
            }

            fn select(a: &Self, b: &Self, choice: Choice) -> Self {
                let mut out = $fiat::$mont([0; LIMBS]);
                $fiat::$select(&mut out.0, choice.unwrap_u8(), &(a.0).0, &(b.0).0);
                Self(out)
            }

            fn to_be_bytes(&self) -> [u8; 32] {
                let mut limbs = $fiat::$non_mont([0; LIMBS]);
                $fiat::$from_mont(&mut limbs, &self.0);
                let mut out = [0u8; 32];
                $fiat::$to_bytes(&mut out, &limbs.0);
                out.reverse();
                out
            }

            fn from_canonical_be_bytes(bytes: &[u8; 32]) -> Self {
                Self::from_be_bytes(bytes)
            }
        }

        binary_op!($name, $fiat, $mont, Add, add, $add);
        binary_op!($name, $fiat, $mont, Sub, sub, $sub);
        binary_op!($name, $fiat, $mont, Mul, mul, $mul);

        impl Neg for $name {
            type Output = Self;
            fn neg(self) -> Self {
                let mut out = $fiat::$mont([0; LIMBS]);
                $fiat::$opp(&mut out, &self.0);
                Self(out)
            }
        }
    };
}

#[cfg(not(target_pointer_width = "64"))]
#[cfg_attr(all(feature = "p256-cm4", target_arch = "arm"), allow(unused_imports))]
use fiat_crypto::{p256_32 as fiat_p256, sm2_32 as fiat_sm2};
#[cfg(target_pointer_width = "64")]
use fiat_crypto::{p256_64 as fiat_p256, sm2_64 as fiat_sm2};

/// Machine words per element.
#[cfg(target_pointer_width = "64")]
const LIMBS: usize = 4;
#[cfg(not(target_pointer_width = "64"))]
const LIMBS: usize = 8;

// With `p256-cm4` on Arm, P-256 runs on the assembly backend instead.
#[cfg(not(all(feature = "p256-cm4", target_arch = "arm")))]
fiat_field!(
    /// An element of P-256's field, `p = 2^256 - 2^224 + 2^192 + 2^96 - 1`.
    P256Field,
    fiat_p256,
    "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    "ffffffff00000001000000000000000000000000fffffffffffffffffffffffd",
    fiat_p256_montgomery_domain_field_element,
    fiat_p256_non_montgomery_domain_field_element,
    fiat_p256_mul,
    fiat_p256_square,
    fiat_p256_add,
    fiat_p256_sub,
    fiat_p256_opp,
    fiat_p256_to_montgomery,
    fiat_p256_from_montgomery,
    fiat_p256_selectznz,
    fiat_p256_to_bytes,
    fiat_p256_from_bytes
);

fiat_field!(
    /// An element of SM2's field, `p = 2^256 - 2^224 - 2^96 + 2^64 - 1`.
    Sm2Field,
    fiat_sm2,
    "28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93",
    "fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffd",
    fiat_sm2_montgomery_domain_field_element,
    fiat_sm2_non_montgomery_domain_field_element,
    fiat_sm2_mul,
    fiat_sm2_square,
    fiat_sm2_add,
    fiat_sm2_sub,
    fiat_sm2_opp,
    fiat_sm2_to_montgomery,
    fiat_sm2_from_montgomery,
    fiat_sm2_selectznz,
    fiat_sm2_to_bytes,
    fiat_sm2_from_bytes
);

/// The 32 bytes written as 64 hex digits in `hex`; fails to compile on anything else.
const fn hex_bytes(hex: &str) -> [u8; 32] {
    let digits = hex.as_bytes();
    assert!(digits.len() == 64, "a field constant has 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (hex_digit(digits[2 * i]) << 4) | hex_digit(digits[2 * i + 1]);
        i += 1;
    }
    out
}

const fn hex_digit(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => panic!("a field constant is lowercase hex"),
    }
}

#[cfg(test)]
mod tests {
    //! Checked against the curve crates' own field arithmetic, through the public
    //! `PrimeCurveParams::FieldElement`.

    use super::*;
    use primeorder::PrimeCurveParams;
    use primeorder::elliptic_curve::consts::U32;
    use primeorder::elliptic_curve::ff::{Field, PrimeField};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn agrees_with_the_crate<F: FieldElement, C: PrimeCurveParams<FieldBytesSize = U32>>(
        from_bytes: fn(&[u8; 32]) -> F,
    ) where
        C::FieldElement: PrimeField<Repr = primeorder::elliptic_curve::FieldBytes<C>>,
    {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let ours = |x: &C::FieldElement| from_bytes(&x.to_repr().into());
        let bytes = |x: &C::FieldElement| -> [u8; 32] { x.to_repr().into() };
        assert_eq!(F::B.to_be_bytes(), bytes(&C::EQUATION_B));
        assert_eq!(F::ZERO.invert().to_be_bytes(), [0; 32], "0 inverts to 0");
        for _ in 0..100 {
            let a = C::FieldElement::random(&mut rng);
            let b = C::FieldElement::random(&mut rng);
            let (x, y) = (ours(&a), ours(&b));
            assert_eq!((x * y).to_be_bytes(), bytes(&(a * b)));
            assert_eq!((x + y).to_be_bytes(), bytes(&(a + b)));
            assert_eq!((x - y).to_be_bytes(), bytes(&(a - b)));
            assert_eq!((-x).to_be_bytes(), bytes(&(-a)));
            assert_eq!(x.square().to_be_bytes(), bytes(&a.square()));
            assert_eq!(x.invert().to_be_bytes(), bytes(&a.invert().unwrap_or(a)));
            assert_eq!(F::select(&x, &y, Choice::from(1)).to_be_bytes(), bytes(&b));
            assert_eq!(F::select(&x, &y, Choice::from(0)).to_be_bytes(), bytes(&a));
        }
    }

    #[test]
    fn p256_field_agrees_with_the_crate() {
        agrees_with_the_crate::<P256Field, p256::NistP256>(P256Field::from_be_bytes);
    }

    #[test]
    fn sm2_field_agrees_with_the_crate() {
        agrees_with_the_crate::<Sm2Field, sm2::Sm2>(Sm2Field::from_be_bytes);
    }
}
