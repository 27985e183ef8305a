//! The crash campaign (issue 17): SIGKILL of a real `ukey-sim` at random instants under each
//! state-changing command, on the direct, ccid and qemu links, with the whole state read
//! back against a model after every restart: each object and key old or new, PIN and PUK
//! old or new, counters never back up, every key signing, everything else untouched
//! (card-edge.md, "Storage rules").
//!
//! CI runs a short slice (10 trials on direct and ccid, 4 on qemu). The long run, 1,000
//! trials a link:
//!
//! ```sh
//! cargo build --release --manifest-path firmware/boards/mps2-an386/Cargo.toml  # for qemu
//! UKEY_CRASH_TRIALS=1000 cargo test -p ukey-sim --release --test crash_campaign -- --nocapture
//! ```
//!
//! `UKEY_CRASH_SEED=N` replays a seed (the commands, values and delays; where a kill lands
//! still depends on timing), `UKEY_CRASH_CHAIN=N` sets the trials run on one image before
//! the next chain starts from the aged image again (25), and a test name (`direct`, `ccid`,
//! `qemu`) picks one link. Each link prints a summary line; each failure prints the seed,
//! the trial, the command, the kill delay and where its images and logs were kept.
//! `crash_campaign/README.md` tells how a trial goes, where kills land, and the figures.

#[path = "crash_campaign/apdu.rs"]
mod apdu;
#[path = "crash_campaign/campaign.rs"]
mod campaign;
#[path = "crash_campaign/commands.rs"]
mod commands;
#[path = "crash_campaign/crypto.rs"]
mod crypto;
#[path = "crash_campaign/dice.rs"]
mod dice;
#[path = "crash_campaign/image.rs"]
mod image;
#[path = "crash_campaign/model.rs"]
mod model;
#[path = "crash_campaign/observe.rs"]
mod observe;
#[path = "crash_campaign/prepare.rs"]
mod prepare;
#[path = "crash_campaign/session.rs"]
mod session;
#[path = "crash_campaign/slow_flash.rs"]
mod slow_flash;
#[path = "crash_campaign/summary.rs"]
mod summary;
#[path = "crash_campaign/timing.rs"]
mod timing;
#[path = "crash_campaign/token_process.rs"]
mod token_process;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Trials a link when `UKEY_CRASH_TRIALS` is not set, CI's slice: 10 on the direct and ccid
/// links (a few seconds), 4 on qemu (each restart boots QEMU and loads the store over its
/// UART, several seconds).
fn ci_trials(link: &str) -> usize {
    if link == "qemu" { 4 } else { 10 }
}
/// Trials on one image before the next chain starts from the aged image.
const CHAIN: usize = 25;

fn number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.parse() {
        Ok(number) => Some(number),
        Err(_) => panic!("{name}={value} is not a number"),
    }
}

fn campaign_on(link: &'static str) {
    let seed = number("UKEY_CRASH_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_nanos() as u64)
            .unwrap_or_default()
    });
    let config = campaign::Config {
        link,
        trials: number("UKEY_CRASH_TRIALS").map_or(ci_trials(link), |n| n as usize),
        seed,
        chain: number("UKEY_CRASH_CHAIN").map_or(CHAIN, |n| n.max(1) as usize),
    };
    let binary = Path::new(env!("CARGO_BIN_EXE_ukey-sim"));
    let summary = match campaign::run(&config, binary) {
        Ok(summary) => summary,
        Err(error) => panic!("crash campaign on {link}, seed {seed}: could not run: {error}"),
    };
    println!("{summary}");
    assert!(
        summary.failures.is_empty(),
        "{summary}\n{}",
        summary.failures.join("\n")
    );
}

#[test]
fn direct() {
    campaign_on("direct");
}

#[test]
fn ccid() {
    campaign_on("ccid");
}

#[test]
fn qemu() {
    campaign_on("qemu");
}
