//! The factory reset a real reader's token gets before each session, through the card edge
//! alone: the PIN and the PUK blocked with wrong tries, then RESET (`00 FB 00 00`). It
//! erases every key and certificate on the token.

use super::exchange::Exchange;
use super::failure::Failure;
use super::session::Session;

/// The most tries a PIN or PUK can have (card edge: 1 to 15).
const MOST_TRIES: usize = 15;
/// A wrong PIN and a wrong PUK, padded to 8 bytes: `00000000`.
const WRONG: &str = "3030303030303030";
const SELECT: &str = "00A4040005A000000308";
const RESET: [u8; 4] = [0x00, 0xFB, 0x00, 0x00];
const VERIFY_STATUS: [u8; 4] = [0x00, 0x20, 0x00, 0x80];
const GET_SERIAL: [u8; 4] = [0x00, 0xF8, 0x00, 0x00];

/// What SELECT answers on a ukey token: the application label `50 08 "ukey PIV"`
/// (card-edge.md, SELECT). The blocking and RESET below are any PIV card's reset (a
/// YubiKey's among them), so they go only to a token that answers this.
const UKEY_LABEL: &[u8] = b"\x50\x08ukey PIV";

/// Resets the session's token to factory state with `opensc-tool -s` and checks each stage
/// by its status words; gives the token's serial number. A token that is not a ukey is
/// left untouched.
pub(crate) fn reset(session: &Session) -> Result<u32, Failure> {
    ensure_ukey(session)?;
    let wrong_pin = format!("0020008008{WRONG}");
    let wrong_puk = format!("002C008010{WRONG}{WRONG}");
    let mut apdus = vec![SELECT.to_string()];
    apdus.extend(std::iter::repeat_n(wrong_pin, MOST_TRIES));
    apdus.extend(std::iter::repeat_n(wrong_puk, MOST_TRIES));
    apdus.extend(["00FB0000", "00200080", "00F8000000"].map(String::from));

    let mut command = session.command("opensc-tool");
    command.args(["-r", session.reader()]);
    for apdu in &apdus {
        command.args(["-s", apdu]);
    }
    let step = "factory reset: PIN and PUK blocked, then RESET";
    // opensc-tool exits 0 whatever the status words: each stage is judged by its answer.
    let ran = session.run(step, command)?;
    let exchanges = ran.exchanges();
    let last = |prefix: &[u8]| {
        exchanges
            .iter()
            .rev()
            .find(|exchange| exchange.command.starts_with(prefix))
    };
    let sw = |exchange: Option<&Exchange>| exchange.map(|exchange| exchange.sw);
    ran.ensure(
        sw(last(&[0x00, 0x20, 0x00, 0x80, 0x08])) == Some(0x6983),
        "the PIN is not blocked after 15 wrong tries (is 00000000 the PIN?)",
    )?;
    ran.ensure(
        sw(last(&[0x00, 0x2C, 0x00, 0x80])) == Some(0x6983),
        "the PUK is not blocked after 15 wrong tries (is 00000000 the PUK?)",
    )?;
    ran.ensure(
        sw(last(&RESET)) == Some(0x9000),
        "RESET did not answer 90 00",
    )?;
    let status = exchanges
        .iter()
        .rev()
        .find(|exchange| exchange.command == VERIFY_STATUS);
    ran.ensure(
        sw(status) == Some(0x63C3),
        "after RESET the PIN does not have the card edge's 3 default tries: the tests expect \
         a token made with Profile::standard",
    )?;
    let serial = last(&GET_SERIAL)
        .filter(|exchange| exchange.sw == 0x9000)
        .and_then(|exchange| <[u8; 4]>::try_from(exchange.data.as_slice()).ok())
        .ok_or_else(|| ran.fail("GET SERIAL gave no 4-byte serial number"))?;
    Ok(u32::from_be_bytes(serial))
}

/// Fails, having sent nothing but SELECT, unless the token answers SELECT as a ukey does.
fn ensure_ukey(session: &Session) -> Result<(), Failure> {
    let mut command = session.command("opensc-tool");
    command.args(["-r", session.reader(), "-s", SELECT]);
    let ran = session.run("check that the token is a ukey before erasing it", command)?;
    let is_ukey = ran.exchanges().iter().any(|exchange| {
        exchange.command.starts_with(&[0x00, 0xA4, 0x04, 0x00])
            && exchange.sw == 0x9000
            && exchange
                .data
                .windows(UKEY_LABEL.len())
                .any(|window| window == UKEY_LABEL)
    });
    ran.ensure(
        is_ukey,
        "the token in this reader does not answer SELECT as a ukey token (label \"ukey PIV\"): \
         refusing to erase it; set UKEY_TEST_READER to the ukey token's reader",
    )
}
