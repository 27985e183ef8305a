//! The whole stack on loopback, with criterion: an empty APDU round trip and GENERAL
//! AUTHENTICATE signing (P-256 and SM2) through a private pcscd (ukey-sim's `Testbed`,
//! started here) and vpcd, on each link (direct, emulated USB CCID), through the PC/SC
//! client library as any host program goes.
//!
//! `cargo bench --bench stack` (as root: pcscd runs in its own mount namespace);
//! `-- --test` runs each once as a smoke test.

mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use support::apdu::{self, Curve, Transmit};
use support::check::Verifier;
use support::stack::{Stack, link_name};

/// Panics with the setup error: a bench cannot run without its token.
fn ready<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|error| panic!("bench setup failed: {error}"))
}

fn through_pcscd(c: &mut Criterion) {
    let mut stack = ready(Stack::start());
    let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
    for token in &mut stack.tokens {
        let mut group = c.benchmark_group(format!("pcscd_{}", link_name(token.link)));
        group.bench_function("empty_apdu", |b| {
            b.iter(|| {
                let response = token
                    .card
                    .transmit(black_box(apdu::GET_VERSION), &mut buffer);
                assert!(response.is_ok_and(apdu::is_ok));
            })
        });
        for (curve, public) in Curve::ALL.into_iter().zip(&token.publics) {
            let command = apdu::sign(curve);
            let verifier = ready(Verifier::new(curve, public));
            let first = ready(Transmit::transmit(&mut token.card, &command));
            ready(apdu::signature_of(&first).and_then(|der| verifier.verify_bench_digest(der)));
            group.bench_function(format!("sign_{}", curve.name()), |b| {
                b.iter(|| {
                    let response = token.card.transmit(black_box(&command), &mut buffer);
                    assert!(response.is_ok_and(apdu::is_ok));
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, through_pcscd);
criterion_main!(benches);
