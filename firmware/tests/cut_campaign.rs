//! The cut-point campaign (issue 17): every state-changing command, on an aged store, with the
//! power cut at every flash operation it makes; a write torn at every word inside it, an
//! erase torn at its start, every 512 bytes and its end. After each cut the token opens and
//! everything a host can observe (metadata of PIN, PUK, 9B and the slots, the objects, which
//! management key authenticates, which PIN verifies) is the state before the command, the
//! state after it, or (for a command that spends a PIN or PUK try) the state of a wrong try.
//!
//! Each command runs twice: on a store aged by its own number of rewrites (more than the flash
//! holds) before the keys and certificate are made, and on a store where the keys and
//! certificate came first and the aging after, filled to the end of its current page, so
//! that the command has to collect garbage on the way: move the live records off the oldest
//! page, then erase it (of the agings tried, the one with the most flash operations). PUT
//! DATA of an empty object (delete) only marks records erased and never needs room, so it
//! has no second run.
//! The summary line counts the cuts made at or after such an erase.
//!
//! By default (CI) it runs every [`SLICE`]-th torn write and every [`ERASE_SLICE`]-th torn
//! erase. The whole campaign:
//!
//! ```text
//! UKEY_CUT_CAMPAIGN=full nice -n 10 cargo test -p ukey-firmware --release --test cut_campaign -- --nocapture
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};

use support::cut::*;
use support::*;
use ukey_firmware::Card;

/// The environment variable that runs the whole campaign: `UKEY_CUT_CAMPAIGN=full`.
const CAMPAIGN_ENV: &str = "UKEY_CUT_CAMPAIGN";

/// CI's slice: one torn write in this many, the same ones every run.
const SLICE: usize = 97;

/// CI's slice: one torn erase in this many (erases are few and worth more).
const ERASE_SLICE: usize = 7;

/// Stops of a torn erase: its start, every 512 bytes, its end.
const ERASE_STEP: usize = 512;

/// Rewrites of the aging that every command's store gets at least.
const AGING: u8 = 40;

/// A state-changing command, the state it runs in, and its wrong-secret twin.
struct Command {
    name: &'static str,
    /// What the command needs beyond the aged store with keys and a certificate.
    prepare: fn(&mut TestCard),
    op: Operation,
    /// The same command with a wrong PIN or PUK, for one that spends a try first.
    wrong: Option<Operation>,
}

fn nothing_more(_: &mut TestCard) {}

fn one_wrong_pin(c: &mut TestCard) {
    assert_eq!(verify(c, b"000000"), 0x63C2);
}

fn verify_op(c: &mut CutCard, pin: &[u8]) {
    send_any(c, &apdu(0, 0x20, 0, 0x80, &padded(pin)));
}

fn change(c: &mut CutCard, reference: u8, old: &[u8], new: &[u8]) {
    send_any(
        c,
        &apdu(0, 0x24, 0, reference, &[padded(old), padded(new)].concat()),
    );
}

fn unblock(c: &mut CutCard, puk: &[u8]) {
    send_any(
        c,
        &apdu(0, 0x2C, 0, 0x80, &[padded(puk), padded(b"246810")].concat()),
    );
}

fn generate_any(c: &mut CutCard, slot: u8, alg: u8) {
    expect_auth(c);
    send_any(c, &apdu(0, 0x47, 0, slot, &[0xAC, 3, 0x80, 1, alg]));
}

fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "VERIFY wrong",
            prepare: nothing_more,
            op: op!(|c| verify_op(c, b"000000")),
            wrong: None,
        },
        Command {
            name: "VERIFY right",
            prepare: one_wrong_pin,
            op: op!(|c| verify_op(c, b"123456")),
            wrong: Some(op!(|c| verify_op(c, b"000000"))),
        },
        Command {
            name: "CHANGE REFERENCE DATA PIN",
            prepare: nothing_more,
            op: op!(|c| change(c, 0x80, b"123456", b"7654321")),
            wrong: Some(op!(|c| change(c, 0x80, b"000000", b"7654321"))),
        },
        Command {
            name: "CHANGE REFERENCE DATA PUK",
            prepare: nothing_more,
            op: op!(|c| change(c, 0x81, b"12345678", b"87654321")),
            wrong: Some(op!(|c| change(c, 0x81, b"00000000", b"87654321"))),
        },
        Command {
            name: "RESET RETRY COUNTER",
            prepare: block_pin,
            op: op!(|c| unblock(c, b"12345678")),
            wrong: Some(op!(|c| unblock(c, b"00000000"))),
        },
        Command {
            name: "GENERATE P-256",
            prepare: nothing_more,
            op: op!(|c| generate_any(c, 0x9A, 0x11)),
            wrong: None,
        },
        Command {
            name: "GENERATE SM2",
            prepare: nothing_more,
            op: op!(|c| generate_any(c, 0x9C, 0x54)),
            wrong: None,
        },
        Command {
            // Replaces the SM2 key generated in 9C.
            name: "IMPORT ASYMMETRIC KEY SM2",
            prepare: nothing_more,
            op: op!(|c| {
                expect_auth(c);
                let data = [&h("06 20")[..], &[0x5C; 32], &h("AA 01 01")].concat();
                send_any(c, &apdu(0, 0xFE, 0x54, 0x9C, &data));
            }),
            wrong: None,
        },
        Command {
            name: "PUT DATA certificate",
            prepare: nothing_more,
            op: op!(|c| {
                expect_auth(c);
                let value = [&h("70 82 0500")[..], &[0xCD; 1280], &h("71 01 00 FE 00")].concat();
                put_any(c, &h("5FC105"), &value);
            }),
            wrong: None,
        },
        Command {
            name: "PUT DATA delete",
            prepare: nothing_more,
            op: op!(|c| {
                expect_auth(c);
                put_any(c, &h("5FC105"), &[]);
            }),
            wrong: None,
        },
        Command {
            name: "SET MANAGEMENT KEY",
            prepare: nothing_more,
            op: op!(|c| {
                expect_auth(c);
                let data = [&[0x08, 0x9B, 16][..], &NEW_AES_KEY].concat();
                send_any(c, &apdu(0, 0xFF, 0xFF, 0xFF, &data));
            }),
            wrong: None,
        },
        Command {
            name: "SET PIN RETRIES",
            // PIN tries all left: the VERIFY before it changes nothing it does not spend.
            prepare: nothing_more,
            op: op!(|c| {
                expect_auth(c);
                verify_op(c, b"123456");
                send_any(c, &h("00 FA 05 04"));
            }),
            // The VERIFY inside spends its try before it compares.
            wrong: Some(op!(|c| verify_op(c, b"000000"))),
        },
        Command {
            name: "MOVE KEY",
            prepare: nothing_more,
            op: op!(|c| {
                expect_auth(c);
                send_any(c, &h("00 F6 9D 9A"));
            }),
            wrong: None,
        },
        Command {
            name: "DELETE KEY",
            prepare: nothing_more,
            op: op!(|c| {
                expect_auth(c);
                send_any(c, &h("00 F6 FF 9C"));
            }),
            wrong: None,
        },
        Command {
            name: "RESET",
            prepare: block_pin_and_puk,
            op: op!(|c| send_any(c, &h("00 FB 00 00"))),
            wrong: None,
        },
    ]
}

/// The store `command` runs on: aged by `rounds` rewrites, keys and a certificate, then what
/// the command needs.
fn aged_store(command: &Command, rounds: u8) -> Image {
    let mut c = card_with(&profile(), 2);
    aged(&mut c, rounds);
    with_keys_and_certificate_on(&mut c);
    (command.prepare)(&mut c);
    image_of(c)
}

/// Keys and a certificate first, then `rounds` rewrites, then what `command` needs: the
/// keys' page comes round to be collected after some 30 rounds.
fn store_aged_after_keys(command: &Command, rounds: u8) -> Image {
    let mut c = card_with(&profile(), 2);
    with_keys_and_certificate_on(&mut c);
    aged(&mut c, rounds);
    (command.prepare)(&mut c);
    image_of(c)
}

/// Rounds of aging after the keys among which [`most_collected`] chooses.
const ROUNDS_AFTER_KEYS: std::ops::RangeInclusive<u8> = 26..=40;

