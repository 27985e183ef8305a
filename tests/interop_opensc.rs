//! OpenSC's tools against the token through pcscd, on every link (or on a real reader's
//! token): `opensc-tool` names it a PIV card, `pkcs15-tool` shows its PINs and a
//! certificate and key put there with `ukey`, and `piv-tool` authenticates with the
//! management key and generates a key.

use std::fs;

use ukey_suite::interop::{Failure, InStep, Session, certify, metadata, pem_body, targets};

const CLIENT: &str = "OpenSC";

/// The PIV default management key (3DES), in the hex form OpenSC reads from the file named
/// by `PIV_EXT_AUTH_KEY`.
const DEFAULT_MANAGEMENT_KEY: &str = "010203040506070801020304050607080102030405060708";

#[test]
fn opensc_tool_names_it_a_piv_card() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let mut name = session.command("opensc-tool");
        name.args(["-r", session.reader(), "-n"]);
        let ran = session.run("opensc-tool -n", name)?;
        ran.ensure(
            ran.stdout().trim() == "Personal Identity Verification Card",
            "the card is not named a PIV card",
        )?;
    }
    Ok(())
}

#[test]
fn pkcs15_tool_shows_the_pins_and_a_certificate_and_key_put_there_by_ukey() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let certified = certify(&session, "9a", "p256")?;

        let mut dump = session.command("pkcs15-tool");
        dump.args(["-r", session.reader(), "-D"]);
        let ran = session.run("pkcs15-tool -D", dump)?;
        // With a certificate in 9A, OpenSC labels the card with that certificate's CN.
        ran.expect_stdout("PKCS#15 Card [interop 9a]")?;
        // The serial number is the CHUID's GUID: "ukey", eight zeros, the serial number.
        let guid = format!("756b65790000000000000000{:08x}", session.serial());
        ran.ensure(
            ran.value("Serial number  :")? == guid,
            format!("serial number is not {guid}"),
        )?;
        for (object, detail) in [
            ("PIN [PIN]", "Reference      : 128 (0x80)"),
            ("PIN [PIV PUK]", "Reference      : 129 (0x81)"),
            (
                "Private EC Key [PIV AUTH key]",
                "Key ref        : 154 (0x9A)",
            ),
            (
                "X.509 Certificate [Certificate for PIV Authentication]",
                "ID             : 01",
            ),
        ] {
            let block = ran
                .stdout()
                .split("\n\n")
                .find(|block| block.trim_start().starts_with(object))
                .ok_or_else(|| ran.fail(format!("no {object}")))?;
            ran.ensure(
                block.contains(detail),
                format!("{object} lacks {detail:?}:\n{block}"),
            )?;
        }

        for (option, what, file) in [
            ("--read-certificate", "certificate", &certified.certificate),
            ("--read-public-key", "public key", &certified.public_key),
        ] {
            let put = fs::read_to_string(file).in_step(&session, &format!("reading the {what}"))?;
            let mut read = session.command("pkcs15-tool");
            read.args(["-r", session.reader(), option, "01"]);
            let ran = session.run(&format!("pkcs15-tool {option} 01"), read)?;
            ran.ensure(
                pem_body(ran.stdout()) == pem_body(&put),
                format!("the {what} read back differs from the one ukey put on the token"),
            )?;
        }
    }
    Ok(())
}

/// `piv-tool --admin` then `--genkey 9A:11`. OpenSC 0.23 has two bugs of its own here; the
/// test checks that the card did its part and, where the tool still works, its result.
///
/// - `--admin A:9B:03` (external authentication): the card hands out its challenge, then
///   OpenSC's own length check fails ("Allocated and computed lengths do not match",
///   `admin_mode failed -1400`) before it answers; fixed in OpenSC 0.24 (commit a0aef25c7).
/// - `--genkey 9A:11`: the card generates the key and returns it, then piv-tool fails to
///   make an OpenSSL 3 key of it ("gen_key unable to gen EC key", it passes the curve name
///   with the length of a pointer); fixed in OpenSC 0.24 (commit 98f640c49).
#[test]
fn piv_tool_authenticates_with_the_management_key_and_generates_a_key() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let key_file = session.path("management.key");
        fs::write(&key_file, DEFAULT_MANAGEMENT_KEY)
            .in_step(&session, "writing the management key file")?;
        let public_key = session.path("9a.pub");

        let mut external = session.command("piv-tool");
        external.env("PIV_EXT_AUTH_KEY", &key_file).args([
            "-r",
            session.reader(),
            "--admin",
            "A:9B:03",
        ]);
        let ran = session.attempt("piv-tool --admin A:9B:03", external)?;
        let challenge = ran.answer_to(&[0x00, 0x87, 0x03, 0x9B, 0x04, 0x7C, 0x02, 0x81, 0x00])?;
        ran.ensure(
            challenge.sw == 0x9000 && challenge.data.starts_with(&[0x7C, 0x0A, 0x81, 0x08]),
            format!("the card gave no 8-byte challenge: {challenge:02X?}"),
        )?;
        if ran.code() != Some(0) {
            ran.expect_stderr("admin_mode failed -1400")?;
        }

        let mut generate = session.command("piv-tool");
        generate
            .env("PIV_EXT_AUTH_KEY", &key_file)
            .args(["-r", session.reader(), "--admin", "M:9B:03"])
            .args(["--genkey", "9A:11", "-o"])
            .arg(&public_key);
        let ran = session.attempt("piv-tool --admin M:9B:03 --genkey 9A:11", generate)?;
        let proof = ran.answer_to(&[0x00, 0x87, 0x03, 0x9B, 0x16, 0x7C, 0x14, 0x80, 0x08])?;
        ran.ensure(
            proof.sw == 0x9000 && proof.data.starts_with(&[0x7C, 0x0A, 0x82, 0x08]),
            format!("mutual authentication failed: {proof:02X?}"),
        )?;
        let generated = ran.answer_to(&[0x00, 0x47, 0x00, 0x9A])?;
        ran.ensure(
            generated.sw == 0x9000
                && generated
                    .data
                    .starts_with(&[0x7F, 0x49, 0x43, 0x86, 0x41, 0x04]),
            format!("no P-256 public key from GENERATE: {generated:02X?}"),
        )?;
        if ran.code() == Some(0) {
            let written = fs::read(&public_key).in_step(&session, "reading piv-tool's key")?;
            ran.ensure(
                written.ends_with(generated.data.get(5..).unwrap_or_default()),
                "piv-tool wrote another public key than the card returned",
            )?;
        } else {
            ran.expect_stderr("gen_key unable to gen EC key")?;
        }

        // The key is on the card: its metadata holds the public key GENERATE returned.
        let ran = metadata(&session, 0x9A)?;
        let answer = ran.answer_to(&[0x00, 0xF7, 0x00, 0x9A])?;
        let point = generated.data.get(5..).unwrap_or_default();
        ran.ensure(
            answer.sw == 0x9000
                && answer.data.starts_with(&[0x01, 0x01, 0x11])
                && answer
                    .data
                    .windows(point.len())
                    .any(|window| window == point),
            format!("metadata of 9A lacks the generated P-256 key: {answer:02X?}"),
        )?;
    }
    Ok(())
}
