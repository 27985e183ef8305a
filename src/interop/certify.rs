//! A key and a CA-issued certificate put on the token with `ukey`: OpenSC shows a PIV
//! private key only when its slot holds a certificate, so the PKCS#11 and OpenSSL tests
//! start from here.

use std::path::PathBuf;

use super::failure::Failure;
use super::session::Session;

/// What [`certify`] made, as files in the session's scratch directory.
pub struct Certified {
    /// The slot's public key (PEM), as the token returned it when it generated the key.
    pub public_key: PathBuf,
    /// The slot's certificate (PEM), issued by a local test CA for a request the token
    /// signed.
    pub certificate: PathBuf,
    /// The test CA's certificate (PEM).
    pub ca_certificate: PathBuf,
}

/// Generates an `alg` key (`p256` or `sm2`) in `slot` (`9a`..`9e`) with `ukey`, has a
/// fresh local test CA issue a certificate for it (request signed on the token with the
/// default PIN) and imports that certificate into the slot.
pub fn certify(session: &Session, slot: &str, alg: &str) -> Result<Certified, Failure> {
    let public_key = session.path(&format!("{slot}-{alg}.pub.pem"));
    let request = session.path(&format!("{slot}-{alg}.csr"));
    let certificate = session.path(&format!("{slot}-{alg}.crt"));
    let ca = session.path(&format!("ca-{alg}"));

    let mut generate = session.ukey()?;
    generate
        .args([
            "key", "generate", "--force", "--slot", slot, "--alg", alg, "-o",
        ])
        .arg(&public_key);
    session.run(&format!("ukey key generate {slot} {alg}"), generate)?;

    let mut csr = session.ukey()?;
    csr.args(["csr", "--slot", slot, "--pin", "123456"])
        .args(["--subject", &format!("CN=interop {slot},O=ukey,C=CN"), "-o"])
        .arg(&request);
    session.run(&format!("ukey csr {slot}"), csr)?;

    let mut init = session.ukey()?;
    init.args(["ca", "init", "--alg", alg, "--dir"]).arg(&ca);
    session.run("ukey ca init", init)?;

    let mut issue = session.ukey()?;
    issue
        .args(["ca", "issue", "--dir"])
        .arg(&ca)
        .arg(&request)
        .arg("-o")
        .arg(&certificate);
    session.run("ukey ca issue", issue)?;

    let mut import = session.ukey()?;
    import
        .args(["cert", "import", "--slot", slot])
        .arg(&certificate);
    session.run(&format!("ukey cert import {slot}"), import)?;

    Ok(Certified {
        public_key,
        certificate,
        ca_certificate: ca.join("ca.crt"),
    })
}
