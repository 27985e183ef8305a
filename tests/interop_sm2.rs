//! SM2 through `ukey`, checked by OpenSSL 3, on every link (or on a real reader's token): a
//! key generated on the token, a request it signed and the certificate a test CA issued for
//! it, and a signature of a file. OpenSSL 3.0 uses an empty SM2 signer ID unless told, so
//! every check passes `distid:1234567812345678`, the ID `ukey` (and GB/T 35276) uses by
//! default.

use std::fs;
use std::process::Command;

use ukey_suite::interop::{Failure, InStep, Session, certify, targets};

const CLIENT: &str = "ukey (SM2)";

const SIGNER_ID: &str = "distid:1234567812345678";

#[test]
fn sm2_request_certificate_and_signature_made_on_the_token_are_verified_by_openssl()
-> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let certified = certify(&session, "9c", "sm2")?;

        let mut key = Command::new("openssl");
        key.args(["pkey", "-pubin", "-noout", "-text", "-in"])
            .arg(&certified.public_key);
        session
            .run("openssl pkey: the generated key", key)?
            .expect_stdout("ASN1 OID: SM2")?;

        // `openssl req -verify` exits 0 even when the signature is wrong: read its verdict.
        let mut request = Command::new("openssl");
        request
            .args(["req", "-verify", "-noout", "-vfyopt", SIGNER_ID, "-in"])
            .arg(session.path("9c-sm2.csr"));
        session
            .run("openssl req -verify: the request the token signed", request)?
            .expect_output("self-signature verify OK")?;

        let mut chain = Command::new("openssl");
        chain
            .args(["verify", "-vfyopt", SIGNER_ID, "-CAfile"])
            .arg(&certified.ca_certificate)
            .arg(&certified.certificate);
        session
            .run("openssl verify: the issued certificate", chain)?
            .expect_stdout(": OK")?;

        let message = session.path("contract.txt");
        let tampered = session.path("tampered.txt");
        let signature = session.path("contract.sig");
        fs::write(&message, "合同正文：甲乙双方……\n")
            .and_then(|()| fs::write(&tampered, "合同正文：甲乙三方……\n"))
            .in_step(&session, "writing the messages")?;
        let mut sign = session.ukey()?;
        sign.args(["sign", "--slot", "9c", "--pin", "123456", "-o"])
            .arg(&signature)
            .arg(&message);
        let ran = session.run("ukey sign --slot 9c", sign)?;
        let signed = ran.answer_to(&[0x00, 0x87, 0x54, 0x9C])?;
        ran.ensure(signed.sw == 0x9000, "the token did not sign with SM2")?;

        // The signature checks against the generated key and the certificate's key, and
        // not against another message.
        for (what, key_option, key, file, expected) in [
            (
                "with the public key",
                "-pubin",
                &certified.public_key,
                &message,
                0,
            ),
            (
                "with the certificate",
                "-certin",
                &certified.certificate,
                &message,
                0,
            ),
            (
                "of a tampered message",
                "-pubin",
                &certified.public_key,
                &tampered,
                1,
            ),
        ] {
            let mut verify = Command::new("openssl");
            verify
                .args(["pkeyutl", "-verify", key_option, "-inkey"])
                .arg(key)
                .args(["-rawin", "-digest", "sm3", "-pkeyopt", SIGNER_ID, "-in"])
                .arg(file)
                .arg("-sigfile")
                .arg(&signature);
            let step = format!("openssl pkeyutl -verify {what}");
            let ran = session.run_expecting(&step, verify, expected)?;
            if expected == 0 {
                ran.expect_stdout("Signature Verified Successfully")?;
            }
        }
    }
    Ok(())
}
