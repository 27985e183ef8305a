//! The object identifiers of the token's algorithms in X.509 and CMS, and public keys in
//! and out of SubjectPublicKeyInfo.

use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use ukey_host::{Algorithm, PublicKey};

use crate::error::Result;

/// ecdsa-with-SHA256 (RFC 5758).
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// SM2-with-SM3 (GM/T 0006).
pub const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
/// SHA-256.
pub(crate) const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// SM3 (GM/T 0006).
pub(crate) const SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.401");

/// The signature algorithm identifier of `algorithm`.
pub(crate) fn signature_algorithm(algorithm: Algorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: match algorithm {
            Algorithm::P256 => ECDSA_WITH_SHA256,
            Algorithm::Sm2 => SM2_WITH_SM3,
        },
        parameters: None,
    }
}

/// The key algorithm a signature algorithm identifier names, if it is one of ours.
pub(crate) fn algorithm_of(oid: &ObjectIdentifier) -> Option<Algorithm> {
    match *oid {
        ECDSA_WITH_SHA256 => Some(Algorithm::P256),
        SM2_WITH_SM3 => Some(Algorithm::Sm2),
        _ => None,
    }
}

/// The public key of a SubjectPublicKeyInfo.
pub(crate) fn public_key(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey> {
    Ok(PublicKey::from_spki_der(&spki.to_der()?)?)
}

/// The SubjectPublicKeyInfo of a public key.
pub(crate) fn spki(key: &PublicKey) -> Result<SubjectPublicKeyInfoOwned> {
    Ok(SubjectPublicKeyInfoOwned::from_der(&key.to_spki_der()?)?)
}
