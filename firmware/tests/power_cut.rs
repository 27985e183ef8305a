//! Power cut at every flash operation of every state-changing command: after a replug the
//! token opens, and its state is the one before the command or the one after it.
//!
//! VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER store the lowered counter before
//! they compare, so a cut between that write and the result may also leave the state of a
//! *wrong* attempt ("try spent") — never a counter higher than it should be. That third
//! state is computed by running the command with a wrong secret.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use support::cut::*;
use support::*;
use ukey_firmware::Card;
use ukey_firmware::flash::{PowerCutFlash, RamFlash};

/// Checks `op` against cuts at every one of its flash operations, on a thread with room
/// for the debug build's copies of the 64 KiB flash.
fn every_cut(
    name: &'static str,
    prepare: fn(&mut TestCard),
    op: Operation,
    wrong: Option<Operation>,
) {
    on_big_stack(move || every_cut_here(name, prepare, op, wrong));
}

fn every_cut_here(
    name: &'static str,
    prepare: fn(&mut TestCard),
    op: Operation,
    wrong: Option<Operation>,
) {
    let before = prepared(prepare);
    let (after_image, log) = run(&before, None, op);
    let total = u32::try_from(log.len()).expect("a short log");
    let (states, names) = {
        let mut s = vec![observe(&before), observe(&after_image)];
        let mut n = vec!["before", "after"];
        if let Some(wrong) = wrong {
            s.push(observe(&run(&before, None, wrong).0));
            n.push("try spent");
        }
        (s, n)
    };
    assert_ne!(
        states[0], states[1],
        "{name}: the command must change something"
    );
    assert!(total >= 1, "{name}: the command must write");
    eprintln!("{name}: {total} flash operations, each cut in turn");
    // A cut half-way through an operation, and one just before it (nothing of it written).
    for at in 0..total {
        for kept in [None, Some(0)] {
            let (image, _) = run(&before, Some(Cut { at, kept }), op);
            let seen = observe(&image);
            assert!(
                states.contains(&seen),
                "{name}: cut at flash operation {at} of {total} (kept {kept:?}) left a state that is none of {names:?}: {seen:02X?}"
            );
        }
    }
}

#[test]
fn generate_replacing_a_key() {
    every_cut(
        "GENERATE",
        with_keys_and_certificate,
        op!(|c| {
            expect_auth(c);
            send_any(c, &apdu(0, 0x47, 0, 0x9A, &h("AC03800154")));
        }),
        None,
    );
}

#[test]
fn move_key_into_an_empty_slot() {
    every_cut(
        "MOVE KEY",
        with_keys_and_certificate,
        op!(|c| {
            expect_auth(c);
            send_any(c, &h("00 F6 9D 9A"));
        }),
        None,
    );
}

#[test]
fn delete_key() {
    every_cut(
        "DELETE KEY",
        with_keys_and_certificate,
        op!(|c| {
            expect_auth(c);
            send_any(c, &h("00 F6 FF 9C"));
        }),
        None,
    );
}

#[test]
fn put_data_replacing_a_certificate() {
    every_cut(
        "PUT DATA",
        with_keys_and_certificate,
        op!(|c| {
            expect_auth(c);
            let value = [&h("70 82 0500")[..], &[0xCD; 1280], &h("71 01 00 FE 00")].concat();
            let data = [&h("5C 03 5FC105 53 82 0509")[..], &value].concat();
            for (i, part) in data.chunks(255).enumerate() {
                let cla = if (i + 1) * 255 < data.len() { 0x10 } else { 0 };
                send_any(c, &apdu(cla, 0xDB, 0x3F, 0xFF, part));
            }
        }),
        None,
    );
}

#[test]
fn verify_wrong_and_right() {
    every_cut(
        "VERIFY wrong",
        worn,
        op!(|c| send_any(c, &apdu(0, 0x20, 0, 0x80, &padded(b"000000")))),
        None,
    );
    every_cut(
        "VERIFY right",
        |c| {
            worn(c);
            assert_eq!(verify(c, b"000000"), 0x63C2);
        },
        op!(|c| send_any(c, &apdu(0, 0x20, 0, 0x80, &padded(b"123456")))),
        Some(op!(|c| send_any(
            c,
            &apdu(0, 0x20, 0, 0x80, &padded(b"000000"))
        ))),
    );
}

