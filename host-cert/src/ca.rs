//! A local test CA: a software key and a self-signed certificate in a directory the user
//! names, turning certificate requests into certificates so that issuance and renewal can
//! be tried with no outside CA. Not for production: the key sits in a file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use der::asn1::BitString;
use der::{Decode, Encode};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoRef,
};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use crate::algorithms::{self, signature_algorithm};
use crate::csr::{parse_csr, verify_csr};
use crate::error::{Error, Result};
use crate::pem::to_pem;
use crate::signer::{MessageSigner, SoftwareKey};
use ukey_host::Algorithm;
use ukey_host::PublicKey;

/// The CA's private key file in its directory.
const KEY_FILE: &str = "ca.key";
/// The CA's certificate file in its directory.
const CERT_FILE: &str = "ca.crt";
/// Seconds in a day.
const DAY: u64 = 86_400;

/// 9999-12-31T23:59:59Z in seconds since 1970: the last instant X.509 can write.
const LAST_X509_TIME: u64 = 253_402_300_799;

/// A test CA kept in a directory.
pub struct LocalCa {
    dir: PathBuf,
    key: SoftwareKey,
    certificate: Certificate,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").field("dir", &self.dir).finish()
    }
}

impl LocalCa {
    /// Creates a CA in `dir` (made if missing) with a new `algorithm` key and a self-signed
    /// certificate for `subject` valid `days` days. Refuses to overwrite an existing CA.
    pub fn init(dir: &Path, algorithm: Algorithm, subject: Name, days: u32) -> Result<Self> {
        let key_path = dir.join(KEY_FILE);
        if key_path.exists() {
            return Err(Error::input(format!(
                "{} already holds a CA; choose another directory",
                dir.display()
            )));
        }
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut key = SoftwareKey::generate(algorithm)?;
        let public = key.public_key().clone();
        let profile = Profile {
            issuer: subject.clone(),
            subject,
            ca: true,
            key_use: KeyUse::Signing,
        };
        let certificate = sign_certificate(&mut key, profile, &public, days)?;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
            .map_err(|e| Error::io(&key_path, e))?;
        file.write_all(key.to_pkcs8_pem()?.as_bytes())
            .map_err(|e| Error::io(&key_path, e))?;
        let cert_path = dir.join(CERT_FILE);
        fs::write(&cert_path, to_pem("CERTIFICATE", &certificate.to_der()?)?)
            .map_err(|e| Error::io(&cert_path, e))?;
        Ok(Self {
            dir: dir.to_owned(),
            key,
            certificate,
        })
    }

    /// Opens the CA kept in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let key_path = dir.join(KEY_FILE);
        let pem = fs::read_to_string(&key_path).map_err(|e| Error::io(&key_path, e))?;
        let key = SoftwareKey::from_pkcs8_pem(&pem)?;
        let der = crate::pem::read_der_or_pem(&dir.join(CERT_FILE))?;
        let certificate = Certificate::from_der(&der)?;
        Ok(Self {
            dir: dir.to_owned(),
            key,
            certificate,
        })
    }

    /// The CA certificate file.
    pub fn certificate_path(&self) -> PathBuf {
        self.dir.join(CERT_FILE)
    }

    /// The files that keep the CA: its key and its certificate.
    pub fn files(&self) -> [PathBuf; 2] {
        [self.dir.join(KEY_FILE), self.dir.join(CERT_FILE)]
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> Result<Vec<u8>> {
        Ok(self.certificate.to_der()?)
    }

    /// Checks a DER certificate request and issues a certificate for it, valid `days` days
    /// from now, for the key use `key_use` says. Returns the certificate, DER.
    pub fn issue(&mut self, request_der: &[u8], days: u32, key_use: KeyUse) -> Result<Vec<u8>> {
        let request = parse_csr(request_der)?;
        let public = verify_csr(&request)?;
        let profile = Profile {
            issuer: self.certificate.tbs_certificate().subject().clone(),
            subject: request.info.subject,
            ca: false,
            key_use,
        };
        Ok(sign_certificate(&mut self.key, profile, &public, days)?.to_der()?)
    }
}

