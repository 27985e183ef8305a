//! Distinguished names: read as people write them, shown as people read them.

use std::str::FromStr;

use der::asn1::{BmpString, Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use der::{Decode, Tag, Tagged};
use spki::ObjectIdentifier;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::Name;

use crate::error::{Error, Result};

/// Reads a subject written as RFC 4514 (`CN=Zhang San,O=Example,C=CN`) or in OpenSSL's
/// form (`/C=CN/O=Example/CN=Zhang San`).
pub fn parse_name(text: &str) -> Result<Name> {
    let text = text.trim();
    let rfc4514 = match text.strip_prefix('/') {
        Some(rest) => rest.split('/').rev().collect::<Vec<_>>().join(","),
        None => text.to_owned(),
    };
    check_attributes(&rfc4514)
        .map_err(|why| Error::input(format!("cannot read the subject \"{text}\": {why}")))?;
    Name::from_str(&rfc4514)
        .map_err(|e| Error::input(format!("cannot read the subject \"{text}\": {e}")))
}

/// Says what is wrong with a subject in RFC 4514 form, part by part, before the parser's
/// terse verdict ("operation failed", "malformed OID") can.
fn check_attributes(rfc4514: &str) -> std::result::Result<(), String> {
    const EXAMPLE: &str = "write it as CN=Zhang San,O=Example,C=CN";
    for part in unescaped_split(rfc4514) {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("an empty part between commas; {EXAMPLE}"));
        }
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!("\"{part}\" is not KEY=value; {EXAMPLE}"));
        };
        let key = key.trim();
        if !is_attribute_name(key) {
            return Err(format!(
                "\"{key}\" is not an attribute name; use CN, O, OU, C, L, ST, serialNumber, \
                 emailAddress or a dotted OID such as 2.5.4.3"
            ));
        }
        if value.trim().is_empty() {
            return Err(format!("{key} has no value"));
        }
    }
    Ok(())
}

/// The attribute-value parts of an RFC 4514 name: split at commas and plus signs that no
/// backslash escapes.
fn unescaped_split(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (at, character) in text.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' | '+' => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Whether `key` names an attribute: a name the OID database knows, or a dotted OID.
fn is_attribute_name(key: &str) -> bool {
    const_oid::db::DB.by_name(key).is_some()
        || const_oid::db::DB.by_name(&key.to_lowercase()).is_some()
        || ObjectIdentifier::new(key).is_ok()
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Attribute values as people type them: Latin, digits, Chinese, inner spaces, and the
    /// comma and plus sign RFC 4514 makes them escape.
    fn value() -> impl Strategy<Value = String> {
        "[A-Za-z0-9\u{4e00}-\u{4e2f}]([A-Za-z0-9 ,+\u{4e00}-\u{4e2f}]{0,20}[A-Za-z0-9])?"
    }

    fn escaped(value: &str) -> String {
        value.replace(',', "\\,").replace('+', "\\+")
    }

    proptest! {
        #[test]
        fn any_text_is_read_or_refused_without_a_panic(text in "\\PC{0,60}") {
            let _ = parse_name(&text);
        }

        #[test]
        fn subjects_read_back_their_values_in_both_forms(
            cn in value(),
            o in value(),
            country in "[A-Z]{2}",
        ) {
            let rfc4514 = format!("CN={},O={},C={country}", escaped(&cn), escaped(&o));
            let openssl = format!("/C={country}/O={}/CN={}", escaped(&o), escaped(&cn));
            let name = parse_name(&rfc4514).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(name_values(&name, const_oid::db::rfc4519::CN), vec![cn.clone()]);
            prop_assert_eq!(name_values(&name, const_oid::db::rfc4519::O), vec![o.clone()]);
            prop_assert_eq!(name_values(&name, const_oid::db::rfc4519::C), vec![country.clone()]);
            let other = parse_name(&openssl).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(name, other);
        }
    }
}
