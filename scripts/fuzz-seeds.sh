#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora, fuzz/corpus/<target>/seed-*: the conformance cases
# run in process with UKEY_FUZZ_SEEDS set record their APDUs (firmware/tests/support), and
# fuzz/examples/seeds.rs turns them into seeds (and makes the store_open flash images and
# an image file); the simulator's fixture profiles seed profile_toml.
# Rerun after conformance cases change; the seeds are committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
recorded=$(mktemp -d)
trap 'rm -rf "$recorded"' EXIT
(cd "$root" && UKEY_FUZZ_SEEDS="$recorded" cargo test -q -p ukey-firmware --test conformance)
rm -f "$root"/fuzz/corpus/*/seed-*
(cd "$root/fuzz" && cargo run -q --example seeds -- "$recorded" corpus)
mkdir -p "$root/fuzz/corpus/profile_toml"
for profile in "$root"/sim/fixtures/*.toml; do
    cp "$profile" "$root/fuzz/corpus/profile_toml/seed-$(basename "$profile")"
done
du -sh "$root"/fuzz/corpus/* | sed 's/^/seeds: /'
