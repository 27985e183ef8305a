//! 1-byte APDUs through the real pcscd and vpcd, on every link: vpcd sends them as it sends
//! its control codes, so a token that took them for power codes would power the card off or
//! reset it, or leave vpcd waiting forever with the reader jammed for every client. Each must
//! be answered, leave the card's state alone (the PIN stays verified inside a transaction)
//! and leave the reader to other clients.
//!
//! libpcsclite reads `PCSCLITE_CSOCK_NAME` once per process, so this binary holds a single
//! test with a single testbed.

use std::ffi::CString;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use pcsc::{Context, Protocols, Scope, ShareMode};
use ukey_sim::{LinkKind, Testbed, TokenOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LINKS: [LinkKind; 3] = [LinkKind::Direct, LinkKind::Ccid, LinkKind::Qemu];
const SELECT_PIV: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
const VERIFY_PIN: &[u8] = &[
    0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
];
const PIN_STATUS: &[u8] = &[0x00, 0x20, 0x00, 0x80];
/// vpcd's control codes (power off, on, reset, ATR) and a byte that is none.
const ONE_BYTE_APDUS: [u8; 5] = [0x00, 0x01, 0x02, 0x04, 0xA2];
/// Longer than any answer may take (a held-back power code waits 2 s).
const JAMMED: Duration = Duration::from_secs(15);

/// A PC/SC client on a thread of its own, holding a transaction on `reader` for as long as
/// it lives, so that a jammed reader fails the test instead of hanging it.
struct Client {
    commands: mpsc::Sender<Vec<u8>>,
    answers: mpsc::Receiver<Result<Vec<u8>, String>>,
    thread: thread::JoinHandle<()>,
}

impl Client {
    fn start(reader: CString) -> Self {
        let (commands, requests) = mpsc::channel::<Vec<u8>>();
        let (replies, answers) = mpsc::channel();
        let thread = thread::spawn(move || {
            let connected = Context::establish(Scope::User)
                .and_then(|context| context.connect(&reader, ShareMode::Shared, Protocols::ANY));
            let mut card = match connected {
                Ok(card) => card,
                Err(error) => {
                    let _ = replies.send(Err(format!("connecting: {error}")));
                    return;
                }
            };
            let transaction = match card.transaction() {
                Ok(transaction) => transaction,
                Err(error) => {
                    let _ = replies.send(Err(format!("beginning a transaction: {error}")));
                    return;
                }
            };
            for command in requests {
                let mut buffer = [0u8; 300];
                let answer = transaction
                    .transmit(&command, &mut buffer)
                    .map(<[u8]>::to_vec)
                    .map_err(|error| format!("{command:02X?}: {error}"));
                if replies.send(answer).is_err() {
                    return;
                }
            }
        });
        Self {
            commands,
            answers,
            thread,
        }
    }

    /// Ends the transaction and disconnects (which resets the card), and waits for both:
    /// a client connecting while pcscd still resets the card gets `SCARD_E_PROTO_MISMATCH`.
    fn disconnect(self) -> Result<(), String> {
        drop(self.commands);
        self.thread
            .join()
            .map_err(|_| "the client thread panicked".to_string())
    }

    fn transmit(&self, command: &[u8]) -> Result<Vec<u8>, String> {
        self.commands
            .send(command.to_vec())
            .map_err(|_| "the client thread ended".to_string())?;
        self.answers
            .recv_timeout(JAMMED)
            .map_err(|_| format!("no answer to {command:02X?} within {JAMMED:?}: jammed"))?
    }
}

fn status(answer: &[u8]) -> Option<[u8; 2]> {
    answer.last_chunk::<2>().copied()
}

#[test]
fn one_byte_apdus_are_answered_and_change_nothing_on_every_link() -> TestResult {
    let mut bed = Testbed::start(2)?;
    for (slot, link) in LINKS.into_iter().enumerate() {
        bed.insert(
            slot,
            &TokenOptions {
                link,
                ..TokenOptions::default()
            },
        )?;
    }
    // SAFETY: set before any PC/SC call, while no other thread of this binary reads the
    // environment (this is its only test).
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };
    for (slot, link) in LINKS.into_iter().enumerate() {
        let reader = CString::new(bed.reader(slot)?)?;
        let client = Client::start(reader.clone());
        let select = client.transmit(SELECT_PIV)?;
        assert!(matches!(status(&select), Some([0x90, 0x00] | [0x61, _])));
        assert_eq!(client.transmit(VERIFY_PIN)?, [0x90, 0x00], "{link:?}");
        for byte in ONE_BYTE_APDUS {
            let started = Instant::now();
            let answer = client.transmit(&[byte])?;
            let took = started.elapsed();
            eprintln!("{link:?}: 1-byte APDU {byte:02X} answered {answer:02X?} in {took:?}");
            if byte == 0x04 {
                assert_eq!(answer, ukey_firmware::ATR, "{link:?}: 04 reads the ATR");
            } else {
                assert_eq!(answer, [0x67, 0x00], "{link:?}: {byte:02X}");
            }
            assert_eq!(
                client.transmit(PIN_STATUS)?,
                [0x90, 0x00],
                "{link:?}: {byte:02X} reset the card"
            );
        }
        client.disconnect()?;

        // The reader is free for another client, and the card works.
        let context = Context::establish(Scope::User)?;
        let card = context.connect(&reader, ShareMode::Shared, Protocols::ANY)?;
        let mut buffer = [0u8; 300];
        let select = card.transmit(SELECT_PIV, &mut buffer)?;
        assert!(
            matches!(status(select), Some([0x90, 0x00] | [0x61, _])),
            "{link:?}: {select:02X?}"
        );
    }
    Ok(())
}
