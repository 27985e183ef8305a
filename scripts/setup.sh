#!/usr/bin/env bash
# Installs what ukey's demo and tests need on Debian 12, idempotently: the PC/SC stack with
# vsmartcard's vpcd, the clients the interop tests drive (ykman twice: Debian's package and
# the current one from PyPI in a venv), QEMU for the Cortex-M4 board, the
# Arm C compiler for the optional p256-cm4 assembly backend, and the Rust target and
# components. Runs as root (or with sudo available).
set -euo pipefail

packages=(
  pcscd vsmartcard-vpcd libpcsclite-dev pcsc-tools
  opensc opensc-pkcs11 yubico-piv-tool libengine-pkcs11-openssl openssl
  yubikey-manager python3-venv
  pkg-config qemu-system-arm gcc-arm-none-eabi
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The current ykman (yubikey-manager on PyPI), beside Debian's older one; tests/interop_ykman.rs
# runs both.
ykman_venv=/opt/ukey-ykman-venv
if [ ! -x "$ykman_venv/bin/ykman" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing yubikey-manager from PyPI into $ykman_venv" >&2
  $sudo python3 -m venv "$ykman_venv"
  $sudo "$ykman_venv/bin/pip" install -q yubikey-manager
fi

rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || rustup component add "$c"
done
