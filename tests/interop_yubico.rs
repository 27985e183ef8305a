//! yubico-piv-tool 2.2.0 against the token through pcscd, on every link (or on a real
//! reader's token): status, key generation, a certificate for the key, import and test
//! signature; PIN, PUK and management key changes and retry counts; the PIN and PUK
//! blocked, then the reset; a key made by OpenSSL imported, then used.

use std::fs;
use std::process::Command;

use ukey_suite::interop::{
    Failure, InStep, Session, certify, dgst_verify, metadata, pem_body, public_key_der,
    self_signed_certificate, targets,
};

const CLIENT: &str = "yubico-piv-tool";

/// A management key other than the default (3DES).
const NEW_MANAGEMENT_KEY: &str = "0102030405060708010203040506070801020304050607AA";

/// yubico-piv-tool on the session's reader (its default reader filter is "Yubikey"),
/// running `actions` (`-a verify-pin -a test-signature`...) with their options.
fn yubico(session: &Session, actions: &[&str]) -> Command {
    let mut command = session.command("yubico-piv-tool");
    command.args(["-r", session.reader()]).args(actions);
    command
}

/// Runs yubico-piv-tool with `actions`, expecting `code` and `message` in its output.
fn expect(session: &Session, actions: &[&str], code: i32, message: &str) -> Result<(), Failure> {
    let step = format!("yubico-piv-tool {}", actions.join(" "));
    session
        .run_expecting(&step, yubico(session, actions), code)?
        .expect_output(message)
}

/// Generates an ECCP256 key in 9A with the default management key; returns the public key
/// (PEM) file.
fn generate(session: &Session) -> Result<std::path::PathBuf, Failure> {
    let public_key = session.path("9a.pub.pem");
    let mut generate = yubico(
        session,
        &["-a", "generate", "-s", "9a", "-A", "ECCP256", "-o"],
    );
    generate.arg(&public_key);
    let ran = session.run("yubico-piv-tool -a generate -s 9a -A ECCP256", generate)?;
    ran.expect_output("Successfully generated a new private key.")?;
    let generated = ran.answer_to(&[0x00, 0x47, 0x00, 0x9A])?;
    ran.ensure(generated.sw == 0x9000, "the token did not generate")?;
    Ok(public_key)
}

/// The certificate `selfsign` would make, made with the token's key another way when
/// `selfsign` fails. yubico-piv-tool 2.2.0 built on OpenSSL 3 fails inside X509_sign before
/// any APDU reaches the card (Yubico/yubico-piv-tool#388). The other way: OpenSSL's pkcs11
/// engine over OpenSC, which shows the 9A private key without a certificate when
/// `PIV_9A_KEY` names its public key (DER); the token signs the certificate either way.
fn self_signed(session: &Session, public_key: &std::path::Path) -> Result<String, Failure> {
    let certificate = session.path("9a-self-signed.crt");
    let mut selfsign = yubico(
        session,
        &["-a", "verify-pin", "-P", "123456", "-a", "selfsign"],
    );
    selfsign
        .args(["-s", "9a", "-S", "/CN=yubico-piv-tool/", "-i"])
        .arg(public_key)
        .arg("-o")
        .arg(&certificate);
    let ran = session.attempt("yubico-piv-tool -a selfsign -s 9a", selfsign)?;
    if ran.code() != Some(0) {
        ran.expect_output("Failed signing certificate.")?;
        ran.ensure(
            !ran.exchanges()
                .iter()
                .any(|e| e.command.get(1) == Some(&0x87)),
            "selfsign failed although the card was asked to sign: not issue #388",
        )?;
        let der = session.path("9a.pub.der");
        public_key_der(session, public_key, &der)?;
        let mut make = self_signed_certificate(
            session,
            "PIV AUTH key",
            "/CN=yubico-piv-tool/",
            &certificate,
        );
        make.env("PIV_9A_KEY", &der);
        let ran = session.run("openssl req -x509 with the token's 9A key (engine)", make)?;
        let signed = ran.answer_to(&[0x00, 0x87, 0x11, 0x9A])?;
        ran.ensure(
            signed.sw == 0x9000,
            "the token did not sign the certificate",
        )?;
    }
    fs::read_to_string(&certificate).in_step(session, "reading the self-signed certificate")
}

