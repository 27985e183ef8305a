//! PKCS#10 certificate requests (RFC 2986) whose signature is made by any
//! [`MessageSigner`], the token above all.

use der::asn1::BitString;
use der::{Decode, Encode};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::algorithms::{self, algorithm_of, signature_algorithm};
use crate::error::{Error, Result};
use crate::signer::MessageSigner;
use ukey_host::{DEFAULT_SIGNER_ID, PublicKey};

/// Builds a request for `subject` and the signer's public key, signed by the signer.
pub fn build_csr(subject: Name, signer: &mut dyn MessageSigner) -> Result<CertReq> {
    let public_key = signer.public_key().clone();
    let info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: algorithms::spki(&public_key)?,
        attributes: Default::default(),
    };
    let tbs = info.to_der()?;
    let signature = signer.sign_message(&tbs)?;
    Ok(CertReq {
        info,
        algorithm: signature_algorithm(public_key.algorithm()),
        signature: BitString::from_bytes(&signature)?,
    })
}

/// Checks a request's own signature and returns its public key.
pub fn verify_csr(request: &CertReq) -> Result<PublicKey> {
    let public_key = algorithms::public_key(&request.info.public_key)?;
    if algorithm_of(&request.algorithm.oid) != Some(public_key.algorithm()) {
        return Err(Error::invalid(
            "the request's signature algorithm does not match its key",
        ));
    }
    let signature = request
        .signature
        .as_bytes()
        .ok_or_else(|| Error::invalid("the request's signature is not whole bytes"))?;
    public_key
        .verify(&request.info.to_der()?, signature, DEFAULT_SIGNER_ID)
        .map_err(|_| Error::invalid("the request's signature does not verify"))?;
    Ok(public_key)
}

/// Reads a DER request.
pub(crate) fn parse_csr(der: &[u8]) -> Result<CertReq> {
    CertReq::from_der(der).map_err(Error::unreadable("not a readable certificate request"))
}
