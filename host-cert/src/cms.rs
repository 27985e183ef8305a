//! Detached CMS signatures (RFC 5652 section 5) made with any [`MessageSigner`]: the
//! content stays in its file; the signature carries the signer's certificate and signed
//! attributes (content type, message digest, signing time), and the signature covers the
//! DER of those attributes. P-256 uses SHA-256 and ecdsa-with-SHA256; SM2 uses SM3 and
//! SM2-with-SM3 (GB/T 35275).

use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{
    ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use sha2::{Digest, Sha256};
use sm3::Sm3;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use crate::algorithms::{self, SHA256, SM3, algorithm_of, signature_algorithm};
use crate::error::{Error, Result};
use crate::signer::MessageSigner;
use ukey_host::Algorithm;
use ukey_host::DEFAULT_SIGNER_ID;

/// Choices for a CMS signature.
#[derive(Clone, Debug, Default)]
pub struct CmsOptions {
    /// The signing time to record; now when `None`.
    pub signing_time: Option<SystemTime>,
}

/// The digest algorithm and the digest of `content` that go with `algorithm`.
fn content_digest(algorithm: Algorithm, content: &[u8]) -> (AlgorithmIdentifierOwned, Vec<u8>) {
    match algorithm {
        Algorithm::P256 => (
            AlgorithmIdentifierOwned {
                oid: SHA256,
                parameters: None,
            },
            Sha256::digest(content).to_vec(),
        ),
        Algorithm::Sm2 => (
            AlgorithmIdentifierOwned {
                oid: SM3,
                parameters: None,
            },
            Sm3::digest(content).to_vec(),
        ),
    }
}

fn attribute(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// Signs `content` and returns a detached CMS `ContentInfo`, DER. `certificate_der` is the
/// signer's certificate; its key must be the signer's.
pub fn sign_cms_detached(
    content: &[u8],
    certificate_der: &[u8],
    signer: &mut dyn MessageSigner,
    options: &CmsOptions,
) -> Result<Vec<u8>> {
    let certificate = Certificate::from_der(certificate_der)?;
    let cert_key = algorithms::public_key(certificate.tbs_certificate().subject_public_key_info())?;
    if &cert_key != signer.public_key() {
        return Err(Error::input(
            "the certificate does not belong to the key that signs",
        ));
    }
    let algorithm = cert_key.algorithm();
    let (digest_alg, digest) = content_digest(algorithm, content);
    let time = Time::try_from(options.signing_time.unwrap_or_else(SystemTime::now))?;
    let mut signed_attrs = SetOfVec::new();
    signed_attrs.insert(attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?)?;
    signed_attrs.insert(attribute(ID_SIGNING_TIME, Any::encode_from(&time)?)?)?;
    signed_attrs.insert(attribute(
        ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(digest)?)?,
    )?)?;
    let signature = signer.sign_message(&signed_attrs.to_der()?)?;
    let tbs = certificate.tbs_certificate();
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signature_algorithm(algorithm),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(digest_alg)?;
    let mut certificates = SetOfVec::new();
    certificates.insert(CertificateChoices::Certificate(certificate.clone()))?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info)?;
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    Ok(ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    }
    .to_der()?)
}

/// Checks a detached CMS signature of `content` made as [`sign_cms_detached`] makes them:
/// the message digest attribute, then the signature over the signed attributes with the
/// key of the certificate it carries. Returns that certificate, DER. Whether to trust the
/// certificate is for the caller to decide.
pub fn verify_cms_detached(content: &[u8], cms_der: &[u8]) -> Result<Vec<u8>> {
    let info = ContentInfo::from_der(cms_der)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(Error::invalid("not a CMS signed-data structure"));
    }
    let signed: SignedData = info.content.decode_as()?;
    let signer = signed
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| Error::invalid("the CMS signature has no signer"))?;
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer.sid else {
        return Err(Error::invalid(
            "the signer is not named by issuer and serial",
        ));
    };
    let certificate = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .find_map(|choice| match choice {
            CertificateChoices::Certificate(c)
                if c.tbs_certificate().issuer() == &sid.issuer
                    && c.tbs_certificate().serial_number() == &sid.serial_number =>
            {
                Some(c)
            }
            _ => None,
        })
        .ok_or_else(|| Error::invalid("the signer's certificate is not in the CMS signature"))?;
    let public_key =
        algorithms::public_key(certificate.tbs_certificate().subject_public_key_info())?;
    let algorithm = algorithm_of(&signer.signature_algorithm.oid).ok_or_else(|| {
        Error::invalid("the signature algorithm is not ecdsa-with-SHA256 or SM2-with-SM3")
    })?;
    if algorithm != public_key.algorithm() {
        return Err(Error::invalid(
            "the signature algorithm does not match the key",
        ));
    }
    let (_, digest) = content_digest(algorithm, content);
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| Error::invalid("the CMS signature has no signed attributes"))?;
    let recorded = attrs
        .iter()
        .find(|a| a.oid == ID_MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .ok_or_else(|| Error::invalid("the CMS signature records no message digest"))?
        .decode_as::<OctetString>()?;
    if recorded.as_bytes() != digest.as_slice() {
        return Err(ukey_host::Error::SignatureInvalid.into());
    }
    public_key.verify(
        &attrs.to_der()?,
        signer.signature.as_bytes(),
        DEFAULT_SIGNER_ID,
    )?;
    Ok(certificate.to_der()?)
}
