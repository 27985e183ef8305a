//! OpenSC's PKCS#11 module (`opensc-pkcs11.so`) through `pkcs11-tool`, on every link (or on
//! a real reader's token): the slot and objects of a token that `ukey` gave a P-256 key and
//! a certificate (OpenSC lists a PIV private key only when its slot holds a certificate),
//! the module's self-test, and ECDSA signatures that OpenSSL verifies.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ukey_suite::interop::{
    Failure, InStep, Session, certify, dgst_verify, opensc_pkcs11, public_key_der, targets,
};

const CLIENT: &str = "PKCS#11 (opensc-pkcs11.so)";

/// `pkcs11-tool` with OpenSC's module, on the session's slot.
fn pkcs11_tool(session: &Session) -> Command {
    let mut command = session.command("pkcs11-tool");
    command
        .args(["--module", &opensc_pkcs11()])
        .args(["--slot-description", session.reader()]);
    command
}

/// The 65-byte uncompressed point of a P-256 public key in a PEM file: the end of its DER.
fn public_point(session: &Session, pem: &Path) -> Result<Vec<u8>, Failure> {
    let der = session.path("public.der");
    public_key_der(session, pem, &der)?;
    let der = fs::read(&der).in_step(session, "reading the public key")?;
    let point = der.get(der.len().saturating_sub(65)..).unwrap_or_default();
    match point.first() {
        Some(0x04) => Ok(point.to_vec()),
        _ => Err(session.fail("reading the public key", "no uncompressed P-256 point")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn pkcs11_tool_lists_the_slot_and_the_objects() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let certified = certify(&session, "9a", "p256")?;

        let mut list = session.command("pkcs11-tool");
        list.args(["--module", &opensc_pkcs11(), "-L"]);
        let ran = session.run("pkcs11-tool -L", list)?;
        let slot = ran
            .stdout()
            .split("\nSlot ")
            .find(|block| {
                block
                    .lines()
                    .next()
                    .is_some_and(|first| first.ends_with(&format!("): {}", session.reader())))
            })
            .ok_or_else(|| ran.fail(format!("no slot for {}", session.reader())))?;
        for line in [
            // With a certificate in 9A, OpenSC labels the token with that certificate's CN.
            "token label        : interop 9a".to_string(),
            "token flags        : login required".to_string(),
            format!("serial num         : {}", session.pkcs11_serial()),
        ] {
            ran.ensure(
                slot.contains(&line),
                format!("{line:?} missing from:\n{slot}"),
            )?;
        }

        let point = public_point(&session, &certified.public_key)?;
        let mut objects = pkcs11_tool(&session);
        objects.args(["--login", "--pin", "123456", "-O"]);
        let ran = session.run("pkcs11-tool --login -O", objects)?;
        for object in [
            "Private Key Object; EC\n  label:      PIV AUTH key\n  ID:         01".to_string(),
            format!(
                "Public Key Object; EC  EC_POINT 256 bits\n  EC_POINT:   0441{}",
                hex(&point)
            ),
            "Certificate Object; type = X.509 cert\n  label:      Certificate for PIV \
             Authentication\n  subject:    DN: C=CN, O=ukey, CN=interop 9a"
                .to_string(),
        ] {
            ran.expect_stdout(&object)?;
        }
    }
    Ok(())
}

/// `pkcs11-tool --login --test` exits 0 whatever it finds: its verdict is the last line.
#[test]
fn pkcs11_tool_self_test_finds_no_errors() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        certify(&session, "9a", "p256")?;
        let mut test = pkcs11_tool(&session);
        test.args(["--login", "--pin", "123456", "--test"]);
        let ran = session.run("pkcs11-tool --login --test", test)?;
        ran.expect_stdout("SHA256: OK")?;
        ran.expect_stdout("testing key 0 (PIV AUTH key)")?;
        ran.ensure(
            ran.stdout().trim_end().ends_with("No errors"),
            "the self-test found errors",
        )?;
    }
    Ok(())
}

#[test]
fn ecdsa_signatures_made_through_pkcs11_are_verified_by_openssl() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let certified = certify(&session, "9a", "p256")?;
        let message = session.path("message.txt");
        let other = session.path("other.txt");
        let digest = session.path("message.sha256");
        fs::write(&message, "signed through PKCS#11\n")
            .and_then(|()| fs::write(&other, "not what was signed\n"))
            .in_step(&session, "writing the messages")?;
        let mut hash = Command::new("openssl");
        hash.args(["dgst", "-sha256", "-binary", "-out"])
            .arg(&digest)
            .arg(&message);
        session.run("openssl dgst: the message's SHA-256", hash)?;

        // ECDSA signs a digest made outside; ECDSA-SHA256 has the module hash the message.
        for (mechanism, input) in [("ECDSA", &digest), ("ECDSA-SHA256", &message)] {
            let signature = session.path(&format!("{mechanism}.der"));
            let mut sign = pkcs11_tool(&session);
            sign.args(["--login", "--pin", "123456", "--sign", "--id", "01"])
                .args(["-m", mechanism, "--signature-format", "openssl", "-i"])
                .arg(input)
                .arg("-o")
                .arg(&signature);
            let ran = session.run(&format!("pkcs11-tool --sign -m {mechanism}"), sign)?;
            let signed = ran.answer_to(&[0x00, 0x87, 0x11, 0x9A])?;
            ran.ensure(signed.sw == 0x9000, "the token did not sign")?;

            for (file, expected) in [(&message, 0), (&other, 1)] {
                let verify = dgst_verify(&certified.public_key, &signature, file);
                let step = format!("openssl dgst -verify: the {mechanism} signature of {file:?}");
                let ran = session.run_expecting(&step, verify, expected)?;
                if expected == 0 {
                    ran.expect_stdout("Verified OK")?;
                }
            }
        }
    }
    Ok(())
}

