//! Requests, certificates and CMS signatures made here and checked by the `openssl`
//! command (OpenSSL 3.0), with software keys standing in for the token.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use der::Encode;

use crate::uscc::IdKind;
use ukey_host::Algorithm;

use crate::name::name_text;
use crate::*;

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn csr_pem(algorithm: Algorithm, subject: &str) -> (SoftwareKey, String) {
    let mut key = SoftwareKey::generate(algorithm).unwrap();
    let csr = build_csr(parse_name(subject).unwrap(), &mut key).unwrap();
    let pem = to_pem("CERTIFICATE REQUEST", &csr.to_der().unwrap()).unwrap();
    (key, pem)
}

#[test]
fn requests_signed_here_verify_with_openssl_req() {
    let dir = tempfile::tempdir().unwrap();
    for (algorithm, extra) in [
        (Algorithm::P256, &[][..]),
        (Algorithm::Sm2, &["-vfyopt", "distid:1234567812345678"][..]),
    ] {
        let (_, pem) = csr_pem(
            algorithm,
            "CN=张三,O=某某科技有限公司,OU=91350100M000100Y43,C=CN",
        );
        std::fs::write(dir.path().join("req.pem"), pem).unwrap();
        let mut args = vec!["req", "-verify", "-noout", "-in", "req.pem"];
        args.extend_from_slice(extra);
        let (ok, text) = openssl(dir.path(), &args);
        assert!(ok, "{algorithm:?}: {text}");
        assert!(
            text.contains("verify OK")
                || text.contains("Certificate request self-signature verify OK"),
            "{text}"
        );
    }
}

#[test]
fn test_ca_issues_certificates_openssl_verifies() {
    for algorithm in [Algorithm::P256, Algorithm::Sm2] {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        let mut ca = LocalCa::init(
            &ca_dir,
            algorithm,
            parse_name("CN=ukey test CA,O=ukey,C=CN").unwrap(),
            3650,
        )
        .unwrap();
        assert!(LocalCa::init(&ca_dir, algorithm, parse_name("CN=x").unwrap(), 1).is_err());
        let (_, pem) = csr_pem(algorithm, "/C=CN/O=某某科技有限公司/CN=李四");
        let request = der_or_pem(pem.as_bytes()).unwrap();
        let cert = ca.issue(&request, 365, KeyUse::Signing).unwrap();
        std::fs::write(
            dir.path().join("leaf.pem"),
            to_pem("CERTIFICATE", &cert).unwrap(),
        )
        .unwrap();

        let reopened = LocalCa::open(&ca_dir).unwrap();
        assert_eq!(
            reopened.certificate_der().unwrap(),
            ca.certificate_der().unwrap()
        );

        let ca_file = ca.certificate_path();
        let ca_file = ca_file.to_str().unwrap();
        let mut args = vec!["verify", "-CAfile", ca_file];
        if algorithm == Algorithm::Sm2 {
            args.extend_from_slice(&["-vfyopt", "distid:1234567812345678"]);
        }
        args.push("leaf.pem");
        let (ok, text) = openssl(dir.path(), &args);
        assert!(ok, "{algorithm:?}: {text}");

        let info = CertificateInfo::from_der(&cert).unwrap();
        assert_eq!(info.common_name.as_deref(), Some("李四"));
        assert_eq!(info.organisation.as_deref(), Some("某某科技有限公司"));
        assert_eq!(info.issuer, "CN=ukey test CA, O=ukey, C=CN");
        assert_eq!(info.subject, "CN=李四, O=某某科技有限公司, C=CN");
        assert_eq!(info.key_algorithm, Some(algorithm));
        assert!((364..=365).contains(&info.days_left), "{}", info.days_left);
        assert_eq!(info.renewal, Renewal::Valid);
    }
}

