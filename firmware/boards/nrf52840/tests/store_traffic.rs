//! The applet's own store traffic through the flash adapter, on a model of the nRF52840's
//! flash that refuses a third program of a word between erases (`n_WRITE` = 2): records
//! written, replaced, removed (the second write of a header) and garbage-collected over the
//! 64 KiB store the board reserves, then the token reopened from what the flash holds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use des::TdesEde3;
use des::cipher::{BlockCipherDecrypt, KeyInit};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use support::Model;
use ukey_board_nrf52840::flash::StoreFlash;
use ukey_firmware::{Card, Profile};

/// The board's store: 16 pages of 4 KiB (the STORE region of memory.x).
const STORE_PAGES: usize = 16;

type Token = Card<StoreFlash<Model>, ChaCha20Rng>;

fn open(model: &Model, seed: u64) -> Box<Token> {
    let flash = StoreFlash::new(model.clone()).unwrap();
    Box::new(
        Card::open(
            flash,
            ChaCha20Rng::seed_from_u64(seed),
            &Profile::standard(7),
        )
        .unwrap(),
    )
}

/// Sends a short APDU; gives the data and the status word.
fn send(card: &mut Token, ins: u8, p1: u8, p2: u8, data: &[u8]) -> (Vec<u8>, u16) {
    let mut apdu = vec![0, ins, p1, p2];
    if !data.is_empty() {
        apdu.push(u8::try_from(data.len()).unwrap());
        apdu.extend_from_slice(data);
    }
    let response = card.process(&apdu).to_vec();
    let (body, sw) = response.split_at(response.len() - 2);
    (body.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

fn verify(card: &mut Token, pin: &[u8; 6]) -> u16 {
    let mut padded = pin.to_vec();
    padded.resize(8, 0xFF);
    send(card, 0x20, 0, 0x80, &padded).1
}

/// Authenticates with the PIV default 3DES management key (the card's witness, decrypted).
fn authenticate(card: &mut Token) {
    let key = [
        1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
    ];
    let (witness, sw) = send(card, 0x87, 0x03, 0x9B, &[0x7C, 0x02, 0x80, 0x00]);
    assert_eq!(sw, 0x9000);
    let mut block = [0u8; 8];
    block.copy_from_slice(&witness[4..12]);
    TdesEde3::new_from_slice(&key)
        .unwrap()
        .decrypt_block((&mut block).into());
    let mut answer = vec![0x7C, 0x14, 0x80, 0x08];
    answer.extend_from_slice(&block);
    answer.extend_from_slice(&[0x81, 0x08, 0, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(send(card, 0x87, 0x03, 0x9B, &answer).1, 0x9000);
}

/// PUT DATA of the printed-information object; an empty value removes it.
fn put_printed(card: &mut Token, value: &[u8]) -> u16 {
    let mut data = vec![
        0x5C,
        0x03,
        0x5F,
        0xC1,
        0x09,
        0x53,
        u8::try_from(value.len()).unwrap(),
    ];
    data.extend_from_slice(value);
    send(card, 0xDB, 0x3F, 0xFF, &data).1
}

#[test]
fn the_store_stays_within_two_writes_per_word_and_survives_a_reopen() {
    let model = Model::blank(STORE_PAGES);
    let mut card = open(&model, 1);
    authenticate(&mut card);
    for round in 0..400u32 {
        let value = [u8::try_from(round % 251).unwrap(); 120];
        assert_eq!(put_printed(&mut card, &value), 0x9000, "round {round}");
        assert_eq!(put_printed(&mut card, &[]), 0x9000, "round {round}");
        assert_eq!(verify(&mut card, b"000000"), 0x63C2, "round {round}");
        assert_eq!(verify(&mut card, b"123456"), 0x9000, "round {round}");
    }
    assert_eq!(put_printed(&mut card, b"kept"), 0x9000);
    assert_eq!(verify(&mut card, b"000000"), 0x63C2);
    drop(card);
    {
        let cells = model.0.borrow();
        assert_eq!(cells.most_programs, 2, "removals rewrite record headers");
        assert!(
            cells.erases >= 2 * STORE_PAGES as u32,
            "garbage collection went round the store at least twice ({} erases)",
            cells.erases
        );
    }

    let mut card = open(&model, 2);
    assert_eq!(
        send(&mut card, 0x20, 0, 0x80, &[]).1,
        0x63C2,
        "the failed try was kept"
    );
    assert_eq!(verify(&mut card, b"123456"), 0x9000);
    let (object, sw) = send(&mut card, 0xCB, 0x3F, 0xFF, &[0x5C, 0x03, 0x5F, 0xC1, 0x09]);
    assert_eq!(sw, 0x9000);
    assert_eq!(object, [0x53, 0x04, b'k', b'e', b'p', b't']);
}
