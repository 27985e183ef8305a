//! Who signs: [`MessageSigner`] is anything that signs whole messages with one key, the
//! token's [`Signer`] above all, or a [`SoftwareKey`] (the test CA's).

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ukey_host::{Algorithm, DEFAULT_SIGNER_ID, PublicKey, Signer};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

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
        Ok(self.sign(message)?)
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
            getrandom::fill(bytes.as_mut()).map_err(Error::Random)?;
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
            .map_err(|source| Error::PrivateKey {
                what: "the key file holds no P-256 or SM2 private key",
                source,
            })
    }

    /// The key as PKCS#8 PEM.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        match self {
            SoftwareKey::P256(k, _) => k.to_pkcs8_pem(Default::default()),
            SoftwareKey::Sm2(k, _) => k.to_pkcs8_pem(Default::default()),
        }
        .map_err(|source| Error::PrivateKey {
            what: "cannot encode the private key",
            source,
        })
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
        let failed = Error::Signing;
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
