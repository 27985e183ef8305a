//! The signing core on its own: `SigningKey::sign` as the applet calls it, and verification
//! with the RustCrypto curve crates the host verifies with.

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use ukey_firmware::crypto::{self, KeyAlgorithm, MAX_SIGNATURE_LEN, SigningKey};

use crate::openssl;
use crate::support::apdu::{Curve, DIGEST};
use crate::support::check::Verifier;
use crate::support::clock::{self, Clock, Rate, median};

/// The firmware's algorithm for a bench curve.
pub fn algorithm(curve: Curve) -> KeyAlgorithm {
    match curve {
        Curve::P256 => KeyAlgorithm::P256,
        Curve::Sm2 => KeyAlgorithm::Sm2,
    }
}

/// A prepared signing key of `curve`, as the applet keeps one per slot, with the RNG that
/// hedges its nonces.
pub struct RawSigner {
    key: SigningKey,
    rng: ChaCha20Rng,
    out: [u8; MAX_SIGNATURE_LEN],
}

impl RawSigner {
    /// A fresh key of `curve` from a seeded RNG.
    pub fn new(curve: Curve, seed: u64) -> Result<Self, String> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (secret, public) = crypto::generate(algorithm(curve), &mut rng);
        let key = SigningKey::new(algorithm(curve), &secret)
            .map_err(|e| format!("preparing a {} key: {e:?}", curve.name()))?;
        if key.public_key() != public {
            return Err(format!(
                "{} key: the prepared public point differs",
                curve.name()
            ));
        }
        Ok(Self {
            key,
            rng,
            out: [0; MAX_SIGNATURE_LEN],
        })
    }

    /// Signs [`DIGEST`]; returns the DER signature.
    pub fn sign(&mut self) -> Result<&[u8], String> {
        let len = self
            .key
            .sign(&DIGEST, &mut self.rng, &mut self.out)
            .map_err(|e| format!("SigningKey::sign: {e:?}"))?;
        Ok(&self.out[..len])
    }

    /// The uncompressed public point.
    pub fn public_key(&self) -> [u8; 65] {
        self.key.public_key()
    }
}

/// Sign and verify rates of one curve, per second of this thread's CPU time.
pub struct Rates {
    /// `SigningKey::sign`.
    pub sign: Rate,
    /// Verification of the same signature.
    pub verify: Rate,
}

/// Measures signing with a prepared key and verifying its signature, `budget` of CPU time
/// each; the signature is checked first.
pub fn rates(curve: Curve, budget: Duration) -> Result<Rates, String> {
    let mut signer = RawSigner::new(curve, 6)?;
    let verifier = Verifier::new(curve, &signer.public_key())?;
    let signature = signer.sign()?.to_vec();
    verifier.verify_bench_digest(&signature)?;
    let sign = clock::measure(Clock::ThreadCpu, budget, || signer.sign().map(drop))?;
    let verify = clock::measure(Clock::ThreadCpu, budget, || {
        verifier.verify_bench_digest(&signature)
    })?;
    Ok(Rates { sign, verify })
}

/// One operation's rates here and in OpenSSL: the medians over the rounds.
pub struct Row {
    /// The curve.
    pub curve: Curve,
    /// `sign` or `verify`.
    pub operation: &'static str,
    /// ukey's operations per CPU second.
    pub ours: f64,
    /// OpenSSL's operations per CPU second.
    pub theirs: f64,
}

/// Alternates `rounds` runs of `openssl speed -seconds <openssl_seconds> sm2 ecdsap256` with
/// ukey's own rates (`budget` of CPU time per figure), so that a change in the machine's load
/// falls on both sides; returns OpenSSL's version and the medians, by curve then operation.
pub fn against_openssl(
    rounds: usize,
    openssl_seconds: u32,
    budget: Duration,
) -> Result<(String, Vec<Row>), String> {
    let mut version = String::new();
    // Per curve: ours sign, theirs sign, ours verify, theirs verify.
    let mut samples = [[(); 4].map(|()| Vec::new()), [(); 4].map(|()| Vec::new())];
    for _ in 0..rounds {
        let speed = openssl::speed(openssl_seconds)?;
        version = speed.version;
        for curve in Curve::ALL {
            let theirs = match curve {
                Curve::P256 => speed.p256,
                Curve::Sm2 => speed.sm2,
            };
            let ours = rates(curve, budget)?;
            let figures = [
                ours.sign.per_cpu_second(),
                theirs.sign,
                ours.verify.per_cpu_second(),
                theirs.verify,
            ];
            for (sample, figure) in samples[curve.index()].iter_mut().zip(figures) {
                sample.push(figure);
            }
        }
    }
    let mut rows = Vec::new();
    for curve in Curve::ALL {
        let [ours_sign, theirs_sign, ours_verify, theirs_verify] = &mut samples[curve.index()];
        for (operation, ours, theirs) in [
            ("sign", ours_sign, theirs_sign),
            ("verify", ours_verify, theirs_verify),
        ] {
            let none = || "no round was measured".to_string();
            rows.push(Row {
                curve,
                operation,
                ours: median(ours).ok_or_else(none)?,
                theirs: median(theirs).ok_or_else(none)?,
            });
        }
    }
    Ok((version, rows))
}
