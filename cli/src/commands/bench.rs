//! `ukey bench`: how fast a token answers through the real PC/SC stack, ours or any other
//! PIV token: a transaction of SELECT and GET VERSION (the round trip), a VERIFY, and
//! signatures per slot and algorithm. Each figure runs for `--seconds` after one unmeasured
//! warm-up; a short table with a bar per figure, or JSON. A benchmark: nothing is judged.
//!
//! A wrong PIN is never repeated: the first VERIFY that fails ends every figure that needs
//! the PIN, so a benchmark cannot block a token.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use ukey_host::{Algorithm, DEFAULT_SIGNER_ID, Error as TokenError, Pin, Slot, Token};

use crate::error::Error;
use crate::{CmdResult, Ctx, Failure, secret};

/// Measure a token: round trip, VERIFY, signatures per slot.
#[derive(Args, Debug)]
pub(crate) struct BenchCmd {
    /// How long each figure runs, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    seconds: f64,
    /// The PIN, for VERIFY and the keys that ask for it (else `UKEY_PIN`, else asked on a
    /// terminal; without one those figures are skipped).
    #[arg(long)]
    pin: Option<String>,
    /// The SM2 signer ID.
    #[arg(long, default_value = DEFAULT_SIGNER_ID)]
    signer_id: String,
}

/// What `ukey bench` found.
#[derive(Serialize)]
struct Report {
    reader: String,
    serial: Option<u32>,
    seconds_per_figure: f64,
    figures: Vec<Figure>,
    skipped: Vec<Skipped>,
}

/// One figure: how many operations ran and how long they took.
#[derive(Serialize)]
struct Figure {
    name: String,
    slot: Option<Slot>,
    algorithm: Option<Algorithm>,
    count: usize,
    per_second: f64,
    mean_ms: f64,
    p50_ms: f64,
    p95_ms: f64,
}

/// A figure not measured, and why.
#[derive(Serialize)]
struct Skipped {
    name: String,
    why: String,
}

impl BenchCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let budget = Duration::try_from_secs_f64(self.seconds)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--seconds {} is not a positive number of seconds",
                    self.seconds
                ))
            })?;
        let mut token = ctx.open()?;
        let mut report = Report {
            reader: token.reader().to_owned(),
            serial: token.serial().ok(),
            seconds_per_figure: budget.as_secs_f64(),
            figures: Vec::new(),
            skipped: Vec::new(),
        };
        ctx.progress("Measuring the round trip…");
        report
            .figures
            .push(measure("round trip (SELECT, GET VERSION)", budget, || {
                token.version().map(drop)
            })?);
        let mut pin = self.pin()?;
        match &pin {
            Some(given) => {
                ctx.progress("Measuring VERIFY…");
                match measure("VERIFY", budget, || token.verify_pin(given)) {
                    Ok(figure) => report.figures.push(figure),
                    Err(error) => {
                        report.skip("VERIFY", format!("the PIN was refused: {error}"));
                        pin = None;
                    }
                }
            }
            None => report.skip("VERIFY", no_pin()),
        }
        for slot in Slot::ALL {
            self.bench_slot(ctx, &mut token, slot, &mut pin, budget, &mut report)?;
        }
        ctx.print(&report, table);
        Ok(())
    }

    /// The PIN from `--pin`, `UKEY_PIN` or a terminal; `None` when there is none to ask.
    fn pin(&self) -> Result<Option<Pin>, Failure> {
        let given = self.pin.clone().or_else(|| std::env::var("UKEY_PIN").ok());
        if given.is_none() && !std::io::stdin().is_terminal() {
            return Ok(None);
        }
        secret(given.as_deref(), "PIN: ").map(Some)
    }

    /// Signatures per second with the key in `slot`, if it holds one the host can use.
    fn bench_slot(
        &self,
        ctx: &Ctx,
        token: &mut Token,
        slot: Slot,
        pin: &mut Option<Pin>,
        budget: Duration,
        report: &mut Report,
    ) -> CmdResult {
        let name = format!("sign {slot}");
        let Some(metadata) = token.key_metadata(slot)? else {
            return Ok(());
        };
        let mut signer = match token.signer(slot) {
            Ok(signer) => signer.with_signer_id(&self.signer_id),
            Err(error) => {
                report.skip(&name, error.to_string());
                return Ok(());
            }
        };
        if signer.needs_pin() {
            match pin {
                Some(given) => signer = signer.with_pin(given.clone()),
                None => {
                    report.skip(&name, no_pin());
                    return Ok(());
                }
            }
        }
        ctx.progress(&format!("Measuring signatures with {slot}…"));
        let digest = [0x5A; 32];
        match measure(&name, budget, || signer.sign_digest(&digest).map(drop)) {
            Ok(mut figure) => {
                figure.slot = Some(slot);
                figure.algorithm = Some(metadata.algorithm);
                report.figures.push(figure);
            }
            Err(error @ TokenError::WrongPin { .. }) => {
                report.skip(&name, format!("the PIN was refused: {error}"));
                *pin = None;
            }
            Err(error) => report.skip(&name, error.to_string()),
        }
        Ok(())
    }
}