/// The default PIN verifies and the default PUK changes (to another value).
fn pin_and_puk_are_the_defaults(session: &Session) -> Result<(), Failure> {
    expect(
        session,
        &["-a", "verify-pin", "-P", "123456"],
        0,
        "Successfully verified PIN.",
    )?;
    expect(
        session,
        &["-a", "change-puk", "-P", "12345678", "-N", "12345679"],
        0,
        "Successfully changed the puk code.",
    )
}

#[test]
fn status_generate_certify_import_and_test_signature() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let ran = session.run(
            "yubico-piv-tool -a status",
            yubico(&session, &["-a", "status"]),
        )?;
        ran.ensure(
            ran.value("Version:")?.starts_with('5'),
            "not version 5 (yubico-piv-tool reads the serial only from 5 on)",
        )?;
        ran.ensure(
            ran.value("Serial Number:")? == session.serial().to_string(),
            "wrong serial number",
        )?;
        ran.ensure(ran.value("PIN tries left:")? == "3", "not 3 PIN tries")?;

        let public_key = generate(&session)?;
        let certificate = self_signed(&session, &public_key)?;
        let certificate_file = session.path("9a-self-signed.crt");

        let mut import = yubico(&session, &["-a", "import-certificate", "-s", "9a", "-i"]);
        import.arg(&certificate_file);
        session
            .run("yubico-piv-tool -a import-certificate -s 9a", import)?
            .expect_output("Successfully imported a new certificate.")?;

        let ran = session.run(
            "yubico-piv-tool -a status",
            yubico(&session, &["-a", "status"]),
        )?;
        ran.ensure(
            ran.value("Subject DN:")? == "CN=yubico-piv-tool",
            "status shows another certificate in 9A",
        )?;
        let read = yubico(&session, &["-a", "read-certificate", "-s", "9a"]);
        let ran = session.run("yubico-piv-tool -a read-certificate -s 9a", read)?;
        ran.ensure(
            pem_body(ran.stdout()) == pem_body(&certificate),
            "the certificate read back differs from the one imported",
        )?;

        expect(
            &session,
            &["-a", "verify-pin", "-P", "123456"],
            0,
            "Successfully verified PIN.",
        )?;
        let mut test = yubico(&session, &["-a", "verify-pin", "-P", "123456"]);
        test.args(["-a", "test-signature", "-s", "9a", "-i"])
            .arg(&certificate_file);
        let ran = session.run("yubico-piv-tool -a test-signature -s 9a", test)?;
        ran.expect_output("Successful ECDSA verification.")?;
        let signed = ran.answer_to(&[0x00, 0x87, 0x11, 0x9A])?;
        ran.ensure(signed.sw == 0x9000, "the token did not sign")?;
    }
    Ok(())
}

