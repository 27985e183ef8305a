//! Raw APDUs sent with `opensc-tool -s`, to check the card's state where no client shows it.

use super::failure::Failure;
use super::session::Session;
use super::step::Ran;

/// Sends GET METADATA of `slot` (`9A`..`9E`) after selecting the PIV application; the
/// answer is `ran.answer_to(&[0x00, 0xF7, 0x00, slot])`: `01` algorithm, `02` policies,
/// `03` origin, `04` public key..., or `6A 88` for an empty slot.
pub fn metadata(session: &Session, slot: u8) -> Result<Ran<'_>, Failure> {
    let mut command = session.command("opensc-tool");
    command.args(["-r", session.reader()]).args([
        "-s",
        "00A4040005A000000308",
        "-s",
        &format!("00F700{slot:02X}00"),
    ]);
    // opensc-tool exits 0 whatever the status words: the answer is judged by the caller.
    session.attempt(&format!("opensc-tool: GET METADATA of {slot:02X}"), command)
}