/// Of the stores aged after the keys and filled to a page's end, the one on which `command`
/// makes the most flash operations: its garbage collection moves the most live records.
fn most_collected(command: &Command) -> Option<Image> {
    ROUNDS_AFTER_KEYS
        .filter_map(|rounds| {
            filled_to_page_end(&store_aged_after_keys(command, rounds), command.op)
        })
        .max_by_key(|filled| run(filled, None, command.op).1.len())
}

/// Puts a filler of `len` bytes on a token over `image`; gives the image and where the
/// filler's record ended.
fn put_filler(image: &Image, len: usize) -> Option<(Image, u32)> {
    let mut c = Box::new(Card::open(OperationLog::new(image), rng(), &profile()).expect("open"));
    authenticate_default(&mut c);
    if put_data(&mut c, &h(AGING_FILLER), &vec![0xF1; len]) != 0x9000 {
        return None;
    }
    c.reset();
    let flash = c.into_flash().expect("a loaded token");
    Some((Box::new(*flash.inner.as_bytes()), flash.written_to))
}

/// `image` with its current page filled so that `op` must collect garbage: a filler object
/// sized to leave less room in the page than the command writes, found by trying.
fn filled_to_page_end(image: &Image, op: Operation) -> Option<Image> {
    let page = 4096;
    let (mut probe, mut end) = put_filler(image, 16)?;
    while page - end % page > 3000 {
        (probe, end) = put_filler(&probe, 2000)?;
    }
    let room = (page - end % page) as usize;
    (0..=256).step_by(4).find_map(|slack| {
        let (filled, _) = put_filler(&probe, room.checked_sub(slack + 24)?)?;
        let (_, log) = run(&filled, None, op);
        log.iter()
            .any(|op| matches!(op, FlashOperation::Erase(_)))
            .then_some(filled)
    })
}

/// The campaign's tally.
#[derive(Default)]
struct Tally {
    runs: usize,
    runs_erasing: usize,
    cut_points: usize,
    torn_writes: usize,
    torn_erases: usize,
    gc_runs: usize,
    failures: Vec<String>,
    /// Torn writes and torn erases met so far, run or not: what the slice counts by.
    writes_met: usize,
    erases_met: usize,
}

impl Tally {
    /// Meets one more cut point; whether the campaign (`full`, or CI's slice) runs it.
    fn chosen(&mut self, erase: bool, full: bool) -> bool {
        let (met, slice) = if erase {
            (&mut self.erases_met, ERASE_SLICE)
        } else {
            (&mut self.writes_met, SLICE)
        };
        *met += 1;
        full || met.is_multiple_of(slice)
    }
}

/// Where each cut of a command's operations goes: the operation, how far it got, whether it
/// is an erase.
fn cut_points(log: &[FlashOperation]) -> Vec<(Cut, bool)> {
    let mut points = Vec::new();
    for (at, op) in (0..).zip(log) {
        let (stops, erase): (Vec<u32>, bool) = match *op {
            FlashOperation::Write(len) => ((0..len).step_by(4).collect(), false),
            FlashOperation::Erase(len) => ((0..=len).step_by(ERASE_STEP).collect(), true),
        };
        points.extend(stops.into_iter().map(|kept| {
            (
                Cut {
                    at,
                    kept: Some(kept),
                },
                erase,
            )
        }));
    }
    points
}

