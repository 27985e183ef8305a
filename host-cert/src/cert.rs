//! A certificate as a certificate assistant shows it: who it belongs to, who issued it,
//! how long it is valid and whether to renew it. Chinese CAs renew a one-year certificate
//! in its last 90 days, so 90 days or fewer left reads "renew now".

use std::time::{Duration, SystemTime};

use const_oid::db::rfc4519::{COMMON_NAME, ORGANIZATION_NAME};
use der::{Decode, Encode};
use x509_cert::Certificate;

use crate::algorithms::{self, algorithm_of};
use crate::error::{Error, Result};
use crate::name::{attribute_text, name_text, name_values};
use crate::uscc::{self, OrgId};
use ukey_host::Algorithm;
use ukey_host::PublicKey;

/// Days left at which a certificate is due for renewal.
pub const RENEW_DAYS: i64 = 90;
/// Seconds in a day.
const DAY: i64 = 86_400;

/// Whether a certificate is usable and when to renew it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Renewal {
    /// Valid, more than 90 days left.
    Valid,
    /// Valid, 90 days or fewer left: renew now.
    RenewNow,
    /// Past its end date.
    Expired,
    /// Its start date has not come yet.
    NotYetValid,
}

impl std::fmt::Display for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Renewal::Valid => "valid",
            Renewal::RenewNow => "renew now",
            Renewal::Expired => "expired",
            Renewal::NotYetValid => "not yet valid",
        })
    }
}

/// What a certificate says, ready to show.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CertificateInfo {
    /// The subject, most specific part first.
    pub subject: String,
    /// The issuer, most specific part first.
    pub issuer: String,
    /// The subject's common name.
    pub common_name: Option<String>,
    /// The holder organisation (the subject's O).
    pub organisation: Option<String>,
    /// The serial number in hex.
    pub serial: String,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Whole days left until the end of validity (negative once expired).
    pub days_left: i64,
    /// Whether to renew.
    pub renewal: Renewal,
    /// The day the renewal window opens ([`RENEW_DAYS`] before the end of validity), as
    /// `YYYY-MM-DD` (none if that day is before 1970, which X.509 time cannot say here).
    pub renewal_opens: Option<String>,
    /// The subject key's algorithm, when it is one of the token's.
    pub key_algorithm: Option<Algorithm>,
    /// The signature algorithm (name or OID).
    pub signature_algorithm: String,
    /// Unified social credit codes and tax IDs found in the subject.
    pub organisation_ids: Vec<OrgId>,
}

/// Whole days from `now` until `time` (negative when `time` has passed).
pub fn days_until(time: SystemTime, now: SystemTime) -> i64 {
    let seconds = match time.duration_since(now) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    seconds.div_euclid(DAY)
}

/// The day, `YYYY-MM-DD`, [`RENEW_DAYS`] before `not_after`.
fn renewal_opens(not_after: SystemTime) -> Option<String> {
    let window = Duration::from_secs(RENEW_DAYS.unsigned_abs() * DAY.unsigned_abs());
    not_after
        .checked_sub(window)
        .and_then(|opens| der::DateTime::from_system_time(opens).ok())
        .map(|opens| {
            format!(
                "{:04}-{:02}-{:02}",
                opens.year(),
                opens.month(),
                opens.day()
            )
        })
}

impl CertificateInfo {
    /// Reads a DER certificate as seen now.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_der_at(der, SystemTime::now())
    }

    /// Reads a DER certificate as seen at `now`.
    pub fn from_der_at(der: &[u8], now: SystemTime) -> Result<Self> {
        let cert = Certificate::from_der(der)
            .map_err(Error::unreadable("not a readable X.509 certificate"))?;
        let tbs = cert.tbs_certificate();
        let validity = tbs.validity();
        let not_before = validity.not_before.to_system_time();
        let not_after = validity.not_after.to_system_time();
        let days_left = days_until(not_after, now);
        let renewal = if now > not_after {
            Renewal::Expired
        } else if now < not_before {
            Renewal::NotYetValid
        } else if days_left <= RENEW_DAYS {
            Renewal::RenewNow
        } else {
            Renewal::Valid
        };
        let subject_values: Vec<String> = tbs.subject().iter().filter_map(attribute_text).collect();
        let spki = tbs.subject_public_key_info().to_der()?;
        let sig_oid = cert.signature_algorithm().oid;
        Ok(Self {
            subject: name_text(tbs.subject()),
            issuer: name_text(tbs.issuer()),
            common_name: name_values(tbs.subject(), COMMON_NAME).into_iter().next(),
            organisation: name_values(tbs.subject(), ORGANIZATION_NAME)
                .into_iter()
                .next(),
            serial: base16ct::upper::encode_string(tbs.serial_number().as_bytes()),
            not_before: validity.not_before.to_date_time().to_string(),
            not_after: validity.not_after.to_date_time().to_string(),
            days_left,
            renewal,
            renewal_opens: renewal_opens(not_after),
            key_algorithm: PublicKey::from_spki_der(&spki).ok().map(|k| k.algorithm()),
            signature_algorithm: match algorithm_of(&sig_oid) {
                Some(Algorithm::P256) => "ecdsa-with-SHA256".to_owned(),
                Some(Algorithm::Sm2) => "SM2-with-SM3".to_owned(),
                None => const_oid::db::DB
                    .by_oid(&sig_oid)
                    .map_or_else(|| sig_oid.to_string(), str::to_owned),
            },
            organisation_ids: subject_values.iter().flat_map(|v| uscc::find(v)).collect(),
        })
    }
}

/// The subject public key of a DER certificate.
pub fn certificate_public_key(der: &[u8]) -> Result<PublicKey> {
    let cert = Certificate::from_der(der)
        .map_err(Error::unreadable("not a readable X.509 certificate"))?;
    algorithms::public_key(cert.tbs_certificate().subject_public_key_info())
}

/// Checks that the DER certificate `der` was issued by the DER certificate `issuer_der`:
/// the names chain and the issuer's key verifies the signature.
pub fn verify_issued_by(der: &[u8], issuer_der: &[u8]) -> Result<()> {
    let cert = Certificate::from_der(der)
        .map_err(Error::unreadable("not a readable X.509 certificate"))?;
    let issuer = Certificate::from_der(issuer_der)
        .map_err(Error::unreadable("not a readable CA certificate"))?;
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Err(Error::NotIssuedByCa {
            why: "its issuer is not the CA's name",
        });
    }
    let issuer_key = algorithms::public_key(issuer.tbs_certificate().subject_public_key_info())?;
    if algorithm_of(&cert.signature_algorithm().oid) != Some(issuer_key.algorithm()) {
        return Err(Error::NotIssuedByCa {
            why: "it is signed with another algorithm than the CA's key",
        });
    }
    let signature = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| Error::invalid("the certificate's signature is not whole bytes"))?;
    issuer_key
        .verify(
            &cert.tbs_certificate().to_der()?,
            signature,
            ukey_host::DEFAULT_SIGNER_ID,
        )
        .map_err(|_| Error::NotIssuedByCa {
            why: "the CA's key does not verify its signature",
        })
}
