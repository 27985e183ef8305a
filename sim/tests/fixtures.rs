//! Profile fixtures: a token preloaded from `sim/fixtures/ci-token.toml` shows its keys and
//! certificates to yubico-piv-tool and signs through the real pcscd (checked by OpenSSL
//! against the fixture's certificates), on both links; bad fixtures are refused with what
//! to fix and make no image; a token made before is never provisioned again.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pcsc::{Card, Context, Protocols, Scope, ShareMode};
use sha2::Digest;
use ukey_sim::{Link, LinkKind, Testbed, Token, TokenOptions, profile};

#[path = "support/run.rs"]
mod run;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use run::run;
use temp_dir::TempDir;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LINKS: [LinkKind; 2] = [LinkKind::Direct, LinkKind::Ccid];
const SELECT_PIV: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
/// VERIFY with the bjca PIN the example fixture's base sets.
const VERIFY_PIN: &[u8] = b"\x00\x20\x00\x80\x0812345678";
const MESSAGE: &[u8] = b"a CI job signs this with a preloaded key\n";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join("ci-token").join(name)
}

fn example(link: LinkKind, image: Option<PathBuf>) -> Result<TokenOptions, ukey_sim::Error> {
    let loaded = profile::from_file(&fixtures_dir().join("ci-token.toml"))?;
    Ok(TokenOptions {
        profile: loaded.profile,
        fixtures: loaded.fixtures,
        image,
        link,
        ..TokenOptions::default()
    })
}

/// The values of a flat list of short TLVs (GET METADATA's answer), by tag.
fn tlvs(mut data: &[u8]) -> Result<Vec<(u8, &[u8])>, String> {
    let mut found = Vec::new();
    while let [tag, length, rest @ ..] = data {
        let length = usize::from(*length);
        let value = rest
            .get(..length)
            .ok_or(format!("cut TLV in {data:02X?}"))?;
        found.push((*tag, value));
        data = &rest[length..];
    }
    Ok(found)
}

fn tlv(data: &[u8], tag: u8) -> Result<&[u8], String> {
    tlvs(data)?
        .into_iter()
        .find(|(found, _)| *found == tag)
        .map(|(_, value)| value)
        .ok_or(format!("no tag {tag:02X} in {data:02X?}"))
}

/// Sends `command`; fails unless the card answers `90 00`; returns the data.
fn transmit(card: &Card, command: &[u8]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut buffer = [0u8; 300];
    let answer = card.transmit(command, &mut buffer)?;
    match answer.split_last_chunk::<2>() {
        Some((data, [0x90, 0x00])) => Ok(data.to_vec()),
        _ => Err(format!("{command:02X?} answered {answer:02X?}").into()),
    }
}

/// What GET METADATA says of a key slot.
struct Metadata {
    algorithm: u8,
    pin_policy: u8,
    origin: u8,
    public: Vec<u8>,
}

/// GET METADATA of `slot`.
fn metadata(card: &Card, slot: u8) -> Result<Metadata, Box<dyn std::error::Error>> {
    let answer = transmit(card, &[0x00, 0xF7, 0x00, slot])?;
    Ok(Metadata {
        algorithm: tlv(&answer, 0x01)?[0],
        pin_policy: tlv(&answer, 0x02)?[0],
        origin: tlv(&answer, 0x03)?[0],
        public: tlv(tlv(&answer, 0x04)?, 0x86)?.to_vec(),
    })
}