#[test]
fn change_reference_data() {
    every_cut(
        "CHANGE REFERENCE DATA",
        worn,
        op!(|c| send_any(
            c,
            &apdu(
                0,
                0x24,
                0,
                0x80,
                &[padded(b"123456"), padded(b"7654321")].concat()
            )
        )),
        Some(op!(|c| send_any(
            c,
            &apdu(
                0,
                0x24,
                0,
                0x80,
                &[padded(b"000000"), padded(b"7654321")].concat()
            )
        ))),
    );
}

#[test]
fn reset_retry_counter() {
    every_cut(
        "RESET RETRY COUNTER",
        |c| {
            worn(c);
            for _ in 0..3 {
                verify(c, b"000000");
            }
        },
        op!(|c| send_any(
            c,
            &apdu(
                0,
                0x2C,
                0,
                0x80,
                &[padded(b"12345678"), padded(b"246810")].concat()
            )
        )),
        Some(op!(|c| send_any(
            c,
            &apdu(
                0,
                0x2C,
                0,
                0x80,
                &[padded(b"00000000"), padded(b"246810")].concat()
            )
        ))),
    );
}

#[test]
fn set_management_key() {
    every_cut(
        "SET MANAGEMENT KEY",
        worn,
        op!(|c| {
            expect_auth(c);
            send_any(
                c,
                &apdu(
                    0,
                    0xFF,
                    0xFF,
                    0xFF,
                    &[&[0x08, 0x9B, 16][..], &NEW_AES_KEY].concat(),
                ),
            );
        }),
        None,
    );
}

#[test]
fn reset_to_factory_state() {
    every_cut(
        "RESET",
        blocked,
        op!(|c| send_any(c, &h("00 FB 00 00"))),
        None,
    );
}

/// The filler object the garbage-collection case rewrites, and the value of its `round`.
const FILLER: &str = "5FC10B";
const GC_ROUNDS: u8 = 16;

fn filler(round: u8) -> Vec<u8> {
    vec![0xF0 ^ round; 1900 + usize::from(round) * 17]
}

/// Rewrites the filler object [`GC_ROUNDS`] times, without management-key checks of the
/// answers (after a cut every command fails).
fn rewrite_fillers<T: Token + ?Sized>(c: &mut T) {
    authenticate_default(c);
    for round in 0..GC_ROUNDS {
        put_data(c, &h(FILLER), &filler(round));
    }
}

#[test]
fn a_torn_erase_during_garbage_collection_loses_nothing() {
    on_big_stack(torn_erases_here);
}

fn torn_erases_here() {
    let aged = prepared(with_keys_and_certificate);
    let mut c = Box::new(Card::open(OperationLog::new(&aged), rng(), &profile()).expect("open"));
    rewrite_fillers(&mut *c);
    let erases = c.into_flash().expect("a loaded token").erases();
    assert!(
        erases.len() >= 4,
        "only {} erases: no garbage collection",
        erases.len()
    );

    let others = observe(&aged);
    let (_, aged_filler) = get_data(&mut *reopen(&aged, &profile(), 5), &h(FILLER));
    let (mut tears, mut failures) = (0, Vec::new());
    for &erase in &erases {
        for erased in (0..=4096).step_by(256).map(|at: u32| at.clamp(4, 4092)) {
            let flash =
                PowerCutFlash::new(OperationLog::new(&aged), Some(erase)).erase_stops_at(erased);
            let mut c = Box::new(Card::open(flash, rng(), &profile()).expect("open"));
            rewrite_fillers(&mut *c);
            let image: Image = Box::new(
                *c.into_flash()
                    .expect("a loaded token")
                    .into_inner()
                    .inner
                    .as_bytes(),
            );
            tears += 1;
            let place = format!("erase at flash operation {erase}, torn after {erased} bytes");
            let Ok(mut c) = Card::open(RamFlash::from_bytes(&image), rng(), &profile()) else {
                failures.push(format!("{place}: the token does not open"));
                continue;
            };
            let (sw, value) = get_data(&mut c, &h(FILLER));
            let committed =
                value == aged_filler || (0..GC_ROUNDS).any(|round| value.ends_with(&filler(round)));
            if sw != 0x9000 || !committed {
                failures.push(format!("{place}: the filler object is lost ({sw:04X})"));
            }
            if observe(&image) != others {
                failures.push(format!("{place}: keys, PIN or objects changed"));
            }
        }
    }
    eprintln!(
        "{tears} torn erases at {} erases, {} failed",
        erases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
