#!/usr/bin/env bash
# The whole ukey test suite: formatting, lints, the firmware and both board images for
# Cortex-M4, and every test (conformance, power cut, properties, simulator and host driver
# through a private pcscd, the interop suite with pcsc-tools, OpenSC, yubico-piv-tool and
# OpenSSL on the direct, ccid and qemu links, conformance on the QEMU board, conformance and
# interop against a reader of another pcscd, a smoke run of every benchmark, and a slice of
# every fuzz target). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

step() { printf '\n== %s\n' "$*" >&2; }
mps2=firmware/boards/mps2-an386
nrf=firmware/boards/nrf52840

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path "$mps2/Cargo.toml" -- --check
cargo fmt --manifest-path "$nrf/Cargo.toml" -- --check
step "lints"
cargo clippy --workspace --all-targets -- -D warnings
step "firmware for thumbv7em-none-eabihf, with and without the p256-cm4 backend"
cargo build -p ukey-firmware --target thumbv7em-none-eabihf --release
cargo build -p ukey-firmware --target thumbv7em-none-eabihf --release --features p256-cm4
step "QEMU mps2-an386 board image (the qemu link's tests need it)"
(cd "$mps2" && cargo clippy --release -- -D warnings && cargo build --release)
step "nRF52840 board image and its host tests"
(cd "$nrf" && cargo clippy --release -- -D warnings && cargo build --release \
  && cargo test --target x86_64-unknown-linux-gnu --no-default-features)
step "tests"
cargo test --workspace
step "conformance and hostile-client checks on the QEMU board"
UKEY_CONFORMANCE=qemu cargo test -p ukey-firmware --test conformance --test hostile
step "conformance and interop against a reader (a simulated token on a pcscd not the suites' own)"
scripts/test-reader.sh
step "benchmark smoke run (every bench path once; no timing is judged)"
cargo test -p ukey-suite --benches
step "fuzzing slice: 5,000 runs of every fuzz target from a fixed seed, then its corpus and regressions replayed"
FUZZ_ARGS="-seed=1 -runs=5000" scripts/fuzz.sh all 30