impl Report {
    fn skip(&mut self, name: &str, why: String) {
        self.skipped.push(Skipped {
            name: name.to_owned(),
            why,
        });
    }
}

fn no_pin() -> String {
    "no PIN given (--pin or UKEY_PIN)".to_owned()
}

/// Runs `operation` once unmeasured (the first run pays for reconnecting and caches), then
/// again and again for `budget`, timing each run; the first error ends the figure.
fn measure(
    name: &str,
    budget: Duration,
    mut operation: impl FnMut() -> Result<(), TokenError>,
) -> Result<Figure, TokenError> {
    operation()?;
    let mut times = Vec::new();
    let start = Instant::now();
    while times.is_empty() || start.elapsed() < budget {
        let began = Instant::now();
        operation()?;
        times.push(began.elapsed());
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let count = times.len();
    Ok(Figure {
        name: name.to_owned(),
        slot: None,
        algorithm: None,
        count,
        per_second: count as f64 / total.as_secs_f64().max(f64::MIN_POSITIVE),
        mean_ms: ms(total) / count as f64,
        p50_ms: ms(times[count / 2]),
        p95_ms: ms(times[(count * 95 / 100).min(count - 1)]),
    })
}

/// Width of the longest bar, in characters.
const BAR_WIDTH: f64 = 30.0;

/// The report as a table, a bar per figure scaled to the fastest.
fn table(report: &Report) -> String {
    let serial = report
        .serial
        .map_or_else(|| "no serial".to_owned(), |s| format!("serial {s}"));
    let mut out = format!(
        "{} ({serial}), {} s a figure\n\n{:<34} {:>9} {:>9} {:>9} {:>9}\n",
        report.reader, report.seconds_per_figure, "figure", "per s", "mean ms", "p50 ms", "p95 ms"
    );
    let fastest = report
        .figures
        .iter()
        .map(|f| f.per_second)
        .fold(f64::MIN_POSITIVE, f64::max);
    for figure in &report.figures {
        let label = match &figure.algorithm {
            Some(algorithm) => format!("{} ({algorithm})", figure.name),
            None => figure.name.clone(),
        };
        let bar = "█".repeat((figure.per_second / fastest * BAR_WIDTH).round() as usize);
        out.push_str(&format!(
            "{label:<34} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {bar}\n",
            figure.per_second, figure.mean_ms, figure.p50_ms, figure.p95_ms
        ));
    }
    for skipped in &report.skipped {
        out.push_str(&format!("{:<34} skipped: {}\n", skipped.name, skipped.why));
    }
    out.push_str("\nEach signature is also checked on the host, as `ukey sign` checks it.");
    out
}
