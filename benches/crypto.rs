//! The applet's signing core against the crates' own per-signature path.
//!
//! `cargo bench --bench crypto`. Groups:
//! - `sm2` and `p256`: `sign` is the card's prepared key (`ukey_firmware::crypto::SigningKey`,
//!   what GENERAL AUTHENTICATE runs); `sign_unprepared` is what the card did before: build the
//!   crate's signing key from the stored scalar for every signature; `verify` checks a card
//!   signature with the crate's verifying key (the host's side).
//! - `digest_1KiB`: SHA-256 and SM3 over 1 KiB.
//!
//! For OpenSSL's rates on the same machine: `openssl speed -seconds 3 sm2 ecdsap256`.

#![allow(clippy::expect_used, reason = "a benchmark stops at the first failure")]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use p256::ecdsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use std::hint::black_box;
use ukey_firmware::crypto::{KeyAlgorithm, MAX_SIGNATURE_LEN, SigningKey, generate};

/// The GB/T 32918 default signer ID, as OpenSSL is told to use.
const DISTID: &str = "1234567812345678";

fn sm2(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (secret, public) = generate(KeyAlgorithm::Sm2, &mut rng);
    let key = SigningKey::new(KeyAlgorithm::Sm2, &secret).expect("generated key");
    let e = [0x5A; 32];
    let mut out = [0u8; MAX_SIGNATURE_LEN];
    let mut group = c.benchmark_group("sm2");
    group.bench_function("sign", |b| {
        b.iter(|| key.sign(black_box(&e), &mut rng, &mut out).expect("sign"))
    });
    group.bench_function("sign_unprepared", |b| {
        b.iter(|| {
            let key = sm2::dsa::SigningKey::from_slice(DISTID, black_box(secret.as_ref()))
                .expect("generated key");
            let signature: sm2::dsa::Signature =
                key.sign_prehash_with_rng(&mut rng, &e).expect("sign");
            signature
        })
    });
    let len = key.sign(&e, &mut rng, &mut out).expect("sign");
    let signature = sm2::dsa::Signature::from_der(&out[..len]).expect("DER");
    let point = sm2::PublicKey::from_sec1_bytes(&public).expect("point");
    let verifier = sm2::dsa::VerifyingKey::new(DISTID, point).expect("verifying key");
    group.bench_function("verify", |b| {
        b.iter(|| {
            verifier
                .verify_prehash(black_box(&e), &signature)
                .expect("verifies")
        })
    });
    group.finish();
}

fn p256(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (secret, public) = generate(KeyAlgorithm::P256, &mut rng);
    let key = SigningKey::new(KeyAlgorithm::P256, &secret).expect("generated key");
    let digest = [0xA5; 32];
    let mut out = [0u8; MAX_SIGNATURE_LEN];
    let mut group = c.benchmark_group("p256");
    group.bench_function("sign", |b| {
        b.iter(|| {
            key.sign(black_box(&digest), &mut rng, &mut out)
                .expect("sign")
        })
    });
    group.bench_function("sign_unprepared", |b| {
        b.iter(|| {
            let key = p256::ecdsa::SigningKey::from_slice(black_box(secret.as_ref()))
                .expect("generated key");
            let signature: p256::ecdsa::Signature =
                key.sign_prehash_with_rng(&mut rng, &digest).expect("sign");
            signature
        })
    });
    let len = key.sign(&digest, &mut rng, &mut out).expect("sign");
    let signature = p256::ecdsa::DerSignature::try_from(&out[..len]).expect("DER");
    let verifier = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public).expect("point");
    group.bench_function("verify", |b| {
        b.iter(|| {
            verifier
                .verify_prehash(black_box(&digest), &signature)
                .expect("verifies")
        })
    });
    group.finish();
}

fn digests(c: &mut Criterion) {
    use sha2::Digest;
    let data = [0x3C; 1024];
    let mut group = c.benchmark_group("digest_1KiB");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("sha256", |b| {
        b.iter(|| sha2::Sha256::digest(black_box(&data)))
    });
    group.bench_function("sm3", |b| b.iter(|| sm3::Sm3::digest(black_box(&data))));
    group.finish();
}

criterion_group!(benches, sm2, p256, digests);
criterion_main!(benches);
