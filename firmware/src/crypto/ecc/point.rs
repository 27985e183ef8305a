//! Points of `y² = x³ - 3x + b` (P-256 and SM2 both have `a = -3`) with the complete
//! formulas of Renes, Costello and Batina, "Complete addition formulas for prime order
//! elliptic curves" (EUROCRYPT 2016, eprint 2015/1060): one sequence of field operations for
//! every input, the identity and equal points included, so nothing branches on a secret.

use subtle::Choice;

use super::field::FieldElement;

/// A point `(x, y)` of the curve; never the identity.
#[derive(Clone, Copy)]
pub struct Affine<F> {
    /// `x`.
    pub x: F,
    /// `y`.
    pub y: F,
}

/// A point in homogeneous projective coordinates `(X : Y : Z)`, standing for
/// `(X/Z, Y/Z)`; the identity is `(0 : 1 : 0)`.
#[derive(Clone, Copy)]
pub struct Projective<F> {
    x: F,
    y: F,
    z: F,
}

impl<F: FieldElement> Affine<F> {
    /// `-self`.
    pub fn neg(&self) -> Self {
        Self {
            x: self.x,
            y: -self.y,
        }
    }

    /// `b` if `choice` is set, else `a`, in constant time.
    pub fn select(a: &Self, b: &Self, choice: Choice) -> Self {
        Self {
            x: F::select(&a.x, &b.x, choice),
            y: F::select(&a.y, &b.y, choice),
        }
    }
}

impl<F: FieldElement> Projective<F> {
    /// The point at infinity.
    pub const IDENTITY: Self = Self {
        x: F::ZERO,
        y: F::ONE,
        z: F::ZERO,
    };

    /// `self + other`, or `self` unchanged when `skip` is set: RCB Algorithm 5 (mixed
    /// addition, `a = -3`), 11 multiplications and 2 by `b`.
    pub fn add_affine(&self, other: &Affine<F>, skip: Choice) -> Self {
        let (x1, y1, z1) = (self.x, self.y, self.z);
        let (x2, y2) = (other.x, other.y);
        let t0 = x1 * x2;
        let t1 = y1 * y2;
        let t3 = (x2 + y2) * (x1 + y1) - (t0 + t1);
        let t4 = y2 * z1 + y1;
        let y3 = x2 * z1 + x1;
        let x3 = y3 - F::B * z1;
        let x3 = x3 + x3 + x3;
        let z3 = t1 - x3;
        let x3 = t1 + x3;
        let t2 = z1 + z1 + z1;
        let y3 = F::B * y3 - t2 - t0;
        let y3 = y3 + y3 + y3;
        let t0 = t0 + t0 + t0 - t2;
        let sum = Self {
            x: t3 * x3 - t4 * y3,
            y: x3 * z3 + t0 * y3,
            z: t4 * z3 + t3 * t0,
        };
        Self::select(&sum, self, skip)
    }

    /// `2·self`: RCB Algorithm 6 (doubling, `a = -3`), 8 multiplications, 2 by `b` and 3
    /// squarings.
    pub fn double(&self) -> Self {
        let (x, y, z) = (self.x, self.y, self.z);
        let t0 = x.square();
        let t1 = y.square();
        let t2 = z.square();
        let t3 = x * y;
        let t3 = t3 + t3;
        let z3 = x * z;
        let z3 = z3 + z3;
        let y3 = F::B * t2 - z3;
        let y3 = y3 + y3 + y3;
        let x3 = t1 - y3;
        let y3 = t1 + y3;
        let y3 = x3 * y3;
        let x3 = x3 * t3;
        let t2 = t2 + t2 + t2;
        let z3 = F::B * z3 - t2 - t0;
        let z3 = z3 + z3 + z3;
        let t0 = t0 + t0 + t0 - t2;
        let y3 = y3 + t0 * z3;
        let t0 = y * z;
        let t0 = t0 + t0;
        let z3 = t0 * z3;
        let z4 = t0 * t1;
        let z4 = z4 + z4;
        Self {
            x: x3 - z3,
            y: y3,
            z: z4 + z4,
        }
    }

    /// `(X/Z, Y/Z)`: one Fermat inversion. The identity comes out as `(0, 0)`, which no
    /// caller produces (`k·G` for `0 < k < n`).
    pub fn to_affine(self) -> Affine<F> {
        let z_inv = self.z.invert();
        Affine {
            x: self.x * z_inv,
            y: self.y * z_inv,
        }
    }

    fn select(a: &Self, b: &Self, choice: Choice) -> Self {
        Self {
            x: F::select(&a.x, &b.x, choice),
            y: F::select(&a.y, &b.y, choice),
            z: F::select(&a.z, &b.z, choice),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The exceptional inputs that incomplete formulas get wrong, on both curves' `G` and
    //! `2G` from the tables (which `fixed_base`'s tests check against the crates).

    use super::*;
    use crate::crypto::ecc::fixed_base::FixedBase;

    fn same<F: FieldElement>(a: &Affine<F>, b: &Affine<F>) -> bool {
        a.x.to_be_bytes() == b.x.to_be_bytes() && a.y.to_be_bytes() == b.y.to_be_bytes()
    }

    fn is_identity<F: FieldElement>(p: &Projective<F>) -> bool {
        p.z.to_be_bytes() == [0; 32] && p.x.to_be_bytes() == [0; 32]
    }

    fn exceptional_cases<C: FixedBase>() {
        let (g, g2) = (C::TABLE[0][0], C::TABLE[0][1]);
        let add = Choice::from(0);
        let projective_g = Projective::IDENTITY.add_affine(&g, add);
        assert!(same(&projective_g.to_affine(), &g), "O + G = G");
        assert!(
            same(&projective_g.add_affine(&g, add).to_affine(), &g2),
            "G + G = 2G"
        );
        assert!(same(&projective_g.double().to_affine(), &g2), "2·G");
        assert!(
            is_identity(&projective_g.add_affine(&g.neg(), add)),
            "G - G = O"
        );
        assert!(
            is_identity(&Projective::<C::Field>::IDENTITY.double()),
            "2·O = O"
        );
        let kept = projective_g.add_affine(&g2, Choice::from(1));
        assert!(
            same(&kept.to_affine(), &g),
            "a skipped addition keeps the point"
        );
    }

    #[test]
    fn p256_exceptional_cases() {
        exceptional_cases::<p256::NistP256>();
    }

    #[test]
    fn sm2_exceptional_cases() {
        exceptional_cases::<sm2::Sm2>();
    }
}
