//! `cargo bench --bench compare`: one command that prints, from one run on this machine,
//! the figures and targets of issue 6:
//!
//! - ukey's SM2 and P-256 sign and verify rates next to `openssl speed` run in the same
//!   command, as ratios (both counted per second of one thread's CPU time);
//! - the applet's overhead: a signing APDU handled in process over the raw signature;
//! - signatures per second and the APDU round trip through a private pcscd on loopback,
//!   per link;
//! - the flash image and resident memory of a virtual token (real `ukey-sim` processes).
//!
//! Each target is printed with PASS or MISS beside it. `-- --quick`, or `cargo test
//! --benches`, runs every path with tiny budgets as a smoke test and judges nothing. Needs root (the private pcscd runs in a
//! mount namespace of its own), pcscd with vpcd, and openssl: `scripts/setup.sh`.

#[path = "../support/mod.rs"]
mod support;

mod crypto;
mod footprint;
mod openssl;
mod overhead;
mod pcscd;
mod report;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use report::{Report, Target, figure, micros};
use support::apdu::Curve;
use support::stack::{Stack, link_name};

/// SM2 signatures per second, at least this many times OpenSSL's (issue 6).
const SM2_SIGN_VS_OPENSSL: f64 = 5.0;
/// P-256 signatures per second, at least this fraction of OpenSSL's assembly (issue 6).
const P256_SIGN_VS_OPENSSL: f64 = 0.25;
/// A signing APDU in process, at most this many times the raw signature (issue 6).
const MAX_APPLET_OVERHEAD: f64 = 1.05;
/// P-256 signatures per second through pcscd on loopback, at least (issue 6).
const MIN_P256_THROUGH_PCSCD: f64 = 3_500.0;

/// How long each part of the run measures.
struct Plan {
    quick: bool,
    openssl_rounds: usize,
    openssl_seconds: u32,
    crypto_budget: Duration,
    overhead_round: Duration,
    overhead_rounds: usize,
    pcscd_budget: Duration,
    footprint_signatures: usize,
}

impl Plan {
    /// About a minute and a half of measuring on two cores.
    fn full() -> Self {
        Self {
            quick: false,
            openssl_rounds: 3,
            openssl_seconds: 1,
            crypto_budget: Duration::from_millis(500),
            overhead_round: Duration::from_millis(150),
            overhead_rounds: 15,
            pcscd_budget: Duration::from_secs(3),
            footprint_signatures: 100,
        }
    }

