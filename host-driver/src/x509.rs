//! Certificates and signatures in X.509 and CMS: reading certificates as a certificate
//! assistant shows them, PKCS#10 requests signed on the token, a local test CA, and
//! detached signatures.
//!
//! Signing goes through [`MessageSigner`]: the token ([`Signer`]) or a software key
//! ([`SoftwareKey`], for the test CA). Either way the signer gets the whole message and
//! hashes it as its algorithm wants (SHA-256, or SM3 over Z_A and the message).

mod ca;
mod cert;
mod cms;
mod csr;
#[cfg(test)]
mod tests;

pub use ca::LocalCa;
pub use cert::{CertificateInfo, Renewal, certificate_public_key, days_until, verify_issued_by};
pub use cms::{CmsOptions, sign_cms_detached, verify_cms_detached};
pub use csr::{build_csr, verify_csr};

use std::path::Path;
use std::str::FromStr;

use der::asn1::{BmpString, Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use der::{Decode, Tag, Tagged};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::Name;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::{DEFAULT_SIGNER_ID, PublicKey};
use crate::piv::Algorithm;
use crate::token::Signer;

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

/// Something that signs whole messages with one key.
pub trait MessageSigner {
    /// The public key of the signing key.
    fn public_key(&self) -> &PublicKey;
    /// A DER `SEQUENCE { r, s }` signature of `message`.
    fn sign_message(&mut self, message: &[u8]) -> Result<Vec<u8>>;
}

/// The token signs through its [`Signer`]: one transaction per signature, with the PIN
/// when the slot's key asks for it.
impl MessageSigner for Signer<'_> {
    fn public_key(&self) -> &PublicKey {
        Signer::public_key(self)
    }

    fn sign_message(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        self.sign(message)
    }
}

/// A private key held in software, for the local test CA.
pub enum SoftwareKey {
    /// P-256.
    P256(p256::SecretKey, PublicKey),
    /// SM2.
    Sm2(sm2::SecretKey, PublicKey),
}

impl SoftwareKey {
    /// A fresh random key.
    pub fn generate(algorithm: Algorithm) -> Result<Self> {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut())
                .map_err(|e| Error::input(format!("no randomness from the system: {e}")))?;
            let key = match algorithm {
                Algorithm::P256 => p256::SecretKey::from_slice(bytes.as_ref())
                    .ok()
                    .map(Self::from),
                Algorithm::Sm2 => sm2::SecretKey::from_slice(bytes.as_ref())
                    .ok()
                    .map(Self::from),
            };
            if let Some(key) = key {
                return Ok(key);
            }
        }
    }

    /// Reads a PKCS#8 PEM private key of either curve.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        if let Ok(key) = p256::SecretKey::from_pkcs8_pem(pem) {
            return Ok(key.into());
        }
        sm2::SecretKey::from_pkcs8_pem(pem)
            .map(Self::from)
            .map_err(|_| Error::data("the key file holds no P-256 or SM2 private key"))
    }

    /// The key as PKCS#8 PEM.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        match self {
            SoftwareKey::P256(k, _) => k.to_pkcs8_pem(Default::default()),
            SoftwareKey::Sm2(k, _) => k.to_pkcs8_pem(Default::default()),
        }
        .map_err(|e| Error::data(format!("cannot encode the private key: {e}")))
    }
}

impl From<p256::SecretKey> for SoftwareKey {
    fn from(key: p256::SecretKey) -> Self {
        let public = PublicKey::P256(key.public_key());
        SoftwareKey::P256(key, public)
    }
}

impl From<sm2::SecretKey> for SoftwareKey {
    fn from(key: sm2::SecretKey) -> Self {
        let public = PublicKey::Sm2(key.public_key());
        SoftwareKey::Sm2(key, public)
    }
}

impl MessageSigner for SoftwareKey {
    fn public_key(&self) -> &PublicKey {
        match self {
            SoftwareKey::P256(_, pk) | SoftwareKey::Sm2(_, pk) => pk,
        }
    }

