//! APDU round trips through a real private pcscd with the `pcsc` crate, on both links.
//!
//! libpcsclite reads `PCSCLITE_CSOCK_NAME` once per process, so this binary holds a single
//! test with a single testbed.

use std::ffi::CString;
use std::time::{Duration, Instant};

use pcsc::{Context, Protocols, Scope, ShareMode};
use ukey_sim::{LinkKind, Testbed, TokenOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SELECT_PIV: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
const GET_VERSION: &[u8] = &[0x00, 0xFD, 0x00, 0x00];
const ROUNDS: u32 = 300;

#[test]
fn a_no_crypto_apdu_costs_a_fraction_of_a_millisecond_through_pcscd() -> TestResult {
    let mut bed = Testbed::start(1)?;
    for (slot, link) in [LinkKind::Direct, LinkKind::Ccid].into_iter().enumerate() {
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
    let context = Context::establish(Scope::User)?;
    for (slot, link) in [LinkKind::Direct, LinkKind::Ccid].into_iter().enumerate() {
        let reader = CString::new(bed.reader(slot)?)?;
        let card = context.connect(&reader, ShareMode::Shared, Protocols::ANY)?;
        let mut buffer = [0u8; 300];
        let answer = card.transmit(SELECT_PIV, &mut buffer)?;
        assert_eq!(answer[answer.len() - 2..], [0x90, 0x00], "{link:?}");
        let started = Instant::now();
        for _ in 0..ROUNDS {
            let answer = card.transmit(GET_VERSION, &mut buffer)?;
            assert_eq!(answer.len(), 5, "{link:?}: {answer:02X?}");
        }
        let each = started.elapsed() / ROUNDS;
        eprintln!("{link:?}: GET VERSION through pcscd: {each:?} per APDU");
        // Delayed ACKs would cost about 48 ms each; a prompt ACK leaves a fraction of a
        // millisecond (a loose bound here, for slow CI machines and debug builds).
        assert!(
            each < Duration::from_millis(5),
            "{link:?}: {each:?} per APDU"
        );
    }
    Ok(())
}
