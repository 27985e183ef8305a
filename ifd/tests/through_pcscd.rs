//! The driver loaded by a real (private) pcscd, used through the PC/SC client library as
//! any host program uses a token: the readers and slots pcscd lists, PIV with a P-256 key
//! made and used on the token, the token pulled out and plugged back in through the control
//! socket, and the host library `ukey` is built on. Needs root (pcscd runs in a mount
//! namespace of its own).
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure stops the test where it happens"
)]

#[path = "support/apdu.rs"]
mod apdu;
#[path = "support/pcscd.rs"]
mod pcscd;

use std::ffi::CString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use apdu::Exchange;
use pcsc::{Attribute, Context, Protocols, ReaderState, Scope, ShareMode, State};
use pcscd::DriverPcscd;
use ukey_firmware::ATR;
use ukey_host::{Algorithm, KeyPolicy, ManagementKey, Pin, Selector, Slot};
use ukey_ifd::{ControlClient, ReaderConfig, SlotConfig};

const NAME: &str = "ukey IFD";
const WAIT: Duration = Duration::from_secs(10);

/// Waits until pcscd reports `wanted` (`PRESENT` or `EMPTY`) for `reader`.
fn wait_for(context: &Context, reader: &str, wanted: State) {
    let mut states = [ReaderState::new(
        CString::new(reader).unwrap(),
        State::UNAWARE,
    )];
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match context.get_status_change(left, &mut states) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(error) => panic!("SCardGetStatusChange on {reader}: {error}"),
        }
        if states[0].event_state().contains(wanted) {
            return;
        }
        assert!(
            !left.is_zero(),
            "{reader} is {:?}, not {wanted:?}, after {WAIT:?}",
            states[0].event_state()
        );
        states[0].sync_current_state();
    }
}

/// Waits until pcscd lists `count` readers and returns their names.
fn readers(context: &Context, count: usize) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let names: Vec<String> = context
            .list_readers_owned()
            .unwrap_or_default()
            .into_iter()
            .map(|name| name.into_string().unwrap())
            .collect();
        if names.len() >= count || Instant::now() > deadline {
            return names;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn connect(context: &Context, reader: &str) -> Result<pcsc::Card, pcsc::Error> {
    let name = CString::new(reader).unwrap();
    context.connect(&name, ShareMode::Shared, Protocols::T1)
}

#[test]
fn a_token_in_the_driver_signs_through_pcscd_and_keeps_its_key_when_replugged() {
    let dir = tempfile::Builder::new()
        .prefix("ukey-ifd-")
        .tempdir()
        .unwrap();
    let config = ReaderConfig {
        control: Some(PathBuf::from("control.sock")),
        slots: Some(2),
        slot: vec![SlotConfig {
            image: Some(PathBuf::from("token.img")),
            ..SlotConfig::default()
        }],
        ..ReaderConfig::default()
    };
    let pcscd = DriverPcscd::with_reader(dir.path(), NAME, &config);
    // SAFETY: set before this process's first PC/SC call, in the only test of this binary;
    // nothing else here reads the environment meanwhile.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", pcscd.socket()) };
    let context = Context::establish(Scope::User).unwrap();
    let (first, second) = (format!("{NAME} 00 00"), format!("{NAME} 00 01"));
    assert_eq!(
        readers(&context, 2),
        [first.clone(), second.clone()],
        "pcscd's log:\n{}",
        pcscd.log()
    );
    wait_for(&context, &first, State::PRESENT);
    wait_for(&context, &second, State::EMPTY);

    let mut card = connect(&context, &first).unwrap();
    assert_eq!(card.get_attribute_owned(Attribute::AtrString).unwrap(), ATR);
    card.ok(apdu::SELECT);
    apdu::authenticate(&mut card);
    let key = apdu::generate_p256(&mut card);
    card.ok(&apdu::verify(apdu::DEFAULT_PIN));
    let signature = card.ok(&apdu::sign_p256());
    apdu::check_signature(&key, &signature);

    // Pulled out: pcscd sees the slot empty, and the connection is gone.
    let control = ControlClient::new(&dir.path().join("control.sock"));
    control.remove(0).unwrap();
    wait_for(&context, &first, State::EMPTY);
    let mut buffer = [0u8; 300];
    assert_eq!(
        card.transmit(apdu::GET_VERSION, &mut buffer).err(),
        Some(pcsc::Error::RemovedCard)
    );
    assert_eq!(
        connect(&context, &first).err(),
        Some(pcsc::Error::NoSmartcard)
    );

    // Plugged back in with the same image: the key is still there, the PIN is needed again.
    control.insert(0, None).unwrap();
    wait_for(&context, &first, State::PRESENT);
    let mut card = connect(&context, &first).unwrap();
    card.ok(apdu::SELECT);
    assert_eq!(card.sw(apdu::PIN_STATUS)[0], 0x63);
    card.ok(&apdu::verify(apdu::DEFAULT_PIN));
    let signature = card.ok(&apdu::sign_p256());
    apdu::check_signature(&key, &signature);

    // A second token in the other slot, used beside the first.
    control
        .insert(1, Some(&dir.path().join("second.img")))
        .unwrap();
    wait_for(&context, &second, State::PRESENT);
    let mut other = connect(&context, &second).unwrap();
    other.ok(apdu::SELECT);
    assert_eq!(other.sw(apdu::PIN_STATUS)[0], 0x63, "its own PIN state");
    assert_eq!(card.sw(apdu::PIN_STATUS), [0x90, 0x00]);

    // The host library `ukey` is built on, over the driver link: both tokens found, and an
    // SM2 key made on the second and signing, the signature checked by the library.
    let listed = ukey_host::readers().unwrap();
    let serials = listed
        .iter()
        .filter_map(|reader| reader.token.as_ref()?.serial)
        .count();
    assert_eq!(serials, 2, "{listed:?}");
    let mut token = ukey_host::Token::open(&Selector::Reader(second.clone())).unwrap();
    token
        .generate(
            &ManagementKey::default(),
            Slot::Signature,
            Algorithm::Sm2,
            KeyPolicy::default(),
        )
        .unwrap();
    let pin = Pin::new("123456").unwrap();
    token
        .signer(Slot::Signature)
        .unwrap()
        .with_pin(pin)
        .sign(b"through the driver")
        .unwrap();
}