    /// Every path once or a little more: a smoke test, not a measurement.
    fn quick() -> Self {
        Self {
            quick: true,
            openssl_rounds: 1,
            openssl_seconds: 1,
            crypto_budget: Duration::from_millis(20),
            overhead_round: Duration::from_millis(10),
            overhead_rounds: 1,
            pcscd_budget: Duration::from_millis(50),
            footprint_signatures: 2,
        }
    }
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and gets the smoke
    // run, as criterion's benches run once each there.
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|arg| arg == "--quick") || !args.iter().any(|arg| arg == "--bench");
    let plan = match quick {
        true => Plan::quick(),
        false => Plan::full(),
    };
    let started = Instant::now();
    let mut report = Report::new(plan.quick);
    match run(&plan, &mut report) {
        Ok(()) => {
            report.finish();
            println!("   {}", load_note());
            println!("({:.0} s)", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("compare: error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(plan: &Plan, report: &mut Report) -> Result<(), String> {
    println!("ukey benchmark comparison, one run on this machine");
    println!("   {}", machine());
    crypto_vs_openssl(plan, report)?;
    applet_overhead(plan, report)?;
    let mut stack = Stack::start()?;
    through_pcscd(plan, report, &mut stack)?;
    footprint(plan, &stack)
}

fn crypto_vs_openssl(plan: &Plan, report: &mut Report) -> Result<(), String> {
    let (version, rows) = crypto::against_openssl(
        plan.openssl_rounds,
        plan.openssl_seconds,
        plan.crypto_budget,
    )?;
    report::section(
        "Signing core vs OpenSSL",
        &format!(
            "ukey: SigningKey::sign with a prepared key; verify: RustCrypto p256/sm2 as \
             ukey-host uses them. Both per second of one thread's CPU time, as `openssl speed \
             -seconds {} sm2 ecdsap256` counts ({version}); medians of {} alternating rounds.",
            plan.openssl_seconds, plan.openssl_rounds
        ),
    );
    println!(
        "   {:<14} {:>10} {:>12} {:>8}   target",
        "", "ukey/s", "openssl/s", "ratio"
    );
    for row in rows {
        let what = format!("{} {}", row.curve.name(), row.operation);
        let ratio = row.ours / row.theirs;
        let bound = match (row.curve, row.operation) {
            (Curve::P256, "sign") => Some(P256_SIGN_VS_OPENSSL),
            (Curve::Sm2, "sign") => Some(SM2_SIGN_VS_OPENSSL),
            _ => None,
        };
        let verdict = match bound {
            Some(bound) => {
                let target = Target::AtLeast(bound);
                let word = report.judge(&format!("{what} vs OpenSSL"), ratio, target);
                format!("{} x  {word}", target.describe(""))
            }
            None => "(none)".to_string(),
        };
        println!(
            "   {what:<14} {:>10} {:>12} {:>7}x   {verdict}",
            figure(row.ours),
            figure(row.theirs),
            figure(ratio)
        );
    }
    Ok(())
}

fn applet_overhead(plan: &Plan, report: &mut Report) -> Result<(), String> {
    report::section(
        "Applet overhead",
        &format!(
            "GENERAL AUTHENTICATE signing APDU through Card::process (PIN verified) over raw \
             SigningKey::sign; thread CPU time, fastest of {} alternating rounds each.",
            plan.overhead_rounds
        ),
    );
    println!(
        "   {:<6} {:>12} {:>12} {:>8}   target",
        "", "raw", "APDU", "ratio"
    );
    let target = Target::AtMost(MAX_APPLET_OVERHEAD);
    for curve in Curve::ALL {
        let overhead = overhead::measure(curve, plan.overhead_round, plan.overhead_rounds)?;
        let word = report.judge(
            &format!("{} applet overhead", curve.name()),
            overhead.ratio,
            target,
        );
        println!(
            "   {:<6} {:>12} {:>12} {:>7}x   {} x  {word}",
            curve.name(),
            micros(overhead.raw),
            micros(overhead.apdu),
            figure(overhead.ratio),
            target.describe("")
        );
    }
    Ok(())
}

fn through_pcscd(plan: &Plan, report: &mut Report, stack: &mut Stack) -> Result<(), String> {
    report::section(
        "Through pcscd on loopback",
        "A private pcscd and vpcd; one PC/SC client, one connection per token; wall time. \
         Round trip: GET VERSION (no command data, no work). In brackets: CPU time of the \
         whole stack (client, token, pcscd) per APDU.",
    );
    println!(
        "   {:<7} {:>22} {:>22} {:>22}   target (P-256)",
        "link", "round trip", "p256 sig/s", "sm2 sig/s"
    );
    let target = Target::AtLeast(MIN_P256_THROUGH_PCSCD);
    let all = pcscd::measure(stack, plan.pcscd_budget)?;
    for (token, rates) in stack.tokens.iter().zip(all) {
        let name = link_name(token.link);
        let [p256, sm2] = &rates.signatures;
        let p256_rate = p256.rate.per_wall_second();
        let word = report.judge(
            &format!("p256 signatures/s through pcscd, {name}"),
            p256_rate,
            target,
        );
        println!(
            "   {name:<7} {:>22} {:>22} {:>22}   {}/s  {word}",
            format!(
                "{} [{}]",
                micros(rates.round_trip.rate.wall_per_op()),
                micros(rates.round_trip.stack_cpu_per_op)
            ),
            format!("{} [{}]", figure(p256_rate), micros(p256.stack_cpu_per_op)),
            format!(
                "{} [{}]",
                figure(sm2.rate.per_wall_second()),
                micros(sm2.stack_cpu_per_op)
            ),
            target.describe("")
        );
    }
    Ok(())
}

fn footprint(plan: &Plan, stack: &Stack) -> Result<(), String> {
    report::section(
        "Footprint per virtual token",
        &format!(
            "A `ukey-sim --image` process per link, read from /proc after it generated a key \
             of each curve and signed {} times with each.",
            plan.footprint_signatures
        ),
    );
    println!(
        "   {:<7} {:>14} {:>12} {:>12}",
        "link", "image file", "VmRSS", "VmHWM"
    );
    for token in footprint::measure(stack, plan.footprint_signatures)? {
        println!(
            "   {:<7} {:>12} B {:>9} KiB {:>9} KiB",
            link_name(token.link),
            figure(token.image_bytes as f64),
            figure(token.rss_kib as f64),
            figure(token.peak_kib as f64)
        );
    }
    Ok(())
}

/// The load at the end, with a warning when other work competed for the CPUs: the figures
/// then understate what the code does on a quiet machine.
fn load_note() -> String {
    let load = load_average();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    match load.parse::<f64>() {
        Ok(busy) if busy > cpus as f64 => format!(
            "load average {load} at the end, over the {cpus} CPUs: other work competed \
             with this run, and its figures understate a quiet machine's"
        ),
        _ => format!("load average {load} at the end"),
    }
}

/// The one-minute load average.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().next().unwrap_or("?").to_string()
}

/// The CPU model, the number of CPUs and the load when the run started.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{model}, {cpus} CPUs, load average {} at the start",
        load_average()
    )
}