#[test]
fn pin_puk_and_management_key_changed_then_retries_set() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        expect(
            &session,
            &["-a", "change-pin", "-P", "123456", "-N", "654321"],
            0,
            "Successfully changed the pin code.",
        )?;
        expect(
            &session,
            &["-a", "verify-pin", "-P", "123456"],
            1,
            "Pin verification failed, 2 tries left before pin is blocked.",
        )?;
        expect(
            &session,
            &["-a", "verify-pin", "-P", "654321"],
            0,
            "Successfully verified PIN.",
        )?;
        expect(
            &session,
            &["-a", "change-puk", "-P", "12345678", "-N", "87654321"],
            0,
            "Successfully changed the puk code.",
        )?;
        expect(
            &session,
            &["-a", "unblock-pin", "-P", "87654321", "-N", "112233"],
            0,
            "Successfully unblocked the pin code.",
        )?;
        expect(
            &session,
            &["-a", "verify-pin", "-P", "112233"],
            0,
            "Successfully verified PIN.",
        )?;

        expect(
            &session,
            &["-a", "set-mgm-key", "-n", NEW_MANAGEMENT_KEY],
            0,
            "Successfully set new management key.",
        )?;
        // The default key no longer authenticates: the card refuses its answer.
        let ran = session.run_expecting(
            "yubico-piv-tool -a generate with the old management key",
            yubico(&session, &["-a", "generate", "-s", "9a", "-A", "ECCP256"]),
            1,
        )?;
        ran.expect_output("Failed authentication with the application.")?;
        let refused = ran.answer_to(&[0x00, 0x87, 0x03, 0x9B])?;
        ran.ensure(
            refused.sw == 0x6982,
            format!("the card did not refuse the old key: {refused:02X?}"),
        )?;

        // yubico-piv-tool's -k takes its value only when attached: --key=HEX or -kHEX.
        let key = format!("--key={NEW_MANAGEMENT_KEY}");
        expect(
            &session,
            &[
                &key,
                "-a",
                "verify-pin",
                "-P",
                "112233",
                "-a",
                "pin-retries",
                "--pin-retries",
                "5",
                "--puk-retries",
                "4",
            ],
            0,
            "Successfully changed pin retries to 5 and puk retries to 4",
        )?;
        let ran = session.run(
            "yubico-piv-tool -a status",
            yubico(&session, &["-a", "status"]),
        )?;
        ran.ensure(ran.value("PIN tries left:")? == "5", "not 5 PIN tries")?;
        // Setting the retries puts the PIN and PUK back to their defaults.
        pin_and_puk_are_the_defaults(&session)?;
    }
    Ok(())
}

#[test]
fn wrong_pin_until_blocked_wrong_puk_until_blocked_then_reset() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        generate(&session)?;
        for message in [
            "Pin verification failed, 2 tries left before pin is blocked.",
            "Pin verification failed, 1 tries left before pin is blocked.",
            "Pin code blocked, use unblock-pin action to unblock.",
        ] {
            expect(&session, &["-a", "verify-pin", "-P", "000000"], 1, message)?;
        }
        let ran = session.run_expecting(
            "yubico-piv-tool -a verify-pin with the right PIN, blocked",
            yubico(&session, &["-a", "verify-pin", "-P", "123456"]),
            1,
        )?;
        ran.expect_output("Pin code blocked")?;
        let blocked = ran.answer_to(&[0x00, 0x20, 0x00, 0x80, 0x08])?;
        ran.ensure(
            blocked.sw == 0x6983,
            "VERIFY does not answer 69 83 (blocked)",
        )?;

        // RESET is refused while the PUK still works.
        let ran = session.run_expecting(
            "yubico-piv-tool -a reset with the PUK not blocked",
            yubico(&session, &["-a", "reset"]),
            1,
        )?;
        let refused = ran.answer_to(&[0x00, 0xFB, 0x00, 0x00])?;
        ran.ensure(refused.sw == 0x6985, "RESET does not answer 69 85")?;

        for message in [
            "Failed verifying puk code, now 2 tries left before blocked.",
            "Failed verifying puk code, now 1 tries left before blocked.",
            "Failed verifying puk code, now 0 tries left before blocked.",
            "The puk code is blocked, you will have to reinitialize the application.",
        ] {
            expect(
                &session,
                &["-a", "unblock-pin", "-P", "00000000", "-N", "111111"],
                1,
                message,
            )?;
        }
        expect(
            &session,
            &["-a", "reset"],
            0,
            "Successfully reset the application.",
        )?;

        let ran = session.run(
            "yubico-piv-tool -a status",
            yubico(&session, &["-a", "status"]),
        )?;
        ran.ensure(
            ran.value("PIN tries left:")? == "3",
            "not 3 PIN tries after reset",
        )?;
        ran.ensure(
            !ran.stdout().contains("Slot 9a"),
            "slot 9A still listed after reset",
        )?;
        // The key generated before is gone: GET METADATA of 9A finds no key.
        let ran = metadata(&session, 0x9A)?;
        let answer = ran.answer_to(&[0x00, 0xF7, 0x00, 0x9A])?;
        ran.ensure(answer.sw == 0x6A88, "slot 9A still holds a key after reset")?;
        pin_and_puk_are_the_defaults(&session)?;
    }
    Ok(())
}

