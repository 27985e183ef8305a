//! A long-lived [`Token`] when its token is pulled out and put back, and when pcscd goes
//! away: a reconnect or a clear error, never a hang. One test in this file, since it sets
//! the process's `PCSCLITE_CSOCK_NAME` for the PC/SC client library.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

use std::time::{Duration, Instant};

use ukey_host::{Error, Selector, Token};
use ukey_sim::{Testbed, TokenOptions};

#[test]
fn removal_reinsertion_and_pcscd_stop() {
    let mut bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    // SAFETY: the only test of this binary, before any other thread reads the environment.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };

    let mut token = Token::open(&Selector::Any).unwrap();
    let serial = token.serial().unwrap();

    bed.remove(0).unwrap();
    let started = Instant::now();
    match token.serial() {
        Err(Error::CardRemoved | Error::CardReset | Error::NoCard { .. }) => {}
        other => panic!("after removal: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    // Let pcscd see the reader empty before the token comes back (it polls).
    std::thread::sleep(Duration::from_secs(2));
    assert!(matches!(token.serial(), Err(Error::CardRemoved)));
    bed.insert(0, &TokenOptions::default()).unwrap();
    assert_eq!(token.serial().unwrap(), serial, "the same Token reconnects");

    drop(bed);
    let started = Instant::now();
    match token.serial() {
        Err(Error::PcscdNotRunning | Error::CardRemoved | Error::CardReset) => {}
        other => panic!("after pcscd stopped: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(
        Token::open(&Selector::Any),
        Err(Error::PcscdNotRunning)
    ));
}