#[test]
fn renewal_states_follow_the_90_day_rule() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca = LocalCa::init(
        dir.path(),
        Algorithm::P256,
        parse_name("CN=CA").unwrap(),
        30,
    )
    .unwrap();
    let (_, pem) = csr_pem(Algorithm::P256, "CN=Wang Wu,OU=91350100M000100Y44");
    let cert = ca
        .issue(&der_or_pem(pem.as_bytes()).unwrap(), 365, KeyUse::Signing)
        .unwrap();
    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    let at = |t| CertificateInfo::from_der_at(&cert, t).unwrap();
    assert_eq!(at(now + day * 200).renewal, Renewal::Valid);
    assert_eq!(at(now + day * 276).renewal, Renewal::RenewNow);
    assert_eq!(at(now + day * 364).days_left, 0);
    assert_eq!(at(now + day * 366).renewal, Renewal::Expired);
    assert!(at(now + day * 366).days_left < 0);
    assert_eq!(at(now - day).renewal, Renewal::NotYetValid);
    let ids = at(now).organisation_ids;
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].kind, IdKind::CreditCode);
    assert!(!ids[0].check_ok, "a wrong check character is flagged");
    assert!(CertificateInfo::from_der(b"not a certificate").is_err());
}

/// OpenSSL 3.0 neither makes nor checks SM2 CMS signatures (its own `cms -sign` with an SM2
/// key fails in encoding), so SM2 is checked by our verifier and P-256 by OpenSSL too.
#[test]
fn detached_cms_verifies_with_openssl_cms() {
    for algorithm in [Algorithm::P256, Algorithm::Sm2] {
        let dir = tempfile::tempdir().unwrap();
        let mut ca = LocalCa::init(
            &dir.path().join("ca"),
            algorithm,
            parse_name("CN=CA,C=CN").unwrap(),
            3650,
        )
        .unwrap();
        let (mut key, pem) = csr_pem(algorithm, "CN=Signer,O=Example,C=CN");
        let cert = ca
            .issue(&der_or_pem(pem.as_bytes()).unwrap(), 365, KeyUse::Signing)
            .unwrap();
        let content = b"an agreement, signed\n";
        let cms = sign_cms_detached(content, &cert, &mut key, &CmsOptions::default()).unwrap();
        assert_eq!(verify_cms_detached(content, &cms).unwrap(), cert);
        assert!(matches!(
            verify_cms_detached(b"another text", &cms),
            Err(Error::Host(ukey_host::Error::SignatureInvalid))
        ));
        if algorithm == Algorithm::Sm2 {
            continue;
        }
        std::fs::write(dir.path().join("content.txt"), content).unwrap();
        std::fs::write(dir.path().join("sig.p7s"), &cms).unwrap();
        let ca_file = ca.certificate_path();
        let (ok, text) = openssl(
            dir.path(),
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "sig.p7s",
                "-content",
                "content.txt",
                "-CAfile",
                ca_file.to_str().unwrap(),
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
        );
        assert!(ok, "{text}");
    }
}

#[test]
fn subjects_in_both_notations() {
    let a = parse_name("CN=Zhang San,O=Example,C=CN").unwrap();
    let b = parse_name("/C=CN/O=Example/CN=Zhang San").unwrap();
    assert_eq!(a, b);
    assert_eq!(name_text(&a), "CN=Zhang San, O=Example, C=CN");
    assert!(parse_name("no equals sign").is_err());
}

#[test]
fn a_bad_subject_is_explained() {
    let why = |text: &str| parse_name(text).unwrap_err().to_string();
    assert!(
        why("Zhang").contains("is not KEY=value"),
        "{}",
        why("Zhang")
    );
    assert!(why("CN=x,XX=y").contains("\"XX\" is not an attribute name"));
    assert!(why("CN=x,,O=y").contains("empty part"));
    assert!(why("CN=").contains("CN has no value"));
    for good in [
        "CN=a\\,b,O=Example",
        "cn=x,o=y,c=CN",
        "CN=x+serialNumber=1,2.5.4.10=Org",
        "emailAddress=a@example.com,CN=x",
    ] {
        assert!(parse_name(good).is_ok(), "{good}: {}", why(good));
    }
}