/// `test-decipher` on an EC key is an ECDH with a fresh key of yubico-piv-tool's, checked
/// against its own side of the exchange (GENERAL AUTHENTICATE `85`, card edge v2).
#[test]
fn test_decipher_on_a_p256_key_in_9d_agrees_with_the_tool() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let certified = certify(&session, "9d", "p256")?;
        let mut test = yubico(&session, &["-a", "verify-pin", "-P", "123456"]);
        test.args(["-a", "test-decipher", "-s", "9d", "-i"])
            .arg(&certified.certificate);
        let ran = session.run("yubico-piv-tool -a test-decipher -s 9d", test)?;
        ran.expect_output("Successfully performed ECDH exchange with card.")?;
        let agreed = ran.answer_to(&[0x00, 0x87, 0x11, 0x9D])?;
        ran.ensure(agreed.sw == 0x9000, "the token did not agree a key")?;
    }
    Ok(())
}

/// `import-key` of a P-256 key made by `openssl ecparam -genkey` (card edge v2, IMPORT
/// ASYMMETRIC KEY): the card reports it imported, and a signature it makes (through `ukey
/// sign`, as yubico-piv-tool 2.2.0 has no plain signing action) verifies with OpenSSL
/// against the public key of the file.
#[test]
fn import_key_of_an_openssl_p256_key_then_the_token_signs_for_it() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let (key, public) = (session.path("made.pem"), session.path("made.pub.pem"));
        let mut make = Command::new("openssl");
        make.args(["ecparam", "-name", "prime256v1", "-genkey", "-out"])
            .arg(&key);
        session.run("openssl ecparam -genkey (P-256)", make)?;
        let mut derive = Command::new("openssl");
        derive
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&public);
        session.run("openssl pkey -pubout", derive)?;

        let mut import = yubico(&session, &["-a", "import-key", "-s", "9a", "-i"]);
        import.arg(&key);
        let ran = session.run("yubico-piv-tool -a import-key -s 9a", import)?;
        ran.expect_output("Successfully imported a new private key.")?;
        let imported = ran.answer_to(&[0x00, 0xFE, 0x11, 0x9A])?;
        ran.ensure(imported.sw == 0x9000, "the token did not import the key")?;

        let ran = metadata(&session, 0x9A)?;
        let answer = ran.answer_to(&[0x00, 0xF7, 0x00, 0x9A])?;
        ran.ensure(
            answer.sw == 0x9000 && answer.data.get(7..10) == Some(&[0x03, 0x01, 0x02][..]),
            format!("metadata does not say imported (origin 02): {answer:02X?}"),
        )?;

        let (message, signature) = (session.path("message"), session.path("message.sig"));
        fs::write(&message, b"signed with a key made by OpenSSL")
            .in_step(&session, "writing the message")?;
        let mut sign = session.ukey()?;
        sign.args(["sign", "--slot", "9a", "--pin", "123456", "-o"])
            .arg(&signature)
            .arg(&message);
        let ran = session.run("ukey sign --slot 9a", sign)?;
        let signed = ran.answer_to(&[0x00, 0x87, 0x11, 0x9A])?;
        ran.ensure(signed.sw == 0x9000, "the token did not sign")?;
        session
            .run(
                "openssl dgst -sha256 -verify with the key file's public key",
                dgst_verify(&public, &signature, &message),
            )?
            .expect_output("Verified OK")?;
    }
    Ok(())
}
