//! Through pcscd on loopback, per link: the round trip of an APDU that does no work, and
//! signatures per second, on the wall clock (the work is spread over this process, pcscd and
//! the token's thread), one client on one connection. Beside each rate, the CPU time the
//! whole stack spent per APDU (this process with its token threads, plus pcscd): what the
//! stack costs whatever the machine's load, where the rate also pays for waiting.

use std::time::Duration;

use crate::support::apdu::{self, Curve, Transmit};
use crate::support::check::Verifier;
use crate::support::clock::{self, Clock, Rate};

/// One figure through pcscd.
pub struct Measured {
    /// APDUs and their wall time.
    pub rate: Rate,
    /// CPU time of this process and pcscd together, per APDU.
    pub stack_cpu_per_op: Duration,
}
use crate::support::stack::Stack;

/// The rates of one link.
pub struct LinkRates {
    /// GET VERSION round trips.
    pub round_trip: Measured,
    /// Signing APDUs, in the order of `Curve::ALL`.
    pub signatures: [Measured; 2],
}

/// Measures each of the stack's tokens for `budget` per figure; the first signature of
/// each curve is checked before its rate is taken.
pub fn measure(stack: &mut Stack, budget: Duration) -> Result<Vec<LinkRates>, String> {
    let pcscd = stack.pcscd_pid()?;
    let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
    let mut all = Vec::new();
    for token in &mut stack.tokens {
        let card = &mut token.card;
        let round_trip = timed(pcscd, budget, || {
            exchange(card, apdu::GET_VERSION, &mut buffer)
        })?;
        let mut signatures = Vec::new();
        for curve in Curve::ALL {
            let command = apdu::sign(curve);
            let verifier = Verifier::new(curve, &token.publics[curve.index()])?;
            let first = Transmit::transmit(card, &command)?;
            apdu::signature_of(&first).and_then(|der| verifier.verify_bench_digest(der))?;
            signatures.push(timed(pcscd, budget, || {
                exchange(card, &command, &mut buffer)
            })?);
        }
        let signatures: [Measured; 2] = signatures
            .try_into()
            .map_err(|_| "one rate per curve".to_string())?;
        all.push(LinkRates {
            round_trip,
            signatures,
        });
    }
    Ok(all)
}

/// Sends `command` and checks it was answered `90 00`, without allocating.
fn exchange(card: &mut pcsc::Card, command: &[u8], buffer: &mut [u8]) -> Result<(), String> {
    let response =
        pcsc::Card::transmit(card, command, buffer).map_err(|e| format!("SCardTransmit: {e}"))?;
    match apdu::is_ok(response) {
        true => Ok(()),
        false => Err(format!("the token answered {}", apdu::hex(response))),
    }
}

/// Runs `op` for `budget` of wall time, and takes the CPU time this process and `pcscd`
/// spent meanwhile.
fn timed(
    pcscd: u32,
    budget: Duration,
    op: impl FnMut() -> Result<(), String>,
) -> Result<Measured, String> {
    let (ours, theirs) = (clock::process_cpu(), clock::cpu_of(pcscd)?);
    let rate = clock::measure(Clock::Wall, budget, op)?;
    let cpu = (clock::process_cpu() - ours) + (clock::cpu_of(pcscd)? - theirs);
    Ok(Measured {
        rate,
        stack_cpu_per_op: cpu.div_f64(rate.ops as f64),
    })
}
