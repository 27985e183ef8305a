//! Fixed-base scalar multiplication `k·G` from a table of multiples of `G` kept in flash.
//!
//! The scalar is recoded into 65 signed radix-16 digits `d_i` in `[-8, 8]`, so that
//! `k = Σ d_i·16^i`. Writing `i = 4m + j` (`m` in `0..=16`, `j` in `0..4`):
//!
//! ```text
//! k·G = Σ_j 16^j · Σ_m d_(4m+j) · (2^(16m)·G)
//! ```
//!
//! Row `m` of the table holds `1·P … 8·P` for `P = 2^(16m)·G` as affine `X ‖ Y` (64 bytes
//! each). The sum is evaluated by Horner's rule over `j`: 65 mixed additions and 12
//! doublings, against about 256 doublings and 64 additions for a variable-base
//! multiplication. Table: 17 rows × 8 points × 64 bytes = 8,704 bytes of flash per curve,
//! no RAM.
//!
//! Points are affine constants in Montgomery form (see `field`), decoded from the table file
//! when the firmware is compiled, so reading one costs no conversion and no check.
//!
//! Constant time: every digit reads all 8 entries of its row through masks; the entry is
//! negated with a conditional select, and a zero digit's addition is computed and then
//! discarded by one; the loop structure depends only on public constants.

use primeorder::elliptic_curve::subtle::{Choice, ConstantTimeEq, ConstantTimeLess};
use primeorder::elliptic_curve::{CurveArithmetic, FieldBytes, NonZeroScalar, PrimeField};
use zeroize::{Zeroize, Zeroizing};

use super::field::FieldElement;
use super::point::{Affine, Projective};

/// Rows: one per `2^16` step, 17 to cover the 65th digit.
pub const ROWS: usize = 17;
/// Points per row: `1·P` to `8·P`.
pub const ENTRIES: usize = 8;
/// An affine point as stored: `X ‖ Y`, big-endian.
pub const ENTRY_LEN: usize = 64;
/// Bytes of one curve's table file.
pub const TABLE_LEN: usize = ROWS * ENTRIES * ENTRY_LEN;
/// Signed radix-16 digits of a 256-bit scalar.
const DIGITS: usize = 65;

/// One curve's table file: row `m`, entry `e` is `(e + 1)·2^(16m)·G` as `X ‖ Y`.
pub type TableBytes = [u8; TABLE_LEN];

/// One curve's table, decoded: row `m`, entry `e` is `(e + 1)·2^(16m)·G`.
pub type Table<F> = [[Affine<F>; ENTRIES]; ROWS];

/// A curve with a [`Table`] of multiples of its generator.
pub trait FixedBase {
    /// The curve's base field.
    type Field: FieldElement + 'static;
    /// The table of multiples of the generator.
    const TABLE: &'static Table<Self::Field>;
}

/// Decodes a [`TableBytes`] into a [`Table`] of the field type `$field`, at compile time.
macro_rules! decode_table {
    ($field:ty, $bytes:expr) => {{
        const BYTES: &$crate::crypto::ecc::fixed_base::TableBytes = $bytes;
        use $crate::crypto::ecc::field::FieldElement;
        use $crate::crypto::ecc::fixed_base::{ENTRIES, ENTRY_LEN, ROWS, coordinate};
        let zero = <$field as FieldElement>::ZERO;
        let mut table = [[$crate::crypto::ecc::point::Affine { x: zero, y: zero }; ENTRIES]; ROWS];
        let mut row = 0;
        while row < ROWS {
            let mut entry = 0;
            while entry < ENTRIES {
                let at = (row * ENTRIES + entry) * ENTRY_LEN;
                table[row][entry].x = <$field>::from_be_bytes(&coordinate(BYTES, at));
                table[row][entry].y = <$field>::from_be_bytes(&coordinate(BYTES, at + 32));
                entry += 1;
            }
            row += 1;
        }
        table
    }};
}
pub(super) use decode_table;

/// The 32 bytes of `table` at `at`, in a `const` context.
pub const fn coordinate(table: &TableBytes, at: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = table[at + i];
        i += 1;
    }
    out
}