/// SM2's `e = SM3(Z_A ‖ M)` with the default signer ID (GB/T 32918.2, 5.5 and 6.1).
fn sm2_digest(public: &[u8], message: &[u8]) -> Result<[u8; 32], String> {
    const CURVE: &str = concat!(
        "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
        "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
        "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
        "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
    );
    let curve: Vec<u8> = (0..CURVE.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&CURVE[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let point = public
        .strip_prefix(&[0x04])
        .ok_or("not an uncompressed point")?;
    let z = sm3::Sm3::new()
        .chain_update([0x00, 0x80])
        .chain_update(b"1234567812345678")
        .chain_update(&curve)
        .chain_update(point)
        .finalize();
    Ok(sm3::Sm3::new()
        .chain_update(z)
        .chain_update(message)
        .finalize()
        .into())
}

/// Signs MESSAGE with the key in `slot` (GENERAL AUTHENTICATE) and has OpenSSL check the
/// signature against `verifier` (a certificate, or with `-pubin` a public key file).
fn sign_and_verify(card: &Card, dir: &TempDir, slot: u8, verifier: &[&str]) -> TestResult {
    let Metadata {
        algorithm, public, ..
    } = metadata(card, slot)?;
    let (digest, openssl_digest): ([u8; 32], &[&str]) = match algorithm {
        0x11 => (sha2::Sha256::digest(MESSAGE).into(), &["-digest", "sha256"]),
        _ => (
            sm2_digest(&public, MESSAGE)?,
            &["-digest", "sm3", "-pkeyopt", "distid:1234567812345678"],
        ),
    };
    let mut command = vec![
        0x00, 0x87, algorithm, slot, 0x26, 0x7C, 0x24, 0x82, 0x00, 0x81, 0x20,
    ];
    command.extend_from_slice(&digest);
    command.push(0x00);
    let answer = transmit(card, &command)?;
    let signature = tlv(tlv(&answer, 0x7C)?, 0x82)?;
    let message = dir.path("message");
    let signature_file = dir.path(&format!("{slot:02x}.sig"));
    fs::write(&message, MESSAGE)?;
    fs::write(&signature_file, signature)?;
    let mut verify = Command::new("openssl");
    verify
        .args(["pkeyutl", "-verify"])
        .args(verifier)
        .args(["-rawin", "-in"])
        .arg(&message)
        .args(openssl_digest)
        .arg("-sigfile")
        .arg(&signature_file);
    let verdict = run(verify)?;
    assert!(
        verdict.contains("Signature Verified Successfully"),
        "slot {slot:02X}: {verdict}"
    );
    Ok(())
}

/// The `Subject DN` and `Not After` lines `openssl x509` reads from a fixture certificate,
/// as yubico-piv-tool prints them.
fn holder_and_expiry(certificate: &Path) -> Result<(String, String), Box<dyn std::error::Error>> {
    let mut read = Command::new("openssl");
    read.args([
        "x509",
        "-noout",
        "-nameopt",
        "sep_comma_plus_space",
        "-subject",
        "-enddate",
        "-in",
    ])
    .arg(certificate);
    let text = run(read)?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::to_string)
            .ok_or(format!("no {name} in {text}"))
    };
    Ok((field("subject=")?, field("notAfter=")?))
}

#[test]
fn a_preloaded_token_shows_its_certificates_and_signs_on_both_links() -> TestResult {
    let dir = TempDir::new("fixtures-pcscd")?;
    let mut bed = Testbed::start(1)?;
    for (slot, link) in LINKS.into_iter().enumerate() {
        bed.insert(
            slot,
            &example(link, Some(dir.path(&format!("{link:?}.img"))))?,
        )?;
    }
    // SAFETY: set before this binary's first PC/SC call; the binary's other tests make no
    // PC/SC call, and Rust's own environment reads are locked against this write.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };
    let context = Context::establish(Scope::User)?;
    for (slot, link) in LINKS.into_iter().enumerate() {
        let reader = bed.reader(slot)?;
        let mut status = bed.command("yubico-piv-tool");
        status.args(["-r", &reader, "-a", "status"]);
        let status = run(status)?;
        for (slot_name, certificate) in [
            ("9a", "9a-p256.crt.pem"),
            ("9c", "9c-sm2.crt.der"),
            ("9d", "9d-p256.crt.pem"),
        ] {
            let (holder, expiry) = holder_and_expiry(&fixture(certificate))?;
            let section = status
                .split("Slot ")
                .find(|section| section.starts_with(&format!("{slot_name}:")))
                .ok_or(format!("{link:?}: no slot {slot_name} in\n{status}"))?;
            assert!(
                section.contains(&format!("Subject DN:\t{holder}")),
                "{link:?}: no {holder} in\n{section}"
            );
            assert!(
                section.contains(&format!("Not After:\t{expiry}")),
                "{link:?}: no {expiry} in\n{section}"
            );
        }

        let card = context.connect(&CString::new(reader)?, ShareMode::Shared, Protocols::ANY)?;
        transmit(&card, SELECT_PIV)?;
        let chuid = transmit(&card, b"\x00\xCB\x3F\xFF\x05\x5C\x03\x5F\xC1\x02\x00")?;
        assert_eq!(
            tlv(&chuid, 0x53)?,
            fs::read(fixture("chuid.bin"))?,
            "{link:?}"
        );
        for (slot, algorithm, policy) in [
            (0x9A, 0x11, 2),
            (0x9C, 0x54, 3),
            (0x9D, 0x11, 2),
            (0x9E, 0x54, 1),
        ] {
            let found = metadata(&card, slot)?;
            assert_eq!(found.algorithm, algorithm, "{link:?}: slot {slot:02X}");
            assert_eq!(found.pin_policy, policy, "{link:?}: slot {slot:02X}");
            assert_eq!(
                found.origin, 0x02,
                "{link:?}: slot {slot:02X} is not imported"
            );
        }
        let public_9e = dir.path("9e.pub.pem");
        let mut public = Command::new("openssl");
        public
            .args(["pkey", "-pubout", "-in"])
            .arg(fixture("9e-sm2.key.pem"))
            .arg("-out")
            .arg(&public_9e);
        run(public)?;
        let public_9e = public_9e.to_string_lossy().into_owned();
        sign_and_verify(&card, &dir, 0x9E, &["-pubin", "-inkey", &public_9e])?;
        for (slot, certificate) in [
            (0x9A, "9a-p256.crt.pem"),
            (0x9C, "9c-sm2.crt.der"),
            (0x9D, "9d-p256.crt.pem"),
        ] {
            transmit(&card, VERIFY_PIN)?;
            let certificate = fixture(certificate).to_string_lossy().into_owned();
            sign_and_verify(&card, &dir, slot, &["-certin", "-inkey", &certificate])?;
        }
    }
    Ok(())
}