    fn sign_message(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let digest = self.public_key().digest(message, DEFAULT_SIGNER_ID)?;
        let failed = |_| Error::data("software signing failed");
        Ok(match self {
            SoftwareKey::P256(k, _) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(&*k)
                    .sign_prehash(&digest)
                    .map_err(failed)?;
                sig.to_der().as_bytes().to_vec()
            }
            SoftwareKey::Sm2(k, _) => {
                let signer = sm2::dsa::SigningKey::new(DEFAULT_SIGNER_ID, k).map_err(failed)?;
                let sig: sm2::dsa::Signature = signer.sign_prehash(&digest).map_err(failed)?;
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}

/// Reads a subject written as RFC 4514 (`CN=Zhang San,O=Example,C=CN`) or in OpenSSL's
/// form (`/C=CN/O=Example/CN=Zhang San`).
pub fn parse_name(text: &str) -> Result<Name> {
    let text = text.trim();
    let rfc4514 = match text.strip_prefix('/') {
        Some(rest) => rest.split('/').rev().collect::<Vec<_>>().join(","),
        None => text.to_owned(),
    };
    Name::from_str(&rfc4514)
        .map_err(|e| Error::input(format!("cannot read the subject \"{text}\": {e}")))
}

/// The text of an attribute value in any of the string types certificates use.
pub(crate) fn attribute_text(atv: &AttributeTypeAndValue) -> Option<String> {
    let value = &atv.value;
    match value.tag() {
        Tag::Utf8String => Utf8StringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::PrintableString => PrintableStringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::Ia5String => Ia5StringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::TeletexString => TeletexStringRef::try_from(value)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::BmpString => BmpString::from_der(&der::Encode::to_der(value).ok()?)
            .ok()
            .map(|s| s.to_string()),
        _ => None,
    }
}

/// A name as people read it: most specific part first, `CN=…, O=…, C=…`.
pub(crate) fn name_text(name: &Name) -> String {
    let mut parts = Vec::new();
    let rdns: Vec<_> = name.iter_rdn().collect();
    for rdn in rdns.into_iter().rev() {
        for atv in rdn.iter() {
            let key = const_oid::db::DB
                .by_oid(&atv.oid)
                .map(short_attribute_name)
                .unwrap_or_else(|| atv.oid.to_string());
            let value = attribute_text(atv).unwrap_or_else(|| "(binary)".to_owned());
            parts.push(format!("{key}={value}"));
        }
    }
    parts.join(", ")
}

/// The usual short names of the attributes seen in subjects.
fn short_attribute_name(name: &str) -> String {
    match name {
        "commonName" | "cn" => "CN".into(),
        "organizationName" | "o" => "O".into(),
        "organizationalUnitName" | "ou" => "OU".into(),
        "countryName" | "c" => "C".into(),
        "localityName" | "l" => "L".into(),
        "stateOrProvinceName" | "st" => "ST".into(),
        "serialNumber" => "serialNumber".into(),
        other => other.into(),
    }
}

/// The values of every attribute of `oid` in a name.
pub(crate) fn name_values(name: &Name, oid: ObjectIdentifier) -> Vec<String> {
    name.iter()
        .filter(|atv| atv.oid == oid)
        .filter_map(attribute_text)
        .collect()
}

/// Reads DER, or PEM with any label, from a file.
pub fn read_der_or_pem(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    der_or_pem(&bytes).map_err(|e| match e {
        Error::BadData { message } => Error::data(format!("{}: {message}", path.display())),
        other => other,
    })
}

/// DER as is, or the content of PEM text.
pub fn der_or_pem(bytes: &[u8]) -> Result<Vec<u8>> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if bytes[start..].starts_with(b"-----BEGIN") {
        let (_, der) = der::pem::decode_vec(&bytes[start..])
            .map_err(|e| Error::data(format!("cannot read the PEM text: {e}")))?;
        Ok(der)
    } else {
        Ok(bytes.to_vec())
    }
}

/// PEM text of DER with `label`.
pub fn to_pem(label: &'static str, der: &[u8]) -> Result<String> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
        .map_err(|e| Error::data(format!("cannot write PEM: {e}")))
}
