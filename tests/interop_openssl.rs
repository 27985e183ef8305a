//! OpenSSL through libp11's `pkcs11` engine and OpenSC's module, on every link (or on a
//! real reader's token): a signature and a self-signed certificate made with the token's
//! key, each verified by OpenSSL.

use std::fs;
use std::process::Command;

use ukey_suite::interop::{
    Failure, InStep, Session, certify, dgst_verify, openssl_engine, pem_body, private_key_uri,
    self_signed_certificate, targets,
};

const CLIENT: &str = "OpenSSL (pkcs11 engine)";

#[test]
fn openssl_signs_with_the_token_key_through_the_pkcs11_engine() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let certified = certify(&session, "9a", "p256")?;
        let message = session.path("message.txt");
        let signature = session.path("message.sig");
        fs::write(&message, "signed by OpenSSL with the token's key\n")
            .in_step(&session, "writing the message")?;

        let mut sign = openssl_engine(&session, "dgst");
        sign.args([
            "-sha256",
            "-sign",
            &private_key_uri(&session, "PIV AUTH key"),
            "-out",
        ])
        .arg(&signature)
        .arg(&message);
        let ran = session.run("openssl dgst -sign (engine)", sign)?;
        let signed = ran.answer_to(&[0x00, 0x87, 0x11, 0x9A])?;
        ran.ensure(signed.sw == 0x9000, "the token did not sign")?;

        let verify = dgst_verify(&certified.public_key, &signature, &message);
        session
            .run("openssl dgst -verify", verify)?
            .expect_stdout("Verified OK")?;
    }
    Ok(())
}

#[test]
fn openssl_makes_a_certificate_with_the_token_key_through_the_pkcs11_engine() -> Result<(), Failure>
{
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let certified = certify(&session, "9a", "p256")?;
        let certificate = session.path("self-signed.crt");

        let make = self_signed_certificate(
            &session,
            "PIV AUTH key",
            "/CN=self-signed on the token",
            &certificate,
        );
        let ran = session.run("openssl req -x509 (engine)", make)?;
        let signed = ran.answer_to(&[0x00, 0x87, 0x11, 0x9A])?;
        ran.ensure(signed.sw == 0x9000, "the token did not sign")?;

        let mut verify = Command::new("openssl");
        verify
            .args(["verify", "-CAfile"])
            .arg(&certificate)
            .arg(&certificate);
        session
            .run("openssl verify: the certificate's own signature", verify)?
            .expect_stdout(": OK")?;

        let mut key = Command::new("openssl");
        key.args(["x509", "-noout", "-pubkey", "-in"])
            .arg(&certificate);
        let ran = session.run("openssl x509 -pubkey", key)?;
        let token_key = fs::read_to_string(&certified.public_key)
            .in_step(&session, "reading the token's public key")?;
        ran.ensure(
            pem_body(ran.stdout()) == pem_body(&token_key),
            "the certificate holds another key than the token's",
        )?;
    }
    Ok(())
}
