#!/usr/bin/env bash
# ukey's benchmark comparison in one command: installs what it needs (scripts/setup.sh:
# pcscd with vpcd, openssl), builds in release, and prints from one run on this machine the
# signing core next to `openssl speed`, the applet's overhead, signatures per second through
# a private pcscd per link, and a virtual token's footprint, each target with PASS or MISS.
# `scripts/bench.sh --quick` runs every path briefly as a smoke test and judges nothing.
# Runs as root (the private pcscd needs a mount namespace of its own).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
exec cargo bench --bench compare -- "$@"
