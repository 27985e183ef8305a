//! The campaign's token: its profile, an aged image to start each chain of trials from, and
//! telling from two copies of an image whether a page was erased between them.

use std::fs;
use std::net::TcpListener;
use std::path::Path;

use super::commands::{CERTIFICATES, Command, P256, SLOTS, SM2, certificate_object};
use super::dice::Dice;
use super::model::{Factory, LABEL, ManagementKey, Token};
use super::session;
use super::token_process::{Launch, TokenProcess};

/// Bytes of an image's header before the flash pages.
const HEADER: usize = 24;

/// The campaign's profile: the card edge's default PIN, PUK and management key, four PIN
/// tries, and a factory label (shown again after RESET or when a label is deleted).
pub fn write_profile(path: &Path) -> Result<Factory, String> {
    let profile = "base = \"default\"\nserial = 17017\nlabel = \"Factory label\"\n\
                   pin = \"123456\"\npuk = \"12345678\"\npin_tries = 4\npuk_tries = 3\n";
    fs::write(path, profile).map_err(|error| format!("writing {}: {error}", path.display()))?;
    Ok(Factory {
        pin: b"123456".to_vec(),
        puk: b"12345678".to_vec(),
        pin_tries: 4,
        puk_tries: 3,
        management_key: ManagementKey {
            algorithm: 0x03,
            key: [1, 2, 3, 4, 5, 6, 7, 8].repeat(3),
        },
        label: b"Factory label".to_vec(),
    })
}

/// Makes a new image at `launch.image` and ages it: a key in every slot, the objects no
/// trial writes, then certificates written over each other until as many bytes as the flash
/// holds have been written, so the store has come round and collects garbage as trials write.
/// Returns the state it holds.
pub fn make_aged(
    vpcd: &TcpListener,
    launch: &Launch,
    factory: &Factory,
    flash_bytes: usize,
    dice: &mut Dice,
    log: &Path,
) -> Result<Token, String> {
    let mut token = TokenProcess::start(vpcd, launch, log)?;
    session::select(&mut token)?;
    let mut state = factory.token();
    if !session::authenticate(&mut token, &factory.management_key, dice)? {
        return Err("a new token refuses the factory management key".into());
    }
    let run = |token: &mut TokenProcess, command: Command, state: &mut Token| {
        *state = session::run(token, &command, state, factory)
            .map_err(|error| format!("ageing the image: {error}"))?;
        Ok::<usize, String>(command.apdu().len())
    };
    for slot in SLOTS {
        let algorithm = dice.pick(&[P256, SM2]);
        let generate = Command::Generate {
            slot,
            algorithm,
            pin_policy: None,
        };
        run(&mut token, generate, &mut state)?;
    }
    for (tag, value) in [
        (0x5FC107, b"\xF0\x15ukey crash campaign CCC".to_vec()),
        (
            0x5FC10C,
            vec![0xC1, 0x01, 0x00, 0xC2, 0x01, 0x00, 0xFE, 0x00],
        ),
        (LABEL, "张三 Zhang San".as_bytes().to_vec()),
    ] {
        run(&mut token, Command::PutData { tag, value }, &mut state)?;
    }
    let mut written = 0;
    while written < flash_bytes {
        let tag = dice.pick(&CERTIFICATES);
        let value = certificate_object(dice);
        written += run(&mut token, Command::PutData { tag, value }, &mut state)?;
    }
    token.power_off_and_end()?;
    Ok(state)
}

/// Whether a page was erased between two copies of an image: some bit went from 0 back to
/// 1, which only an erase does on NOR flash.
pub fn erased_between(before: &Path, after: &Path) -> Result<bool, String> {
    let read = |path: &Path| fs::read(path).map_err(|error| format!("{}: {error}", path.display()));
    let (before, after) = (read(before)?, read(after)?);
    Ok(before
        .iter()
        .zip(&after)
        .skip(HEADER)
        .any(|(old, new)| !old & new != 0))
}
