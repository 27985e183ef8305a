#!/usr/bin/env bash
# The firmware's conformance cases and the interop suite against the token in a reader, as
# a hardware vendor runs them on a board (docs/porting.md, section 6):
#
#   scripts/test-reader.sh 'ukey USB token'     # the reader whose name contains that text
#   scripts/test-reader.sh                      # a simulated reader, to test the switch itself
#
# THIS ERASES THE TOKEN: every case starts by blocking its PIN and PUK and resetting it to
# factory state. The tests expect a token made with the card edge's standard profile
# (PIN 123456, PUK 12345678, 3 tries each, the default management key).
#
# A named reader is used through the system's pcscd (or the one PCSCLITE_CSOCK_NAME points
# at). With no reader named, the script makes one that is not the suites' own: a private
# pcscd (`ukey-sim pcscd`) with a ukey-sim token on the CCID link in its vpcd reader.
set -euo pipefail
cd "$(dirname "$0")/.."

reader=${1:-}
interop=()
for file in tests/interop_*.rs; do
  interop+=("--test=$(basename "$file" .rs)")
done

step() { printf '\n== %s\n' "$*" >&2; }

work=
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -n $work ]] && rm -rf "$work"
}
trap cleanup EXIT

# Waits up to 10 s for a line matching $2 in file $1.
wait_for_line() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "test-reader: nothing matching '$2' in $1 after 10 s:" >&2
  cat "$1" >&2
  return 1
}

if [[ -z $reader ]]; then
  step "a simulated reader: ukey-sim (CCID link) in the vpcd reader of a pcscd of its own"
  cargo build --quiet -p ukey-sim
  work=$(mktemp -d /tmp/ukey-test-reader.XXXXXX)
  target/debug/ukey-sim pcscd --dir "$work/pcscd" >"$work/pcscd.out" 2>&1 &
  pids+=($!)
  wait_for_line "$work/pcscd.out" '^# slot 0:'
  socket=$(sed -n 's/^export PCSCLITE_CSOCK_NAME=//p' "$work/pcscd.out")
  vpcd=$(sed -n 's/^# slot 0: ukey-sim --vpcd \([^ ]*\).*/\1/p' "$work/pcscd.out")
  reader=$(sed -n 's/^# slot 0: .*(reader "\(.*\)")$/\1/p' "$work/pcscd.out")
  export PCSCLITE_CSOCK_NAME=$socket
  target/debug/ukey-sim --vpcd "$vpcd" --link ccid >"$work/token.log" 2>&1 &
  pids+=($!)
  for try in $(seq 100); do
    opensc-tool -r "$reader" -a >/dev/null 2>&1 && break
    if [[ $try == 100 ]]; then
      echo "test-reader: the simulated token never appeared in $reader" >&2
      cat "$work/token.log" >&2
      exit 1
    fi
    sleep 0.1
  done
fi
export UKEY_TEST_READER=$reader

step "conformance on the token in \"$reader\""
cargo test -p ukey-firmware --test conformance --test hostile

step "the interop suite on the token in \"$reader\""
cargo test -p ukey-suite "${interop[@]}"
