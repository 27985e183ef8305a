//! ykman against the token through pcscd, on every link (or on a real reader's token):
//! Debian's yubikey-manager (4.0.9) and the current one from PyPI (in the venv that
//! `scripts/setup.sh` makes). `piv info`; `access change-management-key --protect`, after
//! which a command that needs the management key runs given only the PIN; `keys move` and
//! `keys delete` (PyPI's only: 4.0.9 has neither); `piv reset`, which blocks PIN and PUK
//! itself first. Each is judged by its effect (what ykman and other clients read back), not
//! by the APDUs: on a real reader ykman runs without pcsc-lite's spy, which it crashes.

use std::path::Path;
use std::process::Command;

use ukey_suite::interop::{Failure, Ran, Session, metadata, targets};

const CLIENT: &str = "ykman";

/// Debian's ykman, from the package yubikey-manager.
const DEBIAN_YKMAN: &str = "/usr/bin/ykman";
/// PyPI's ykman, in the venv scripts/setup.sh makes.
const PYPI_YKMAN: &str = "/opt/ukey-ykman-venv/bin/ykman";

/// Both ykmans; a missing one fails the session, naming the setup script.
fn ykmans(session: &Session) -> Result<[&'static str; 2], Failure> {
    for ykman in [DEBIAN_YKMAN, PYPI_YKMAN] {
        if !Path::new(ykman).exists() {
            return Err(session.fail(
                "finding ykman",
                format!("{ykman} is missing: run scripts/setup.sh"),
            ));
        }
    }
    Ok([DEBIAN_YKMAN, PYPI_YKMAN])
}

/// `ykman --reader <the session's reader> piv <args>`: ykman looks only for YubiKeys
/// unless told a reader, and the name must match exactly one reader. Unspied on a real
/// reader: pcsc-lite's spy crashes under pyscard ([`Session::command_unspied`]).
fn ykman(session: &Session, ykman: &str, args: &[&str]) -> Command {
    let mut command = session.command_unspied(ykman);
    command
        .args(["--reader", session.reader(), "piv"])
        .args(args)
        .env("LC_ALL", "C.UTF-8");
    command
}

/// Runs `ykman piv <args>` and expects it to succeed.
fn run<'s>(session: &'s Session, exe: &str, args: &[&str]) -> Result<Ran<'s>, Failure> {
    let step = format!("{exe} piv {}", args.join(" "));
    session.run(&step, ykman(session, exe, args))
}

/// Whether this ykman has `piv keys move` and `delete` (yubikey-manager 5.4 and later).
fn moves_keys(exe: &str) -> bool {
    exe == PYPI_YKMAN
}

#[test]
fn info_shows_the_token() -> Result<(), Failure> {
    for target in targets() {
        for exe in [DEBIAN_YKMAN, PYPI_YKMAN] {
            let session = Session::start(CLIENT, &target)?;
            ykmans(&session)?;
            let ran = run(&session, exe, &["info"])?;
            ran.ensure(
                ran.value("PIV version:")? == "5.7.0",
                "not the card edge's version 5.7.0",
            )?;
            ran.ensure(
                ran.value("PIN tries remaining:")?.starts_with('3'),
                "not 3 PIN tries",
            )?;
            ran.ensure(
                !ran.exchanges().iter().any(|e| e.sw == 0x6D00),
                "ykman sent an instruction the token does not know",
            )?;
        }
    }
    Ok(())
}

