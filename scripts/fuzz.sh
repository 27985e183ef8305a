#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ (issue 17) with cargo-fuzz (libFuzzer), then replays each
# target's corpus and regressions; prints the executions per target.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]
#
# SECONDS is the fuzzing time per target (default 4 hours, the long campaign); CI's slice
# is `FUZZ_ARGS="-seed=1 -runs=5000" scripts/fuzz.sh all 30` (scripts/test.sh), the
# same runs every time. Runs one target at a time. Only the stable toolchain is
# needed: RUSTC_BOOTSTRAP=1 lets stable rustc take libFuzzer's -Z flags, and no sanitizer
# is used (the crates forbid unsafe code; debug assertions and overflow checks are on).
# Crashes land in fuzz/artifacts/<target>/; new corpus entries in fuzz/corpus/<target>/
# (only the seed-* files are committed). FUZZ_ARGS adds libFuzzer options, for example
# FUZZ_ARGS="-fork=1 -ignore_crashes=1" to go on fuzzing past a known crash.
# FUZZ_REPLAY_ONLY names targets (space-separated) only replayed, not fuzzed: for a target
# whose open finding fuzzing meets at once, so that CI's slice stays green until it is fixed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-all}
seconds=${2:-14400}
export RUSTC_BOOTSTRAP=1
flags=(--sanitizer none --release --debug-assertions)

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
cd "$root/fuzz"
if [[ $target == all ]]; then
    mapfile -t targets < <(cargo fuzz list)
    build=()
else
    targets=("$target")
    build=("$target")
fi

# The store's input is the start of a 16 KiB flash, an image file a header and 4 pages;
# the APDU sequences need room too.
max_len() {
    case $1 in
        store_open) echo 16384 ;;
        image_header) echo 16408 ;;
        apdu_*) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

build_start=$SECONDS
cargo fuzz build "${flags[@]}" "${build[@]}" 2>&1 | tail -1
echo "build: $((SECONDS - build_start)) s"

failed=()
summary=()
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    log="$logs/$t"
    start=$SECONDS
    if [[ " ${FUZZ_REPLAY_ONLY:-} " == *" $t "* ]]; then
        echo "$t: replayed only (FUZZ_REPLAY_ONLY)" >"$log"
    else
        cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- \
            -max_total_time="$seconds" -max_len="$(max_len "$t")" -print_final_stats=1 \
            ${FUZZ_ARGS:-} >"$log" 2>&1 || failed+=("$t (fuzzing: see fuzz/artifacts/$t)")
    fi
    ran=$((SECONDS - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    # Fork mode prints no final stats; its last status line counts the executions.
    [[ -n $execs ]] || execs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' "$log" | tail -1)
    grep -E '^(==[0-9]+== ERROR|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)' "$log" || true
    # libFuzzer takes either corpus directories or input files, not both at once.
    cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- -runs=0 -max_len="$(max_len "$t")" \
        >"$log.replay" 2>&1 || failed+=("$t (corpus replay)")
    if [[ -d regressions/$t ]]; then
        cargo fuzz run "${flags[@]}" "$t" regressions/"$t"/* -- -runs=0 \
            -max_len="$(max_len "$t")" >"$log.regressions" 2>&1 || failed+=("$t (regressions)")
    fi
    rate=$(( ${execs:-0} / (ran > 0 ? ran : 1) ))
    summary+=("$(printf '%-22s %12s execs in %6s s (%s/s), corpus %s inputs' \
        "$t" "${execs:-?}" "$ran" "$rate" "$(find "corpus/$t" -type f | wc -l)")")
done

printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
