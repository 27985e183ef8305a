#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora, fuzz/corpus/<target>/seed-*: the conformance cases
# run in process with UKEY_FUZZ_SEEDS set record their APDUs (firmware/tests/support), and
# fuzz/examples/seeds.rs turns them into seeds (and makes the store_open flash images).
# Rerun after conformance cases change; the seeds are committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
recorded=$(mktemp -d)
trap 'rm -rf "$recorded"' EXIT
(cd "$root" && UKEY_FUZZ_SEEDS="$recorded" cargo test -q -p ukey-firmware --test conformance)
rm -f "$root"/fuzz/corpus/*/seed-*
(cd "$root/fuzz" && cargo run -q --example seeds -- "$recorded" corpus)
du -sh "$root"/fuzz/corpus/* | sed 's/^/seeds: /'
