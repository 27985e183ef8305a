//! The two curves a ukey slot holds (card-edge.md, Algorithms): their PIV algorithm numbers,
//! object identifiers, and the public point of a private scalar.

use p256::elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use p256::elliptic_curve::{CurveArithmetic, FieldBytesSize, PublicKey, SecretKey};
use pkcs8::ObjectIdentifier;
use pkcs8::der::oid::AssociatedOid;

/// An uncompressed point `04 ‖ X ‖ Y`, as GENERATE and GET METADATA answer it.
pub type Point = [u8; 65];

/// `id-ecPublicKey` (RFC 5480): the algorithm of every EC key, its curve in the parameters.
pub(super) const EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// A slot's key algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// ECDSA over NIST P-256 (PIV algorithm `11`).
    P256,
    /// SM2 (GB/T 32918), PIV algorithm `54` as card-edge.md numbers it.
    Sm2,
}

impl Curve {
    /// Reads the `algorithm` of a fixture key: `P-256` or `SM2`, in any case.
    pub(super) fn parse(name: &str) -> Result<Self, String> {
        match name.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
            "P256" | "ECCP256" | "PRIME256V1" | "SECP256R1" => Ok(Self::P256),
            "SM2" => Ok(Self::Sm2),
            _ => Err(format!("algorithm = \"{name}\": use \"P-256\" or \"SM2\"")),
        }
    }

    /// The algorithm number of GENERATE, GENERAL AUTHENTICATE and GET METADATA.
    pub fn piv_algorithm(self) -> u8 {
        match self {
            Self::P256 => 0x11,
            Self::Sm2 => 0x54,
        }
    }

    /// The curve's name as fixtures and messages write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::Sm2 => "SM2",
        }
    }

    /// The curve named by `oid` in a key's or certificate's parameters; otherwise the error
    /// is the name of the curve or algorithm the file holds instead.
    pub(super) fn from_oid(oid: ObjectIdentifier) -> Result<Self, String> {
        if oid == p256::NistP256::OID {
            Ok(Self::P256)
        } else if oid == sm2::Sm2::OID {
            Ok(Self::Sm2)
        } else {
            Err(other_algorithm(oid))
        }
    }

    /// The public point of the private scalar `secret` (32 bytes, big-endian), or why it
    /// is not a private key of this curve.
    pub(super) fn public_point(self, secret: &[u8; 32]) -> Result<Point, String> {
        match self {
            Self::P256 => public_of::<p256::NistP256>(secret),
            Self::Sm2 => public_of::<sm2::Sm2>(secret),
        }
        .ok_or_else(|| format!("the private key is not a valid {} key", self.name()))
    }

    /// `bytes` (an uncompressed or compressed SEC1 point) as an uncompressed point, or
    /// `None` when it is not a point of this curve.
    pub(super) fn uncompressed(self, bytes: &[u8]) -> Option<Point> {
        match self {
            Self::P256 => normalized::<p256::NistP256>(bytes),
            Self::Sm2 => normalized::<sm2::Sm2>(bytes),
        }
    }
}

fn public_of<C>(secret: &[u8; 32]) -> Option<Point>
where
    C: CurveArithmetic,
    C::AffinePoint: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    let key = SecretKey::<C>::from_slice(secret).ok()?;
    point_bytes(&key.public_key())
}

fn normalized<C>(bytes: &[u8]) -> Option<Point>
where
    C: CurveArithmetic,
    C::AffinePoint: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    point_bytes(&PublicKey::<C>::from_sec1_bytes(bytes).ok()?)
}

fn point_bytes<C>(key: &PublicKey<C>) -> Option<Point>
where
    C: CurveArithmetic,
    C::AffinePoint: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    key.to_sec1_point(false).as_bytes().try_into().ok()
}

/// The name of an algorithm or curve a ukey slot cannot hold.
fn other_algorithm(oid: ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.3.132.0.34" => "P-384 (secp384r1)".to_string(),
        "1.3.132.0.35" => "P-521 (secp521r1)".to_string(),
        "1.3.132.0.10" => "secp256k1".to_string(),
        "1.2.840.10045.3.1.1" => "P-192 (prime192v1)".to_string(),
        "1.2.840.113549.1.1.1" => "RSA".to_string(),
        "1.3.101.112" => "Ed25519".to_string(),
        other => format!("OID {other}"),
    }
}