/// `k·G` for the big-endian scalar `k` (below the group order), in constant time.
pub fn mul<C: FixedBase>(k: &[u8; 32]) -> Affine<C::Field> {
    let mut digits = recode(k);
    let mut acc = Projective::<C::Field>::IDENTITY;
    for j in (0..4).rev() {
        if j != 3 {
            for _ in 0..4 {
                acc = acc.double();
            }
        }
        for (m, row) in C::TABLE.iter().enumerate() {
            if let Some(&digit) = digits.get(4 * m + j) {
                let (point, zero) = select(row, digit);
                acc = acc.add_affine(&point, zero);
            }
        }
    }
    digits.zeroize();
    acc.to_affine()
}

/// The uncompressed SEC1 encoding `04 ‖ X ‖ Y` of `d·G` for the big-endian scalar `d`.
pub fn public_point<C: FixedBase>(d: &[u8; 32]) -> [u8; 65] {
    let point = mul::<C>(d);
    let mut out = [0u8; 65];
    out[0] = 0x04;
    out[1..33].copy_from_slice(&point.x.to_be_bytes());
    out[33..].copy_from_slice(&point.y.to_be_bytes());
    out
}

/// The next nonce `k` of an RFC 6979 generator, as a scalar of `C` and as the big-endian
/// bytes `mul` takes (wiped when dropped); `None` in the (never seen) case that its bytes
/// are not a nonzero scalar.
pub fn next_nonce<C: CurveArithmetic>(
    nonces: &mut rfc6979::KGenerator<'_, sha2::Sha256, primeorder::elliptic_curve::bigint::U256>,
) -> Option<(NonZeroScalar<C>, Zeroizing<[u8; 32]>)>
where
    C::Scalar: PrimeField<Repr = FieldBytes<C>>,
{
    let mut k_bytes = Zeroizing::new([0u8; 32]);
    nonces.fill_next_k(k_bytes.as_mut());
    let k = Option::from(NonZeroScalar::<C>::from_repr(
        FieldBytes::<C>::try_from(k_bytes.as_slice()).ok()?,
    ))?;
    Some((k, k_bytes))
}

/// The signed radix-16 digits of a big-endian scalar, least significant first; each in
/// `[-8, 8)` except the last, which is 0 or 1. No branch depends on the scalar.
fn recode(k: &[u8; 32]) -> [i8; DIGITS] {
    let mut digits = [0i8; DIGITS];
    let mut carry = 0i8;
    for (i, digit) in digits.iter_mut().take(DIGITS - 1).enumerate() {
        let byte = k[31 - i / 2];
        let nibble = ((byte >> (4 * (i % 2))) & 0x0F) as i8;
        let value = nibble + carry;
        carry = (value + 8) >> 4;
        *digit = value - (carry << 4);
    }
    digits[DIGITS - 1] = carry;
    digits
}

/// `|digit|·P` for the row of `P`, negated if `digit` is negative, reading every entry;
/// with a set choice when `digit` is zero (the point is then any entry, to be discarded).
fn select<F: FieldElement>(row: &[Affine<F>; ENTRIES], digit: i8) -> (Affine<F>, Choice) {
    // |digit| without a branch: the sign mask is all ones for a negative digit.
    let sign = digit >> 7;
    let negative = Choice::from((sign & 1) as u8);
    let magnitude = (digit ^ sign).wrapping_sub(sign) as u8;
    let mut point = row[0];
    for (index, entry) in row.iter().enumerate().skip(1) {
        point = Affine::select(&point, entry, magnitude.ct_eq(&(index as u8 + 1)));
    }
    let point = Affine::select(&point, &point.neg(), negative);
    (point, !0u8.ct_lt(&magnitude))
}

#[cfg(test)]
pub mod tests {
    //! The tables are checked against the crates' own arithmetic, and `mul` against their
    //! variable-base multiplication.

