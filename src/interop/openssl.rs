//! The OpenSSL commands the tests use: libp11's `pkcs11` engine over OpenSC's module,
//! pointed at a session's token, and the verification of a P-256 signature.

use std::path::Path;
use std::process::Command;

use super::failure::Failure;
use super::opensc_pkcs11;
use super::session::Session;

/// `openssl SUBCOMMAND -engine pkcs11 -keyform engine`, with the engine loading OpenSC's
/// module (it takes `PKCS11_MODULE_PATH`; its default is p11-kit's proxy).
pub fn openssl_engine(session: &Session, subcommand: &str) -> Command {
    let mut command = session.command("openssl");
    command
        .env("PKCS11_MODULE_PATH", opensc_pkcs11())
        .args([subcommand, "-engine", "pkcs11", "-keyform", "engine"]);
    command
}

/// The PKCS#11 URI of the private key OpenSC labels `label` (`PIV AUTH key` for 9A) on the
/// session's token, with the default PIN. It names the token by serial number, since other
/// tokens may sit in the same pcscd; a wrong URI makes libp11 0.4.12 crash rather than
/// fail cleanly.
pub fn private_key_uri(session: &Session, label: &str) -> String {
    format!(
        "pkcs11:serial={};object={};type=private;pin-value=123456",
        session.pkcs11_serial(),
        label.replace(' ', "%20")
    )
}

/// `openssl req -x509` that makes a one-day certificate for `subject` (`/CN=...`), signed
/// with the token's private key `label`, and writes it (PEM) to `out`.
pub fn self_signed_certificate(
    session: &Session,
    label: &str,
    subject: &str,
    out: &Path,
) -> Command {
    let mut command = openssl_engine(session, "req");
    command
        .args(["-new", "-x509", "-sha256", "-days", "1"])
        .args([
            "-key",
            &private_key_uri(session, label),
            "-subj",
            subject,
            "-out",
        ])
        .arg(out);
    command
}

/// `openssl dgst -sha256 -verify`: checks an ECDSA (DER) `signature` of `message` with
/// `public_key` (PEM); prints "Verified OK" and exits 0, or exits 1.
pub fn dgst_verify(public_key: &Path, signature: &Path, message: &Path) -> Command {
    let mut command = Command::new("openssl");
    command
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_key)
        .arg("-signature")
        .arg(signature)
        .arg(message);
    command
}

/// Converts the public key (PEM) in `pem` to DER with `openssl pkey`, into `der`.
pub fn public_key_der(session: &Session, pem: &Path, der: &Path) -> Result<(), Failure> {
    let mut convert = Command::new("openssl");
    convert
        .args(["pkey", "-pubin", "-in"])
        .arg(pem)
        .args(["-outform", "DER", "-out"])
        .arg(der);
    session.run("openssl pkey: the public key in DER", convert)?;
    Ok(())
}