/// The error for a validity that X.509 cannot write: past 9999-12-31 (RFC 5280, 4.1.2.5).
fn too_long(days: u32) -> Error {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let most = LAST_X509_TIME.saturating_sub(now) / DAY;
    Error::input(format!(
        "a validity of {days} days would end after 9999-12-31, the last date a certificate \
         can carry; give at most {most} days"
    ))
}

/// Builds and signs a certificate for `subject_key` with `signer`.
fn sign_certificate(
    signer: &mut SoftwareKey,
    profile: Profile,
    subject_key: &PublicKey,
    days: u32,
) -> Result<Certificate> {
    if days == 0 {
        return Err(Error::input("a certificate is valid at least one day"));
    }
    let validity = Validity::from_now(Duration::from_secs(u64::from(days) * DAY))
        .map_err(|_| too_long(days))?;
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(Error::Random)?;
    serial[0] &= 0x7F;
    serial[0] |= 0x01;
    let shim = KeyShim(signer.public_key().clone());
    let failed = Error::Builder;
    let mut builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(&serial)?,
        validity,
        algorithms::spki(subject_key)?,
    )
    .map_err(failed)?;
    let tbs = builder.finalize(&shim).map_err(failed)?;
    let signature = signer.sign_message(&tbs)?;
    builder
        .assemble(BitString::from_bytes(&signature)?, &shim)
        .map_err(failed)
}

/// What the certificate builder needs to know of the signing key: its public half and
/// its signature algorithm. The signature itself is made by a [`MessageSigner`].
struct KeyShim(PublicKey);

impl p256::ecdsa::signature::Keypair for KeyShim {
    type VerifyingKey = IssuerKey;

    fn verifying_key(&self) -> IssuerKey {
        IssuerKey(self.0.clone())
    }
}

impl DynSignatureAlgorithmIdentifier for KeyShim {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(signature_algorithm(self.0.algorithm()))
    }
}

/// The issuer's public key as the certificate builder reads it (SubjectPublicKeyInfo).
#[derive(Clone)]
struct IssuerKey(PublicKey);

impl EncodePublicKey for IssuerKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        let der = self
            .0
            .to_spki_der()
            .map_err(|_| spki::Error::KeyMalformed)?;
        Ok(der::Document::try_from(der)?)
    }
}

/// What an end-entity certificate's key is for, as its key usage extension says; Chinese
/// CAs issue one certificate of each kind (a dual certificate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyUse {
    /// Signing documents: digital signature and non-repudiation (slots 9A, 9C).
    #[default]
    Signing,
    /// Key agreement and encryption (slot 9D): what OpenSC needs to offer a key for ECDH.
    Encryption,
}

impl std::str::FromStr for KeyUse {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "signing" | "sign" => Ok(Self::Signing),
            "encryption" | "encrypt" => Ok(Self::Encryption),
            other => Err(format!("\"{other}\" is no key use: signing or encryption")),
        }
    }
}

/// The extensions of the test CA's certificates: a CA certificate signs certificates; an
/// end-entity certificate's key usage is its [`KeyUse`].
struct Profile {
    issuer: Name,
    subject: Name,
    ca: bool,
    key_use: KeyUse,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut extensions: Vec<Extension> = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let issuer_ski = SubjectKeyIdentifier::try_from(issuer_spk)?;
        extensions.push(
            BasicConstraints {
                ca: self.ca,
                path_len_constraint: None,
            }
            .to_extension(tbs.subject(), &extensions)?,
        );
        let usage = match (self.ca, self.key_use) {
            (true, _) => KeyUsages::KeyCertSign | KeyUsages::CRLSign,
            (false, KeyUse::Signing) => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            (false, KeyUse::Encryption) => {
                KeyUsages::KeyAgreement | KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment
            }
        };
        extensions.push(KeyUsage(usage).to_extension(tbs.subject(), &extensions)?);
        extensions.push(ski.to_extension(tbs.subject(), &extensions)?);
        extensions.push(
            AuthorityKeyIdentifier {
                key_identifier: Some(issuer_ski.0),
                ..Default::default()
            }
            .to_extension(tbs.subject(), &extensions)?,
        );
        Ok(extensions)
    }
}
