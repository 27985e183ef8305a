//! Tokens through a real private pcscd, on every link (the QEMU board's too), driven by the tools people use:
//! opensc-tool, pcsc_scan, yubico-piv-tool, and openssl to check a signature.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ukey_sim::{LinkKind, Testbed, TokenOptions};

#[path = "support/run.rs"]
mod run;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use run::run;
use temp_dir::TempDir;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LINKS: [LinkKind; 3] = [LinkKind::Direct, LinkKind::Ccid, LinkKind::Qemu];

fn token(link: LinkKind) -> TokenOptions {
    TokenOptions {
        link,
        ..TokenOptions::default()
    }
}

/// A client left running in the background (pcsc_scan, ukey-sim), killed and waited for
/// on drop; its output is collected as it comes.
struct Background {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Background {
    fn start(mut command: Command) -> std::io::Result<Self> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            thread::spawn(move || {
                for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                    if let Ok(mut text) = output.lock() {
                        text.push_str(&String::from_utf8_lossy(&line));
                        text.push('\n');
                    }
                }
            });
        }
        Ok(Self { child, output })
    }

    fn output(&self) -> String {
        self.output
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default()
    }

    /// Waits until the output contains `text` `times` times.
    fn wait_for(&self, text: &str, times: usize) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if self.output().matches(text).count() >= times {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "{text:?} did not appear {times} times in:\n{}",
            self.output()
        ))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `opensc-tool -l` line of `reader`.
fn listed(bed: &Testbed, reader: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut list = bed.command("opensc-tool");
    list.arg("-l");
    let listing = run(list)?;
    let line = listing
        .lines()
        .find(|line| line.ends_with(reader))
        .ok_or(format!("no {reader} in\n{listing}"))?;
    Ok(line.to_string())
}

#[test]
fn opensc_tool_lists_the_reader_with_the_card_on_every_link() -> TestResult {
    for link in LINKS {
        let mut bed = Testbed::with_token(&token(link))?;
        let reader = bed.reader(0)?;
        let line = listed(&bed, &reader)?;
        assert!(line.contains("Yes"), "{link:?}: no card in {line}");

        let mut atr = bed.command("opensc-tool");
        atr.args(["-r", &reader, "-a"]);
        let expected: Vec<String> = ukey_firmware::ATR
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(run(atr)?.trim(), expected.join(":"), "{link:?}");

        bed.remove(0)?;
        let line = listed(&bed, &reader)?;
        assert!(
            line.contains("No"),
            "{link:?}: a card after removal in {line}"
        );
    }
    Ok(())
}

#[test]
fn pcsc_scan_sees_the_token_inserted_and_removed_on_every_link() -> TestResult {
    let mut bed = Testbed::start(1)?;
    let mut scan = bed.command("pcsc_scan");
    scan.arg("-n");
    let scan = Background::start(scan)?;
    scan.wait_for("Card removed", 2)?;
    for (round, link) in LINKS.into_iter().enumerate() {
        bed.insert(0, &token(link))?;
        scan.wait_for("Card inserted", round + 1)?;
        bed.remove(0)?;
        scan.wait_for("Card removed", round + 3)?;
    }
    Ok(())
}

#[test]
fn opensc_names_it_a_piv_card_on_every_link() -> TestResult {
    for link in LINKS {
        let bed = Testbed::with_token(&token(link))?;
        let mut name = bed.command("opensc-tool");
        name.args(["-r", &bed.reader(0)?, "-n"]);
        assert_eq!(
            run(name)?.trim(),
            "Personal Identity Verification Card",
            "{link:?}"
        );
    }
    Ok(())
}

#[test]
fn yubico_piv_tool_reads_the_status_on_every_link() -> TestResult {
    for link in LINKS {
        let bed = Testbed::with_token(&TokenOptions {
            profile: ukey_sim::profile::load("bjca")?.profile,
            ..token(link)
        })?;
        let mut status = bed.command("yubico-piv-tool");
        status.args(["-r", &bed.reader(0)?, "-a", "status"]);
        let text = run(status)?;
        assert!(
            text.contains("Serial Number:\t10000001"),
            "{link:?}:\n{text}"
        );
        assert!(text.contains("PIN tries left:\t10"), "{link:?}:\n{text}");
    }
    Ok(())
}

/// The bytes of the last response `opensc-tool -s` printed: its hex dump has 16 bytes per
/// line in the first 48 columns, then the same bytes as text.
fn last_response(output: &str) -> Result<Vec<u8>, String> {
    let (_, dump) = output
        .rsplit_once("Received (SW1=0x90, SW2=0x00):")
        .ok_or_else(|| format!("no successful response in\n{output}"))?;
    let mut bytes = Vec::new();
    for line in dump.lines().skip(1) {
        if line.starts_with("Sending") || line.trim().is_empty() {
            break;
        }
        for token in line.get(..48).unwrap_or(line).split_whitespace() {
            bytes.push(u8::from_str_radix(token, 16).map_err(|e| format!("{token}: {e}"))?);
        }
    }
    Ok(bytes)
}