/// Cuts `command` on `before` at the chosen points; counts into `tally`, which numbers the
/// cut points across the campaign, so that CI's slice takes the same ones every run.
fn campaign(name: &str, before: &Image, command: &Command, tally: &mut Tally) {
    let full = full();
    let (after, log) = run(before, None, command.op);
    let mut states = vec![
        observe_everything(before).expect("opens"),
        observe_everything(&after).expect("opens"),
    ];
    assert_ne!(
        states[0], states[1],
        "{name}: the command must change something"
    );
    if let Some(wrong) = command.wrong {
        states.push(observe_everything(&run(before, None, wrong).0).expect("opens"));
    }
    let erases = log
        .iter()
        .filter(|op| matches!(op, FlashOperation::Erase(_)))
        .count();
    let first_erase = log
        .iter()
        .position(|op| matches!(op, FlashOperation::Erase(_)));
    let mut points = 0;
    tally.runs += 1;
    tally.runs_erasing += usize::from(erases > 0);
    for (cut, erase) in cut_points(&log) {
        if !tally.chosen(erase, full) {
            continue;
        }
        points += 1;
        tally.cut_points += 1;
        if erase {
            tally.torn_erases += 1;
        } else {
            tally.torn_writes += 1;
        }
        if first_erase.is_some_and(|first| first <= cut.at as usize) {
            tally.gc_runs += 1;
        }
        let place = format!(
            "{name}: cut at flash operation {} of {} ({:?}), after {} bytes",
            cut.at,
            log.len(),
            log[cut.at as usize],
            cut.kept.unwrap_or_default()
        );
        let seen = catch_unwind(AssertUnwindSafe(|| {
            observe_everything(&run(before, Some(cut), command.op).0)
        }));
        match seen {
            Err(_) => tally.failures.push(format!("{place}: a panic")),
            Ok(Err(error)) => tally
                .failures
                .push(format!("{place}: does not open ({error:?})")),
            Ok(Ok(seen)) if !states.contains(&seen) => tally.failures.push(format!(
                "{place}: a state none of before, after, try spent: {}",
                differences(&seen, &states)
            )),
            Ok(Ok(_)) => {}
        }
    }
    eprintln!(
        "{name}: {} flash operations, {erases} erases, {points} cut points",
        log.len()
    );
}

/// Where `seen` differs from each of `states`: the numbers of the observations (as
/// [`observe_everything`] lists them) and, for the first state, what was seen there.
fn differences(seen: &Observation, states: &[Observation]) -> String {
    let mut text = String::new();
    for (name, state) in ["before", "after", "try spent"].iter().zip(states) {
        let differ: Vec<usize> = (0..seen.len()).filter(|&i| seen[i] != state[i]).collect();
        text += &format!("differs from {name} at {differ:?}; ");
    }
    let first: Vec<_> = (0..seen.len())
        .filter(|&i| seen[i] != states[0][i])
        .map(|i| {
            let (data, sw) = &seen[i];
            format!("{i}: {:02X?} {sw:04X}", &data[..data.len().min(16)])
        })
        .collect();
    text + &format!("seen {first:?}")
}

/// Whether the whole campaign runs (`UKEY_CUT_CAMPAIGN=full`) rather than CI's slice.
fn full() -> bool {
    match std::env::var(CAMPAIGN_ENV).as_deref() {
        Ok("full") => true,
        Ok("" | "slice") | Err(_) => false,
        Ok(other) => panic!("{CAMPAIGN_ENV}={other}: expected `full` or `slice`"),
    }
}

#[test]
fn every_command_survives_a_cut_at_every_point_of_an_aged_store() {
    on_big_stack(every_command_here);
}

fn every_command_here() {
    let mut tally = Tally::default();
    let mut without_gc = Vec::new();
    let commands = commands();
    for (command, rounds) in commands.iter().zip(AGING..) {
        let before = aged_store(command, rounds);
        campaign(command.name, &before, command, &mut tally);
        match most_collected(command) {
            Some(filled) => {
                let name = format!("{} (page full)", command.name);
                campaign(&name, &filled, command, &mut tally);
            }
            None => without_gc.push(command.name),
        }
    }
    eprintln!(
        "cut campaign ({}): {} commands in {} runs ({} with a GC erase), {} cut points, {} torn writes, {} torn erases, {} cuts after a GC erase, {} failures",
        if full() {
            "full".to_string()
        } else {
            format!("slice: writes 1/{SLICE}, erases 1/{ERASE_SLICE}")
        },
        commands.len(),
        tally.runs,
        tally.runs_erasing,
        tally.cut_points,
        tally.torn_writes,
        tally.torn_erases,
        tally.gc_runs,
        tally.failures.len()
    );
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    // A delete only marks records erased: it never needs room, so never collects garbage.
    assert_eq!(
        without_gc,
        ["PUT DATA delete", "DELETE KEY"],
        "no page filling made these collect garbage"
    );
}