/// GET METADATA of `slot` from a token in process: the answer with its status word.
fn metadata_in_process(token: &mut Token, slot: u8) -> Result<Vec<u8>, ukey_sim::Error> {
    token.power_on()?;
    token.transmit(SELECT_PIV)?;
    token.transmit(&[0x00, 0xF7, 0x00, slot])
}

#[test]
fn fixtures_are_preloaded_once_when_the_token_is_made_on_both_links() -> TestResult {
    let dir = TempDir::new("fixtures-once")?;
    for link in LINKS {
        // In memory, every run makes the token anew, with its fixtures.
        let mut token = Token::open(&example(link, None)?)?;
        let answer = metadata_in_process(&mut token, 0x9C)?;
        assert_eq!(answer[answer.len() - 2..], [0x90, 0x00], "{link:?}");
        assert_eq!(tlv(&answer[..answer.len() - 2], 0x03)?, [0x02], "{link:?}");
        token.close()?;

        // An image made without fixtures keeps its empty slots under a fixture profile.
        let plain = dir.path(&format!("{link:?}-plain.img"));
        let options = TokenOptions {
            image: Some(plain.clone()),
            link,
            ..TokenOptions::default()
        };
        Token::open(&options)?.close()?;
        let mut token = Token::open(&example(link, Some(plain))?)?;
        assert_eq!(
            metadata_in_process(&mut token, 0x9C)?,
            [0x6A, 0x88],
            "{link:?}"
        );
        token.close()?;

        // An image made with them keeps them under a profile without.
        let preloaded = dir.path(&format!("{link:?}-preloaded.img"));
        Token::open(&example(link, Some(preloaded.clone()))?)?.close()?;
        let mut token = Token::open(&TokenOptions {
            image: Some(preloaded),
            ..options
        })?;
        let answer = metadata_in_process(&mut token, 0x9C)?;
        assert_eq!(answer[answer.len() - 2..], [0x90, 0x00], "{link:?}");
        token.close()?;
    }
    Ok(())
}

/// Runs `openssl` with `args` and `path` last, writing `path`.
fn openssl_to(path: &Path, args: &[&str]) -> TestResult {
    let mut command = Command::new("openssl");
    command.args(args).arg(path);
    run(command)?;
    Ok(())
}

/// A profile file in `dir` with one `[[keys]]` entry (and `extra` after it).
fn profile_with(
    dir: &TempDir,
    name: &str,
    key: &str,
    extra: &str,
) -> Result<PathBuf, std::io::Error> {
    let path = dir.path(&format!("{name}.toml"));
    fs::write(&path, format!("base = \"bjca\"\n[[keys]]\n{key}\n{extra}"))?;
    Ok(path)
}

fn entry(slot: &str, algorithm: &str, key: &Path, certificate: Option<&Path>) -> String {
    let mut text = format!(
        "slot = \"{slot}\"\nalgorithm = \"{algorithm}\"\nprivate_key = \"{}\"\n",
        key.display()
    );
    if let Some(certificate) = certificate {
        text.push_str(&format!("certificate = \"{}\"\n", certificate.display()));
    }
    text
}