    use super::*;
    use primeorder::elliptic_curve::Field;
    use primeorder::elliptic_curve::array::Array;
    use primeorder::elliptic_curve::consts::U32;
    use primeorder::elliptic_curve::group::Group;
    use primeorder::elliptic_curve::ops::Reduce;
    use primeorder::elliptic_curve::point::AffineCoordinates;
    use primeorder::{PrimeCurveParams, ProjectivePoint, Scalar};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// The table file of `C`, computed with the crate's arithmetic.
    pub fn compute<C: PrimeCurveParams<FieldBytesSize = U32>>() -> Vec<u8> {
        let mut table = Vec::with_capacity(TABLE_LEN);
        let mut base = ProjectivePoint::<C>::GENERATOR;
        for _ in 0..ROWS {
            let mut multiple = base;
            for _ in 0..ENTRIES {
                let affine = multiple.to_affine();
                table.extend_from_slice(&affine.x());
                table.extend_from_slice(&affine.y());
                multiple += &base;
            }
            for _ in 0..16 {
                base = base.double();
            }
        }
        table
    }

    /// Checks that `C::TABLE` holds the crate's multiples of `G`; with `UKEY_BLESS_TABLES=1`
    /// set, rewrites `file` (under this module's folder) instead.
    pub fn check_table<C: FixedBase + PrimeCurveParams<FieldBytesSize = U32>>(file: &str) {
        let computed = compute::<C>();
        if std::env::var_os("UKEY_BLESS_TABLES").is_some() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/crypto/ecc")
                .join(file);
            std::fs::write(&path, &computed).expect("write the table");
        } else {
            let decoded: Vec<u8> = C::TABLE
                .iter()
                .flatten()
                .flat_map(|point| [point.x.to_be_bytes(), point.y.to_be_bytes()])
                .flatten()
                .collect();
            assert!(
                computed == decoded,
                "{file} is stale: rerun with UKEY_BLESS_TABLES=1"
            );
        }
    }

    /// `mul` agrees with the crate's `k·G` on edge and random scalars.
    pub fn check_mul<C: FixedBase + PrimeCurveParams<FieldBytesSize = U32>>()
    where
        Scalar<C>: Reduce<Array<u8, U32>>,
    {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut scalars = vec![
            Scalar::<C>::ZERO,
            Scalar::<C>::ONE,
            -Scalar::<C>::ONE,
            Scalar::<C>::reduce(&Array::from([0x88; 32])),
            Scalar::<C>::reduce(&Array::from([0x77; 32])),
            Scalar::<C>::reduce(&Array::from([0xFF; 32])),
        ];
        scalars.extend((0..200).map(|_| Scalar::<C>::random(&mut rng)));
        for k in scalars {
            let expected = (ProjectivePoint::<C>::GENERATOR * k).to_affine();
            let ours = mul::<C>(&k.to_repr().into());
            assert_eq!(ours.x.to_be_bytes(), <[u8; 32]>::from(expected.x()));
            assert_eq!(ours.y.to_be_bytes(), <[u8; 32]>::from(expected.y()));
        }
    }

    #[test]
    fn recoding_sums_back_to_the_scalar() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for _ in 0..200 {
            let mut k = [0u8; 32];
            rand_core::Rng::fill_bytes(&mut rng, &mut k);
            let digits = recode(&k);
            assert!(digits[..64].iter().all(|d| (-8..8).contains(d)));
            assert!((0..=1).contains(&digits[64]));
            // Rebuild k from the digits, most significant first, in 16-bit steps.
            let mut rebuilt = [0i32; 66];
            for (i, &d) in digits.iter().enumerate() {
                rebuilt[i] += i32::from(d);
            }
            for i in 0..65 {
                let carry = rebuilt[i].div_euclid(16);
                rebuilt[i] = rebuilt[i].rem_euclid(16);
                rebuilt[i + 1] += carry;
            }
            assert_eq!(rebuilt[65], 0);
            assert_eq!(rebuilt[64], 0);
            for i in 0..64 {
                let nibble = (k[31 - i / 2] >> (4 * (i % 2))) & 0x0F;
                assert_eq!(rebuilt[i], i32::from(nibble));
            }
        }
    }
}
