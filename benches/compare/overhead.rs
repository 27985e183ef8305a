//! Applet overhead: a GENERAL AUTHENTICATE signing APDU handled in process (parse, PIN
//! policy, key lookup, sign, answer template) over the raw `SigningKey::sign` it wraps,
//! both on this thread's CPU clock, measured in alternating rounds so that a change in the
//! machine's load falls on both alike. Each side keeps its fastest round: on a shared
//! machine, other work only ever adds time (cache and SMT contention reach even a thread's
//! CPU clock), so the fastest round is the closest to the code's own cost.

use std::time::Duration;

use crate::crypto::RawSigner;
use crate::support::apdu::{self, Curve};
use crate::support::check::Verifier;
use crate::support::clock::{self, Clock};
use crate::support::tokens;

/// The fastest round of each side, and their ratio.
pub struct Overhead {
    /// CPU time of one raw signature.
    pub raw: Duration,
    /// CPU time of one signing APDU.
    pub apdu: Duration,
    /// APDU over raw.
    pub ratio: f64,
}

/// Measures `rounds` pairs of rounds of `round` CPU time each.
pub fn measure(curve: Curve, round: Duration, rounds: usize) -> Result<Overhead, String> {
    let (mut card, publics) = tokens::card()?;
    let verifier = Verifier::new(curve, &publics[curve.index()])?;
    let command = apdu::sign(curve);
    apdu::signature_of(card.process(&command)).and_then(|der| verifier.verify_bench_digest(der))?;
    let mut signer = RawSigner::new(curve, 7)?;
    let (mut raw_best, mut apdu_best) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        let raw = clock::measure(Clock::ThreadCpu, round, || signer.sign().map(drop))?;
        let apdu = clock::measure(Clock::ThreadCpu, round, || {
            let response = card.process(&command);
            match apdu::is_ok(response) {
                true => Ok(()),
                false => Err(format!("the signing APDU answered {}", apdu::hex(response))),
            }
        })?;
        raw_best = raw_best.min(raw.cpu_per_op());
        apdu_best = apdu_best.min(apdu.cpu_per_op());
    }
    Ok(Overhead {
        raw: raw_best,
        apdu: apdu_best,
        ratio: apdu_best.as_secs_f64() / raw_best.as_secs_f64(),
    })
}
