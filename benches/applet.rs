//! The applet's own costs, with criterion: PIN verification (hash and the counter written to
//! the store twice), parsing and dispatching a cheap command, and GENERAL AUTHENTICATE
//! signing with the PIN verified, in process and through the emulated USB CCID link.
//!
//! `cargo bench --bench applet`; `-- --test` runs each once as a smoke test.

mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ukey_sim::{Link, LinkKind};

use support::apdu::{self, Curve};
use support::check::Verifier;
use support::tokens;

/// Panics with the setup error: a bench cannot run without its token.
fn ready<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|error| panic!("bench setup failed: {error}"))
}

fn in_process(c: &mut Criterion) {
    let (mut card, publics) = ready(tokens::card());
    let mut group = c.benchmark_group("in_process");
    group.bench_function("verify_pin", |b| {
        b.iter(|| assert!(apdu::is_ok(card.process(black_box(apdu::VERIFY_PIN)))))
    });
    group.bench_function("get_version", |b| {
        b.iter(|| assert!(apdu::is_ok(card.process(black_box(apdu::GET_VERSION)))))
    });
    for (curve, public) in Curve::ALL.into_iter().zip(&publics) {
        let command = apdu::sign(curve);
        let verifier = ready(Verifier::new(curve, public));
        ready(
            apdu::signature_of(card.process(&command))
                .and_then(|der| verifier.verify_bench_digest(der)),
        );
        group.bench_function(format!("sign_{}", curve.name()), |b| {
            b.iter(|| assert!(apdu::is_ok(card.process(black_box(&command)))))
        });
    }
    // Last: SELECT forgets the verified PIN, as a YubiKey's does, which signing needs.
    group.bench_function("select", |b| {
        b.iter(|| assert!(apdu::is_ok(card.process(black_box(apdu::SELECT)))))
    });
    group.finish();
}

fn through_ccid(c: &mut Criterion) {
    let (mut token, publics) = ready(tokens::token(LinkKind::Ccid));
    let mut group = c.benchmark_group("ccid");
    group.bench_function("get_version", |b| {
        b.iter(|| {
            let response = token.transmit(black_box(apdu::GET_VERSION));
            assert!(response.is_ok_and(|r| apdu::is_ok(&r)));
        })
    });
    for (curve, public) in Curve::ALL.into_iter().zip(&publics) {
        let command = apdu::sign(curve);
        let verifier = ready(Verifier::new(curve, public));
        let first = ready(token.transmit(&command).map_err(|e| e.to_string()));
        ready(apdu::signature_of(&first).and_then(|der| verifier.verify_bench_digest(der)));
        group.bench_function(format!("sign_{}", curve.name()), |b| {
            b.iter(|| {
                let response = token.transmit(black_box(&command));
                assert!(response.is_ok_and(|r| apdu::is_ok(&r)));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, in_process, through_ccid);
criterion_main!(benches);
