//! pcsc-tools against the token through pcscd, on every link (or on a real reader's token):
//! `pcsc_scan` sees the card and its ATR, and `scriptor` plays a raw APDU script whose
//! every answer is checked.

use std::fs;

use ukey_suite::interop::{Failure, InStep, Ran, Session, targets};

const CLIENT: &str = "pcsc-tools";

/// Bytes in hex as pcsc-tools print them: upper case, one space between bytes.
fn spaced(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn pcsc_scan_sees_the_card_and_its_atr() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        // -c: list the cards once and exit. -n: no ATR analysis, which would try to
        // download smartcard_list.txt from the internet.
        let mut scan = session.command("pcsc_scan");
        scan.args(["-c", "-n"]);
        let ran = session.run("pcsc_scan -c -n", scan)?;
        // Each reader's block starts with " Reader N: NAME" and lists the card state and ATR.
        let block = ran
            .stdout()
            .split(" Reader ")
            .find(|block| {
                block
                    .lines()
                    .next()
                    .is_some_and(|first| first.ends_with(&format!(": {}", session.reader())))
            })
            .ok_or_else(|| ran.fail(format!("no block for reader {:?}", session.reader())))?;
        ran.ensure(
            block.contains("Card state: Card inserted"),
            format!("the card is not shown inserted:\n{block}"),
        )?;
        let atr = format!("ATR: {}", spaced(&ukey_firmware::ATR));
        ran.ensure(
            block.contains(&atr),
            format!("{atr:?} missing from:\n{block}"),
        )?;
    }
    Ok(())
}

/// The script: each command, then its expected answer (data and status word) where `??`
/// stands for any byte and `SERIAL` for the token's serial number.
const SCRIPT: &[(&str, &str, &str)] = &[
    (
        "SELECT the PIV application by the 5-byte AID yubico-piv-tool uses: the application \
         property template (AID, label \"ukey PIV\", algorithms P-256 and SM2)",
        "00 A4 04 00 05 A0 00 00 03 08",
        "61 26 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 50 08 75 6B 65 79 20 50 49 \
         56 AC 09 80 01 11 80 01 54 06 01 00 90 00",
    ),
    (
        "GET VERSION: 3 bytes, major 5",
        "00 FD 00 00",
        "05 ?? ?? 90 00",
    ),
    (
        "GET SERIAL: 4 bytes, big-endian",
        "00 F8 00 00",
        "SERIAL 90 00",
    ),
    (
        "GET DATA of the discovery object",
        "00 CB 3F FF 03 5C 01 7E 00",
        "7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00 90 00",
    ),
    (
        "VERIFY, no data, before any PIN: not verified, 3 tries",
        "00 20 00 80",
        "63 C3",
    ),
    (
        "VERIFY a wrong PIN: 2 tries left",
        "00 20 00 80 08 39 39 39 39 39 39 FF FF",
        "63 C2",
    ),
    (
        "VERIFY 123456: verified, the counter back at 3",
        "00 20 00 80 08 31 32 33 34 35 36 FF FF",
        "90 00",
    ),
    ("VERIFY, no data: verified", "00 20 00 80", "90 00"),
    ("VERIFY, reset state", "00 20 FF 80", "90 00"),
    (
        "VERIFY, no data: no longer verified",
        "00 20 00 80",
        "63 C3",
    ),
    (
        "GENERATE without the management key: refused",
        "00 47 00 9A 05 AC 03 80 01 11",
        "69 82",
    ),
    ("An unknown instruction", "00 E2 00 00", "6D 00"),
];

/// The answers in scriptor's output: `< OK: ATR` for the reset; after each command, the
/// `< ` line and its continuation lines hold hex bytes, then ` : ` and the status text.
fn answers(ran: &Ran<'_>) -> Result<Vec<String>, Failure> {
    let mut answers = Vec::new();
    let mut current: Option<String> = None;
    for line in ran.stdout().lines() {
        if let Some(atr) = line.strip_prefix("< OK: ") {
            answers.push(atr.trim().to_string());
            continue;
        }
        let line = match (line.strip_prefix("< "), current.as_mut()) {
            (Some(first), _) => {
                current = Some(String::new());
                first
            }
            (None, Some(_)) => line,
            (None, None) => continue,
        };
        let (bytes, done) = match line.split_once(':') {
            Some((bytes, _status)) => (bytes, true),
            None => (line, false),
        };
        if let Some(answer) = current.as_mut() {
            answer.push_str(bytes.trim());
            answer.push(' ');
        }
        if done {
            answers.extend(current.take().map(|answer| answer.trim().to_string()));
        }
    }
    // The first answer is the one to "reset": the ATR.
    if answers.len() != SCRIPT.len() + 1 {
        return Err(ran.fail(format!(
            "{} answers for {} commands and a reset",
            answers.len(),
            SCRIPT.len()
        )));
    }
    Ok(answers)
}

fn matches(expected: &str, actual: &str) -> bool {
    let expected: Vec<&str> = expected.split_whitespace().collect();
    let actual: Vec<&str> = actual.split_whitespace().collect();
    expected.len() == actual.len()
        && expected
            .iter()
            .zip(&actual)
            .all(|(e, a)| *e == "??" || e.eq_ignore_ascii_case(a))
}

#[test]
fn scriptor_plays_a_raw_apdu_script_and_every_answer_is_right() -> Result<(), Failure> {
    for target in targets() {
        let session = Session::start(CLIENT, &target)?;
        let mut script = String::from("reset\n");
        for (what, command, _) in SCRIPT {
            script.push_str(&format!("# {what}\n{command}\n"));
        }
        let file = session.path("piv.script");
        fs::write(&file, script).in_step(&session, "writing the script")?;
        let mut scriptor = session.command("scriptor");
        scriptor.args(["-r", session.reader()]).arg(&file);
        let ran = session.run("scriptor piv.script", scriptor)?;
        let answers = answers(&ran)?;
        ran.ensure(
            answers.first().map(String::as_str) == Some(&spaced(&ukey_firmware::ATR)),
            format!("reset answered {:?}, not the ATR", answers.first()),
        )?;
        let serial = spaced(&session.serial().to_be_bytes());
        for ((what, command, expected), actual) in SCRIPT.iter().zip(answers.iter().skip(1)) {
            let expected = expected.replace("SERIAL", &serial);
            ran.ensure(
                matches(&expected, actual),
                format!("{what}: {command} answered {actual}, expected {expected}"),
            )?;
        }
    }
    Ok(())
}
