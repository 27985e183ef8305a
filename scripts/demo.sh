#!/usr/bin/env bash
# The main job, end to end: a virtual ukey token (the firmware behind an emulated USB CCID
# device) in a private pcscd, then a certificate's whole life with the `ukey` assistant —
# SM2 and P-256 keys made on the token, requests signed on it, a local test CA issuing the
# certificates, import, `ukey info` with holder and renewal date, signatures that OpenSSL
# verifies. Installs what it needs first; leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

cargo build --release -q -p ukey-sim -p ukey-cli
bin="$PWD/target/release"
work=$(mktemp -d /tmp/ukey-demo.XXXXXX)
port=$((36200 + RANDOM % 2000))
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A private pcscd with a vpcd reader on port $port (the system's pcscd is not touched)"
"$bin/ukey-sim" pcscd --port "$port" --dir "$work/pcscd" >"$work/pcscd.out" 2>&1 &
pids+=($!)
# Its first line on stdout names the socket, in a mount namespace or plain mode alike.
for _ in $(seq 100); do grep -q '^export ' "$work/pcscd.out" && break; sleep 0.1; done
socket_line=$(grep -m1 '^export PCSCLITE_CSOCK_NAME=' "$work/pcscd.out") || {
  echo "demo: pcscd did not start:" >&2
  cat "$work/pcscd.out" >&2
  exit 1
}
eval "$socket_line"

say "A virtual token in that reader, through the emulated USB CCID device, flash in token.img"
"$bin/ukey-sim" --vpcd "127.0.0.1:$port" --link ccid --image "$work/token.img" --profile bjca &
pids+=($!)
run "$bin/ukey" wait --timeout 20
cd "$work"
run "$bin/ukey" list
run "$bin/ukey" info

pin=20261125
say "Change the factory PIN, as the assistant asks"
run "$bin/ukey" pin change --old 12345678 --new "$pin"

say "Keys made on the token: SM2 in 9C (signature), P-256 in 9A (authentication)"
run "$bin/ukey" key generate --slot 9c --alg sm2 -o sm2.pub
run "$bin/ukey" key generate --slot 9a --alg p256 -o p256.pub

say "A local test CA, and requests signed on the token"
run "$bin/ukey" ca init --dir ca-sm2 --alg sm2
run "$bin/ukey" ca init --dir ca-p256 --alg p256
run "$bin/ukey" csr --slot 9c --subject "CN=张三,O=北京某某科技有限公司,OU=91350100M000100Y43,C=CN" --pin "$pin" -o sm2.csr
run "$bin/ukey" csr --slot 9a --subject "CN=Li Si,O=Example Ltd,C=CN" --pin "$pin" -o p256.csr
run openssl req -verify -noout -in sm2.csr -vfyopt distid:1234567812345678
run openssl req -verify -noout -in p256.csr

say "The CA issues; the certificates go onto the token"
run "$bin/ukey" ca issue --dir ca-sm2 sm2.csr -o sm2.crt
run "$bin/ukey" ca issue --dir ca-p256 p256.csr --days 60 -o p256.crt
run "$bin/ukey" cert import --slot 9c sm2.crt
run "$bin/ukey" cert import --slot 9a p256.crt

say "What the holder sees: holder, validity, renewal date (9A was issued for 60 days: renew now)"
run "$bin/ukey" info

say "Sign a document on the token; OpenSSL verifies"
printf '合同正文：甲乙双方……\n' >contract.txt
run "$bin/ukey" sign --slot 9c --pin "$pin" contract.txt
run openssl pkeyutl -verify -pubin -inkey sm2.pub -rawin -in contract.txt -digest sm3 \
  -pkeyopt distid:1234567812345678 -sigfile contract.txt.sig
run "$bin/ukey" sign --slot 9a --cms --pin "$pin" contract.txt
run openssl cms -verify -binary -inform DER -in contract.txt.p7s -content contract.txt \
  -CAfile ca-p256/ca.crt -purpose any -out /dev/null

say "The token keeps its keys across a replug (image file)"
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
"$bin/ukey-sim" --vpcd "127.0.0.1:$port" --link ccid --image "$work/token.img" &
pids[1]=$!
run "$bin/ukey" wait --timeout 20
run "$bin/ukey" sign --slot 9c --pin "$pin" contract.txt
run "$bin/ukey" verify contract.txt --cert sm2.crt
run "$bin/ukey" doctor

say "Done: every step above ran against the virtual token through pcscd."