/// Takes `tag` and its value from the front of a BER-TLV.
fn tlv(data: &[u8], tag: u8) -> Result<&[u8], String> {
    let bad = || format!("no {tag:02X} TLV at the start of {data:02X?}");
    if data.first() != Some(&tag) {
        return Err(bad());
    }
    let (length, rest) = match data.get(1) {
        Some(&n) if n < 0x80 => (usize::from(n), &data[2..]),
        Some(0x81) => (usize::from(*data.get(2).ok_or_else(bad)?), &data[3..]),
        _ => return Err(bad()),
    };
    rest.get(..length).ok_or_else(bad)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

/// Verifies the PIN and signs `digest` with the key in slot 9C, with raw APDUs.
fn sign(bed: &Testbed, digest: &[u8; 32]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut sign = bed.command("opensc-tool");
    sign.args([
        "-r",
        &bed.reader(0)?,
        "-s",
        "00A4040005A000000308",
        "-s",
        "0020008008313233343536FFFF",
        "-s",
        &format!("0087119C267C2482008120{}00", hex(digest)),
    ]);
    let response = last_response(&run(sign)?)?;
    Ok(tlv(tlv(&response, 0x7C)?, 0x82)?.to_vec())
}

#[test]
fn a_key_generated_in_one_run_signs_in_the_next_on_every_link() -> TestResult {
    let dir = TempDir::new("keygen")?;
    let mut bed = Testbed::start(1)?;
    for link in LINKS {
        let image = dir.path(&format!("{link:?}.img"));
        let public = dir.path(&format!("{link:?}.pem"));
        let options = TokenOptions {
            image: Some(image.clone()),
            ..token(link)
        };
        bed.insert(0, &options)?;
        let mut generate = bed.command("yubico-piv-tool");
        generate.args([
            "-r",
            &bed.reader(0)?,
            "-a",
            "generate",
            "-s",
            "9c",
            "-A",
            "ECCP256",
            "-o",
        ]);
        generate.arg(&public);
        run(generate)?;
        bed.remove(0)?;

        bed.insert(0, &options)?;
        let digest: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5A);
        fs::write(dir.path("digest.bin"), digest)?;
        fs::write(dir.path("signature.der"), sign(&bed, &digest)?)?;
        bed.remove(0)?;

        let mut verify = Command::new("openssl");
        verify
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&public)
            .arg("-in")
            .arg(dir.path("digest.bin"))
            .arg("-sigfile")
            .arg(dir.path("signature.der"));
        let verdict = run(verify)?;
        assert!(
            verdict.contains("Signature Verified Successfully"),
            "{link:?}: {verdict}"
        );
    }
    Ok(())
}

#[test]
fn several_tokens_in_two_slots_and_two_readers() -> TestResult {
    let mut bed = Testbed::start(2)?;
    bed.insert(0, &token(LinkKind::Direct))?;
    bed.insert(1, &token(LinkKind::Ccid))?;
    bed.insert(3, &token(LinkKind::Qemu))?;
    for slot in 0..4 {
        let line = listed(&bed, &bed.reader(slot)?)?;
        assert_eq!(line.contains("Yes"), slot != 2, "{line}");
    }
    Ok(())
}

#[test]
fn the_command_line_token_plays_until_sigterm_and_flushes_its_image() -> TestResult {
    let dir = TempDir::new("cli")?;
    let bed = Testbed::start(1)?;
    for link in ["direct", "ccid", "qemu"] {
        let image = dir.path(&format!("{link}.img"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_ukey-sim"));
        command
            .args([
                "--vpcd",
                &bed.pcscd().vpcd_addr(0).ok_or("no slot 0")?,
                "--link",
                link,
            ])
            .arg("--image")
            .arg(&image)
            .args(["--profile", "bjca", "-v"]);
        let mut sim = Background::start(command)?;
        sim.wait_for("ukey-sim: power on", 1)?;
        let mut status = bed.command("yubico-piv-tool");
        status.args(["-r", &bed.reader(0)?, "-a", "status"]);
        assert!(run(status)?.contains("PIN tries left:\t10"), "{link}");

        run({
            let mut kill = Command::new("kill");
            kill.args(["-TERM", &sim.child.id().to_string()]);
            kill
        })?;
        let exit = sim.child.wait()?;
        assert!(exit.success(), "{link}: {exit}\n{}", sim.output());
        assert!(
            sim.output().contains("ukey-sim: > 00A4040005A000000308"),
            "-v traces APDUs"
        );
        assert!(fs::metadata(&image)?.len() > 0, "{link}");
    }
    Ok(())
}