/// A P-256 key generated in 9D with `ukey`, its request signed on the token, and a
/// certificate for it from a fresh test CA with `--usage encryption` (key agreement): OpenSC
/// offers a PIV key for derivation only when its certificate allows key agreement. Returns
/// the slot's public key (PEM).
fn key_agreement_certified(session: &Session) -> Result<PathBuf, Failure> {
    let public_key = session.path("9d.pub.pem");
    let (request, certificate) = (session.path("9d.csr"), session.path("9d.crt"));
    let ca = session.path("ca-9d");
    let mut generate = session.ukey()?;
    generate
        .args([
            "key", "generate", "--force", "--slot", "9d", "--alg", "p256", "-o",
        ])
        .arg(&public_key);
    session.run("ukey key generate 9d p256", generate)?;
    let mut csr = session.ukey()?;
    csr.args(["csr", "--slot", "9d", "--pin", "123456"])
        .args(["--subject", "CN=interop 9d key agreement,O=ukey,C=CN", "-o"])
        .arg(&request);
    session.run("ukey csr 9d", csr)?;
    let mut init = session.ukey()?;
    init.args(["ca", "init", "--alg", "p256", "--dir"]).arg(&ca);
    session.run("ukey ca init", init)?;
    let mut issue = session.ukey()?;
    issue
        .args([
            "ca",
            "issue",
            "--usage",
            "encryption",
            "--days",
            "30",
            "--dir",
        ])
        .arg(&ca)
        .arg(&request)
        .arg("-o")
        .arg(&certificate);
    session.run("ukey ca issue --usage encryption", issue)?;
    let mut import = session.ukey()?;
    import
        .args(["cert", "import", "--force", "--slot", "9d"])
        .arg(&certificate);
    session.run("ukey cert import 9d", import)?;
    Ok(public_key)
}

/// `pkcs11-tool --derive -m ECDH1-DERIVE` with the 9D key (OpenSC's ID 03) and a peer key
/// OpenSSL made: the token's secret (GENERAL AUTHENTICATE `85`, card edge v2) equals what
/// `openssl pkeyutl -derive` computes from the peer's private key and the slot's public key.
#[test]
fn ecdh_derived_through_pkcs11_equals_openssls() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let (peer, peer_public) = (session.path("peer.pem"), session.path("peer.pub.der"));
        let mut genkey = Command::new("openssl");
        genkey
            .args(["genpkey", "-algorithm", "EC", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-out"])
            .arg(&peer);
        session.run("openssl genpkey: the peer's P-256 key", genkey)?;
        let card_public = key_agreement_certified(&session)?;
        let mut public = Command::new("openssl");
        public
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&peer)
            .arg("-out")
            .arg(&peer_public);
        session.run("openssl pkey -pubout: the peer's public key", public)?;

        let (derived, expected) = (session.path("derived.bin"), session.path("expected.bin"));
        let mut derive = pkcs11_tool(&session);
        derive
            .args([
                "--login",
                "--pin",
                "123456",
                "--derive",
                "-m",
                "ECDH1-DERIVE",
            ])
            .args(["--id", "03", "--input-file"])
            .arg(&peer_public)
            .arg("--output-file")
            .arg(&derived);
        let ran = session.run("pkcs11-tool --derive -m ECDH1-DERIVE", derive)?;
        let agreed = ran.answer_to(&[0x00, 0x87, 0x11, 0x9D])?;
        ran.ensure(agreed.sw == 0x9000, "the token did not agree a key")?;

        let mut openssl = Command::new("openssl");
        openssl
            .args(["pkeyutl", "-derive", "-inkey"])
            .arg(&peer)
            .arg("-peerkey")
            .arg(&card_public)
            .arg("-out")
            .arg(&expected);
        session.run("openssl pkeyutl -derive: the peer's side", openssl)?;
        let read = |path| fs::read(path).in_step(&session, "reading the shared secrets");
        let (derived, expected) = (read(&derived)?, read(&expected)?);
        if derived != expected || derived.len() != 32 {
            return Err(session.fail(
                "comparing the shared secrets",
                format!("token {} != openssl {}", hex(&derived), hex(&expected)),
            ));
        }
    }
    Ok(())
}
