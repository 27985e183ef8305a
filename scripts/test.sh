#!/usr/bin/env bash
# The whole ukey test suite: formatting, lints, the firmware for Cortex-M4, and every test
# (conformance, power cut, properties, simulator and host driver through a private pcscd,
# interop with OpenSC, yubico-piv-tool and OpenSSL). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

step() { printf '\n== %s\n' "$*" >&2; }

step "format"
cargo fmt --all -- --check
step "lints"
cargo clippy --workspace --all-targets -- -D warnings
step "firmware for thumbv7em-none-eabihf"
cargo build -p ukey-firmware --target thumbv7em-none-eabihf --release
step "tests"
cargo test --workspace