#[test]
fn keys_load_from_every_format_openssl_writes() -> TestResult {
    let dir = TempDir::new("fixtures-formats")?;
    let p256 = fixture("9a-p256.key.pem");
    let sm2 = fixture("9c-sm2.key.pem");
    let made = [
        (
            "p256-pkcs8.der",
            "P-256",
            vec![
                "pkey",
                "-in",
                p256.to_str().unwrap_or_default(),
                "-outform",
                "DER",
                "-out",
            ],
        ),
        (
            "p256-sec1.der",
            "P-256",
            vec![
                "ec",
                "-in",
                p256.to_str().unwrap_or_default(),
                "-outform",
                "DER",
                "-out",
            ],
        ),
        (
            "p256-sec1.pem",
            "P-256",
            vec!["ec", "-in", p256.to_str().unwrap_or_default(), "-out"],
        ),
        (
            "sm2-pkcs8.der",
            "SM2",
            vec![
                "pkey",
                "-in",
                sm2.to_str().unwrap_or_default(),
                "-outform",
                "DER",
                "-out",
            ],
        ),
        (
            "sm2-sec1.pem",
            "SM2",
            vec!["ec", "-in", sm2.to_str().unwrap_or_default(), "-out"],
        ),
        (
            "sm2-ecparam.pem",
            "SM2",
            vec!["ecparam", "-name", "SM2", "-genkey", "-out"],
        ),
    ];
    for (file, algorithm, args) in made {
        let key = dir.path(file);
        openssl_to(&key, &args)?;
        let path = profile_with(&dir, file, &entry("9d", algorithm, &key, None), "")?;
        let loaded = profile::from_file(&path).map_err(|error| format!("{file}: {error}"))?;
        assert!(!loaded.fixtures.is_empty(), "{file}");
        let shown = format!("{loaded:?}");
        assert!(shown.contains("9D"), "{file}: {shown}");
    }
    Ok(())
}

#[test]
fn bad_fixtures_say_what_to_fix_and_make_no_image() -> TestResult {
    let dir = TempDir::new("fixtures-bad")?;
    let (key_9a, cert_9a) = (fixture("9a-p256.key.pem"), fixture("9a-p256.crt.pem"));
    let (key_9c, cert_9c) = (fixture("9c-sm2.key.pem"), fixture("9c-sm2.crt.der"));
    let cert_9d = fixture("9d-p256.crt.pem");
    let p384 = dir.path("p384.pem");
    openssl_to(
        &p384,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
        ],
    )?;
    let encrypted = dir.path("encrypted.pem");
    openssl_to(
        &encrypted,
        &[
            "pkey",
            "-in",
            key_9a.to_str().unwrap_or_default(),
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
        ],
    )?;
    let missing = dir.path("missing.pem");
    let mismatch = format!(
        "certificate {} is not for private key {}",
        cert_9d.display(),
        key_9a.display()
    );
    let cases: [(&str, String, &str, &[&str]); 10] = [
        (
            "missing",
            entry("9A", "P-256", &missing, None),
            "",
            &["cannot read", "missing.pem", "slot 9A"],
        ),
        (
            "wrong-curve",
            entry("9C", "P-256", &key_9c, None),
            "",
            &["9c-sm2.key.pem", "SM2", "algorithm = \"P-256\""],
        ),
        (
            "mismatch",
            entry("9A", "P-256", &key_9a, Some(&cert_9d)),
            "",
            &[&mismatch],
        ),
        (
            "cert-curve",
            entry("9A", "P-256", &key_9a, Some(&cert_9c)),
            "",
            &["9c-sm2.crt.der", "SM2", "9a-p256.key.pem"],
        ),
        (
            "unknown-slot",
            entry("9B", "P-256", &key_9a, None),
            "",
            &["slot = \"9B\"", "\"9A\", \"9C\", \"9D\" or \"9E\""],
        ),
        (
            "p384",
            entry("9A", "P-256", &p384, None),
            "",
            &["P-384", "P-256 or SM2"],
        ),
        (
            "encrypted",
            entry("9A", "P-256", &encrypted, None),
            "",
            &["encrypted", "openssl pkey"],
        ),
        (
            "not-a-key",
            entry("9A", "P-256", &cert_9a, None),
            "",
            &["CERTIFICATE", "no PRIVATE KEY"],
        ),
        (
            "twice",
            entry("9A", "P-256", &key_9a, None),
            &format!("[[keys]]\n{}", entry("9a", "P-256", &key_9a, None)),
            &["given twice"],
        ),
        (
            "unknown-object",
            entry("9A", "P-256", &key_9a, None),
            "[objects]\ndiscovery = \"x.bin\"",
            &["discovery", "chuid"],
        ),
    ];
    for (name, key, extra, hints) in cases {
        let path = profile_with(&dir, name, &key, extra)?;
        let image = dir.path(&format!("{name}.img"));
        let mut sim = Command::new(env!("CARGO_BIN_EXE_ukey-sim"));
        sim.arg("--profile")
            .arg(&path)
            .arg("--image")
            .arg(&image)
            .args(["--vpcd", "127.0.0.1:9"]);
        let output = sim.stdin(Stdio::null()).output()?;
        let message = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {message}");
        assert!(
            message.contains(&path.display().to_string()),
            "{name}: {message}"
        );
        for hint in hints {
            assert!(message.contains(hint), "{name}: no {hint:?} in {message}");
        }
        assert!(!image.exists(), "{name}: an image was made");
    }
    Ok(())
}
