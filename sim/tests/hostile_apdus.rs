//! What a hostile client may send, on every link (direct, ccid and the QEMU board), in
//! process: APDUs cut short, lengths that contradict the data, and commands longer than any
//! buffer of the token. Each gets a status word, the same on every link that can carry it;
//! none changes the card's state (the PIN stays verified, no try is spent) and the token keeps
//! working. Only the QEMU board, whose receive buffer holds the applet's largest command
//! (`MAX_COMMAND_DATA` and a 9-byte extended header), answers a longer one `67 00` without
//! passing it on.

use ukey_firmware::MAX_COMMAND_DATA;
use ukey_sim::{Link, LinkKind, Token, TokenOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LINKS: [LinkKind; 3] = [LinkKind::Direct, LinkKind::Ccid, LinkKind::Qemu];

const SELECT_PIV: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
const VERIFY_PIN: &[u8] = &[
    0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
];
const PIN_STATUS: &[u8] = &[0x00, 0x20, 0x00, 0x80];
/// GET METADATA of the PIN: its `06` TLV holds the tries (total, left).
const PIN_METADATA: &[u8] = &[0x00, 0xF7, 0x00, 0x80];
const WRONG_LENGTH: [u8; 2] = [0x67, 0x00];
/// The longest APDU the QEMU board takes in one frame.
const BOARD_LIMIT: usize = 4 + 3 + MAX_COMMAND_DATA + 2;

/// APDUs cut short or whose lengths contradict their data.
fn malformed() -> Vec<Vec<u8>> {
    vec![
        vec![],
        vec![0x00],
        vec![0x00, 0xA4],
        vec![0x00, 0xA4, 0x04],
        // Header only, of a command that needs data.
        vec![0x00, 0xDB, 0x3F, 0xFF],
        vec![0x00, 0x87, 0x11, 0x9A],
        // Lc larger than the data: a PIN cut short must not cost a try.
        vec![0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3'],
        vec![0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00],
        // Lc smaller than the data.
        vec![0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00, 0x03, 0x08],
        // Extended lengths that do not add up.
        vec![0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x05, 0x5C, 0x03, 0x5F],
        vec![0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x00],
        vec![0x00, 0xCB, 0x3F, 0xFF, 0x00, 0xFF, 0xFF, 0x5C],
        vec![
            0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x03, 0x5C, 0x01, 0x7E, 0x00,
        ],
        vec![
            0x00, 0x20, 0x00, 0x80, 0x00, 0x00, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF,
        ],
        [&[0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x10, 0x00][..], &[0x53; 5]].concat(),
    ]
}

/// The fault campaign's GET DATA: `size` bytes in all, `00 CB 3F FF 00 Lc Lc 5C` and zeros.
fn long_get_data(size: usize) -> Vec<u8> {
    let lc = u16::try_from(size - 7).unwrap_or(u16::MAX);
    let mut command = vec![0x00, 0xCB, 0x3F, 0xFF, 0x00];
    command.extend_from_slice(&lc.to_be_bytes());
    command.push(0x5C);
    command.resize(size, 0);
    command
}

/// An extended PUT DATA of `size` bytes in all, with a 2-byte Le.
fn long_put_data(size: usize) -> Vec<u8> {
    let lc = u16::try_from(size - 9).unwrap_or(u16::MAX);
    let mut command = vec![0x00, 0xDB, 0x3F, 0xFF, 0x00];
    command.extend_from_slice(&lc.to_be_bytes());
    command.extend_from_slice(&[0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x53]);
    command.resize(size - 2, 0x82);
    command.extend_from_slice(&[0x00, 0x00]);
    command
}

/// Sizes on both sides of every limit: the board's frame, usbd-ccid's message (3,062 bytes
/// of APDU), the simulated device's former 7,609-byte interchange, and vpcd's 65,535.
const SIZES: [usize; 11] = [
    3062,
    3063,
    BOARD_LIMIT - 1,
    BOARD_LIMIT,
    BOARD_LIMIT + 1,
    7609,
    7610,
    7611,
    9000,
    32_768,
    65_535,
];

/// A powered token on `link` with the PIV application selected and the PIN verified.
fn verified_token(link: LinkKind) -> Result<Token, Box<dyn std::error::Error>> {
    let mut token = Token::open(&TokenOptions {
        link,
        seed: Some(3),
        ..TokenOptions::default()
    })?;
    token.power_on()?;
    let select = token.transmit(SELECT_PIV)?;
    assert!(matches!(
        select[select.len() - 2..],
        [0x90, 0x00] | [0x61, _]
    ));
    assert_eq!(token.transmit(VERIFY_PIN)?, [0x90, 0x00], "{link:?}");
    Ok(token)
}

/// Checks the token still answers, the PIN is still verified and its tries are `tries`.
fn still_working(token: &mut Token, tries: &[u8], what: &str) -> TestResult {
    assert_eq!(
        token.transmit(PIN_STATUS)?,
        [0x90, 0x00],
        "{what}: the PIN is no longer verified"
    );
    assert_eq!(
        token.transmit(PIN_METADATA)?,
        tries,
        "{what}: the PIN's tries changed"
    );
    Ok(())
}

fn status_word(answer: &[u8]) -> Option<[u8; 2]> {
    answer.last_chunk::<2>().copied()
}

#[test]
fn apdus_cut_short_or_with_contradicting_lengths_get_a_status_word_on_every_link() -> TestResult {
    let mut expected = Vec::new();
    for link in LINKS {
        let mut token = verified_token(link)?;
        let tries = token.transmit(PIN_METADATA)?;
        let mut answers = Vec::new();
        for command in malformed() {
            let what = format!("{link:?}, {command:02X?}");
            let answer = token.transmit(&command)?;
            let status = status_word(&answer).ok_or(format!("{what}: no status word"))?;
            assert_ne!(status, [0x90, 0x00], "{what}: accepted");
            still_working(&mut token, &tries, &what)?;
            answers.push(answer);
        }
        token.close()?;
        if link == LinkKind::Direct {
            expected = answers;
        } else {
            assert_eq!(answers, expected, "{link:?} answers otherwise than direct");
        }
    }
    Ok(())
}

#[test]
fn apdus_longer_than_any_buffer_get_a_status_word_and_the_token_keeps_working() -> TestResult {
    let commands: Vec<Vec<u8>> = SIZES
        .iter()
        .flat_map(|&size| [long_get_data(size), long_put_data(size)])
        .collect();
    let mut expected = Vec::new();
    for link in LINKS {
        let mut token = verified_token(link)?;
        let tries = token.transmit(PIN_METADATA)?;
        for (index, command) in commands.iter().enumerate() {
            let what = format!("{link:?}, a {}-byte {:02X}", command.len(), command[1]);
            let answer = token.transmit(command)?;
            let status = status_word(&answer).ok_or(format!("{what}: no status word"))?;
            match link {
                LinkKind::Direct => expected.push(answer),
                LinkKind::Qemu if command.len() > BOARD_LIMIT => {
                    assert_eq!(status, WRONG_LENGTH, "{what}");
                    assert_eq!(answer.len(), 2, "{what}");
                }
                _ => assert_eq!(answer, expected[index], "{what}: not direct's answer"),
            }
            still_working(&mut token, &tries, &what)?;
        }
        token.close()?;
    }
    Ok(())
}

#[test]
fn the_longest_extended_apdu_gets_the_same_answer_on_the_ccid_link_as_direct() -> TestResult {
    let longest = long_put_data(4 + 3 + 65_535 + 2);
    let mut answers = Vec::new();
    for link in [LinkKind::Direct, LinkKind::Ccid] {
        let mut token = verified_token(link)?;
        let tries = token.transmit(PIN_METADATA)?;
        answers.push(token.transmit(&longest)?);
        still_working(&mut token, &tries, &format!("{link:?}"))?;
        token.close()?;
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].len(), 2);
    Ok(())
}
