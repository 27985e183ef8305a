//! What one signature costs on the wire, counted through a recording transport against the
//! real applet behind a private pcscd: the APDUs and transactions of `ukey sign`'s path.
//! One test in this file, since it sets the process's `PCSCLITE_CSOCK_NAME` for the PC/SC
//! client library.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

use ukey_card_edge::Instruction;
use ukey_host::transport::{ApduLog, Recording};
use ukey_host::{Algorithm, KeyPolicy, ManagementKey, Pin, Selector, Slot, Token};
use ukey_sim::{Testbed, TokenOptions};

/// The instructions of each recorded transaction, as card-edge.md names them.
fn instructions(log: &ApduLog) -> Vec<Vec<Instruction>> {
    log.transactions()
        .iter()
        .map(|tx| {
            tx.iter()
                .map(|exchange| Instruction::from_byte(exchange.ins().unwrap()).unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn a_pin_always_signature_is_select_verify_general_authenticate() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    // SAFETY: the only test of this binary, before any other thread reads the environment.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };
    let opened = Token::open(&Selector::Reader(bed.reader(0).unwrap())).unwrap();
    let (recording, log) = Recording::new(opened.into_transport());
    let mut token = Token::with_transport(Box::new(recording));
    // 9C's default PIN policy: the PIN before every signature.
    token
        .generate(
            &ManagementKey::default(),
            Slot::Signature,
            Algorithm::Sm2,
            KeyPolicy::default(),
        )
        .unwrap();
    log.clear();

    let mut signer = token
        .signer(Slot::Signature)
        .unwrap()
        .with_pin(Pin::new("123456").unwrap());
    assert!(signer.needs_pin());
    signer.sign(b"contract text").unwrap();
    signer.sign(b"a second document").unwrap();

    use Instruction::{GeneralAuthenticate, GetMetadata, Select, Verify};
    let seen = instructions(&log);
    eprintln!(
        "{} APDUs in {} transactions: {seen:?}",
        seen.concat().len(),
        seen.len()
    );
    assert_eq!(
        seen,
        [
            vec![Select, GetMetadata],
            vec![Select, Verify, GeneralAuthenticate],
            vec![Select, Verify, GeneralAuthenticate],
        ],
        "the key is read once; each signature is SELECT, VERIFY, GENERAL AUTHENTICATE"
    );
}