#[test]
fn a_protected_management_key_serves_with_the_pin_alone() -> Result<(), Failure> {
    for target in targets() {
        for exe in [DEBIAN_YKMAN, PYPI_YKMAN] {
            let session = Session::start(CLIENT, &target)?;
            ykmans(&session)?;
            run(
                &session,
                exe,
                &[
                    "access",
                    "change-management-key",
                    "--protect",
                    "-m",
                    "010203040506070801020304050607080102030405060708",
                    "-P",
                    "123456",
                    "-f",
                ],
            )?;
            let public_key = session.path("9a.pub.pem");
            let mut generate = ykman(
                &session,
                exe,
                &["keys", "generate", "-a", "ECCP256", "-P", "123456", "9a"],
            );
            generate.arg(&public_key);
            session.run(&format!("{exe} piv keys generate (PIN only)"), generate)?;
            let ran = metadata(&session, 0x9A)?;
            ran.ensure(
                ran.answer_to(&[0x00, 0xF7, 0x00, 0x9A])?.sw == 0x9000,
                "no key in 9A after generating with the PIN alone",
            )?;
            let ran = metadata(&session, 0x9B)?;
            ran.ensure(
                ran.answer_to(&[0x00, 0xF7, 0x00, 0x9B])?
                    .data
                    .ends_with(&[0x05, 0x01, 0x00]),
                "the management key is still the default one",
            )?;
        }
    }
    Ok(())
}

#[test]
fn keys_move_and_delete() -> Result<(), Failure> {
    for target in targets() {
        for exe in [DEBIAN_YKMAN, PYPI_YKMAN]
            .into_iter()
            .filter(|exe| moves_keys(exe))
        {
            let session = Session::start(CLIENT, &target)?;
            ykmans(&session)?;
            let key = "010203040506070801020304050607080102030405060708";
            let public_key = session.path("9a.pub.pem");
            let mut generate = ykman(
                &session,
                exe,
                &["keys", "generate", "-a", "ECCP256", "-m", key, "9a"],
            );
            generate.arg(&public_key);
            session.run(&format!("{exe} piv keys generate 9a"), generate)?;
            let ran = run(&session, exe, &["keys", "move", "-m", key, "9a", "9d"])?;
            ran.expect_output("Key moved from slot AUTHENTICATION to slot KEY_MANAGEMENT")?;
            let mut exported = ykman(&session, exe, &["keys", "export", "9d"]);
            let moved = session.path("9d.pub.pem");
            exported.arg(&moved);
            session.run(&format!("{exe} piv keys export 9d"), exported)?;
            let same = std::fs::read(&public_key).ok() == std::fs::read(&moved).ok();
            if !same {
                return Err(session.fail("keys export 9d", "not the key generated in 9a"));
            }
            let ran = session.run_expecting(
                "ykman piv keys move 9a 9d (empty source)",
                ykman(&session, exe, &["keys", "move", "-m", key, "9a", "9d"]),
                1,
            )?;
            ran.expect_output("No key in SOURCE slot")?;
            session.run(
                &format!("{exe} piv keys generate 9c"),
                ykman(
                    &session,
                    exe,
                    &["keys", "generate", "-a", "ECCP256", "-m", key, "9c", "-"],
                ),
            )?;
            let ran = session.run_expecting(
                "ykman piv keys move 9c 9d (occupied destination)",
                ykman(&session, exe, &["keys", "move", "-m", key, "9c", "9d"]),
                1,
            )?;
            ran.expect_output("DEST slot is not empty")?;
            let ran = run(&session, exe, &["keys", "delete", "-m", key, "9d"])?;
            ran.expect_output("Key in slot KEY_MANAGEMENT deleted")?;
            let ran = session.run_expecting(
                "ykman piv keys delete 9d (empty)",
                ykman(&session, exe, &["keys", "delete", "-m", key, "9d"]),
                1,
            )?;
            ran.expect_output("No key stored in slot")?;
        }
    }
    Ok(())
}

#[test]
fn reset_blocks_pin_and_puk_then_resets() -> Result<(), Failure> {
    for target in targets() {
        for exe in [DEBIAN_YKMAN, PYPI_YKMAN] {
            let session = Session::start(CLIENT, &target)?;
            ykmans(&session)?;
            run(
                &session,
                exe,
                &["access", "change-pin", "-P", "123456", "-n", "24681357"],
            )?;
            run(&session, exe, &["reset", "-f"])?;
            let ran = run(&session, exe, &["info"])?;
            ran.ensure(
                ran.value("PIN tries remaining:")?.starts_with('3'),
                "not 3 PIN tries after the reset",
            )?;
            run(
                &session,
                exe,
                &["access", "change-pin", "-P", "123456", "-n", "13572468"],
            )?;
        }
    }
    Ok(())
}
