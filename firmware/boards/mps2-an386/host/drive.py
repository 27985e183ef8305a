#!/usr/bin/env python3
"""Host-side driver for the ukey mps2-an386 board image.

Starts QEMU with UART0 on a local TCP socket, talks the board's framing (see ../README.md),
runs seed, power-on, SELECT, VERIFY PIN, 3DES management-key authentication, GENERATE P-256 and
SM2, a signature with each (both verified here), a 1 KiB PUT DATA read back through GET
RESPONSE, and the link's error answers; then reports the stack high-water mark. Exits non-zero
on the first mismatch.

    python3 host/drive.py [--elf PATH] [--icount]

With --icount, QEMU runs with `-icount shift=0` (one instruction per virtual nanosecond) and the
per-APDU SysTick ticks (25 MHz) are converted to instructions (x40).

Needs python3 with `cryptography` (3DES and P-256 verification) and qemu-system-arm.
"""

import argparse
import functools
import hashlib
import operator
import os
import socket
import struct
import subprocess
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers import Cipher, modes

try:  # cryptography >= 43 keeps 3DES among the "decrepit" ciphers.
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ELF = os.path.join(
    HERE, "..", "target", "thumbv7em-none-eabihf", "release", "ukey-board-mps2"
)
MGMT_KEY = bytes(range(1, 9)) * 3
ATR_BODY = bytes.fromhex("3B86018054") + b"ukey"  # TS T0 TD1 80 54 "ukey", then TCK
ATR = ATR_BODY + bytes([functools.reduce(operator.xor, ATR_BODY[1:], 0)])

# SM2 (GB/T 32918.5) curve parameters, to check the card's SM2 signature here.
SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = SM2_P - 3
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_G = (
    0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)


class Fail(Exception):
    """A check failed."""


def check(cond, what):
    if not cond:
        raise Fail(what)
    print(f"  ok  {what}")


class Board:
    """The QEMU process and the framed link to its UART0."""

    def __init__(self, elf, icount):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [
            "qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4",
            "-display", "none", "-monitor", "none",
            "-semihosting-config", "enable=on,target=native",
            "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on",
            "-kernel", elf,
        ]
        if icount:
            cmd[1:1] = ["-icount", "shift=0"]
        self.qemu = subprocess.Popen(cmd)
        for _ in range(100):
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise Fail("QEMU did not open its UART socket")

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise Fail("the board closed the link")
            out += chunk
        return out

    def frame(self, kind, payload=b""):
        """Sends one frame; returns the answer's (type, payload)."""
        self.send_raw(kind + struct.pack(">H", len(payload)) + payload)
        return self.answer()

    def answer(self):
        head = self.recv_exact(3)
        return head[:1], self.recv_exact(struct.unpack(">H", head[1:])[0])

    def apdu(self, hexstr_or_bytes):
        """Sends one APDU; follows 61xx with GET RESPONSE; returns (data, sw)."""
        command = bytes.fromhex(hexstr_or_bytes) if isinstance(hexstr_or_bytes, str) else hexstr_or_bytes
        data = b""
        while True:
            kind, r = self.frame(b"A", command)
            if kind != b"A" or len(r) < 2:
                raise Fail(f"bad answer to APDU: {kind} {r.hex()}")
            data += r[:-2]
            sw = int.from_bytes(r[-2:], "big")
            if sw >> 8 != 0x61:
                return data, sw
            command = bytes.fromhex("00C00000") + bytes([sw & 0xFF])

    def ticks(self):
        kind, r = self.frame(b"T")
        if kind != b"T" or len(r) != 8:
            raise Fail(f"bad answer to T: {kind} {r.hex()}")
        return struct.unpack(">Q", r)[0]

    def high_water(self):
        """(bytes since the last H, peak since boot, stack region size)."""
        kind, r = self.frame(b"H")
        if kind != b"H" or len(r) != 12:
            raise Fail(f"bad answer to H: {kind} {r.hex()}")
        return struct.unpack(">III", r)

    def quit(self):
        kind, _ = self.frame(b"Q")
        check(kind == b"Q", "Q is acknowledged")
        check(self.qemu.wait(timeout=30) == 0, "QEMU exits with status 0 (semihosting)")


def tdes(key, block, encrypt):
    c = Cipher(TripleDES(key), modes.ECB())
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(block) + op.finalize()


def tlv(tag, value):
    """BER-TLV: tag bytes as given, then a definite length."""
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return tag + length + value


def short_apdu(cla_ins_p1_p2, data, le=True):
    return bytes.fromhex(cla_ins_p1_p2) + bytes([len(data)]) + data + (b"\x00" if le else b"")


def sm2_add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % SM2_P == 0:
        return None
    if p == q:
        lam = (3 * p[0] * p[0] + SM2_A) * pow(2 * p[1], -1, SM2_P)
    else:
        lam = (q[1] - p[1]) * pow(q[0] - p[0], -1, SM2_P)
    x = (lam * lam - p[0] - q[0]) % SM2_P
    return x, (lam * (p[0] - x) - p[1]) % SM2_P


def sm2_mul(k, p):
    acc = None
    while k:
        if k & 1:
            acc = sm2_add(acc, p)
        p = sm2_add(p, p)
        k >>= 1
    return acc


def sm2_verify(point, e, sig):
    """GB/T 32918.2 verification of (r, s) over the 32-byte e."""
    r, s = utils.decode_dss_signature(sig)
    if not (1 <= r < SM2_N and 1 <= s < SM2_N):
        return False
    t = (r + s) % SM2_N
    if t == 0:
        return False
    x1y1 = sm2_add(sm2_mul(s, SM2_G), sm2_mul(t, point))
    return x1y1 is not None and (int.from_bytes(e, "big") + x1y1[0]) % SM2_N == r


def run(board, icount):
    costs = []

    def measured(name, apdu, want=0x9000):
        board.high_water()  # start a new stack reading
        data, sw = board.apdu(apdu)
        ticks = board.ticks()
        stack = board.high_water()[0]
        check(sw == want, f"{name}: SW {sw:04X}")
        costs.append((name, ticks, stack))
        return data

    print("link errors before power-on")
    check(board.frame(b"A", bytes.fromhex("00A40400")) == (b"E", b"\x07"), "APDU before power-on: E 07")
    check(board.frame(b"P") == (b"E", b"\x05"), "power-on before seed: E 05")
    check(board.frame(b"S", b"\x00" * 8) == (b"E", b"\x04"), "short seed: E 04")
    board.send_raw(b"x")
    check(board.answer() == (b"E", b"\x01"), "unknown type byte: E 01, the byte dropped")
    board.send_raw(b"A" + struct.pack(">H", 5000) + b"\x00" * 5000)
    check(board.answer() == (b"E", b"\x02"), "payload over the limit: E 02")
    board.send_raw(b"A\x00\x05\x00\xA4")
    check(board.answer() == (b"E", b"\x03"), "frame cut short: E 03 after the byte timeout")

    print("seed, power-on")
    check(board.frame(b"S", os.urandom(32)) == (b"S", b""), "seed accepted")
    check(board.frame(b"P") == (b"P", ATR), f"power-on answers the ATR {ATR.hex()}")
    open_ticks = board.ticks()
    check(board.frame(b"S", os.urandom(32)) == (b"E", b"\x06"), "seed after power-on: E 06")
    after_open = board.high_water()[0]
    costs.append(("power-on: open a blank store", open_ticks, after_open))
    check(board.frame(b"R") == (b"R", ATR), "warm reset answers the ATR")

    print("applet")
    measured("SELECT PIV", "00A4040005A000000308")
    measured("VERIFY PIN (wrong)", short_apdu("00200080", b"654321\xff\xff", le=False), 0x63C2)
    measured("VERIFY PIN", short_apdu("00200080", b"123456\xff\xff", le=False))

    witness, sw = board.apdu(short_apdu("0087039B", bytes.fromhex("7C028000")))
    check(sw == 0x9000 and witness[:4] == bytes.fromhex("7C0A8008"), "management key: witness")
    challenge = os.urandom(8)
    body = tlv(b"\x7C", tlv(b"\x80", tdes(MGMT_KEY, witness[4:], False)) + tlv(b"\x81", challenge))
    answer = measured("management key (3DES) auth", short_apdu("0087039B", body))
    check(answer == tlv(b"\x7C", tlv(b"\x82", tdes(MGMT_KEY, challenge, True))), "card proves the key")

    p256_pub = measured("GENERATE P-256 (9A)", short_apdu("0047009A", bytes.fromhex("AC03800111")))
    check(p256_pub[:5] == bytes.fromhex("7F49438641"), "P-256 public point")
    sm2_pub = measured("GENERATE SM2 (9C)", short_apdu("0047009C", bytes.fromhex("AC03800154")))
    check(sm2_pub[:5] == bytes.fromhex("7F49438641"), "SM2 public point")

    digest = hashlib.sha256(b"ukey on a Cortex-M4").digest()
    r = measured("sign P-256 (9A)", short_apdu("0087119A", tlv(b"\x7C", b"\x82\x00" + tlv(b"\x81", digest))))
    check(r[:1] == b"\x7C" and r[2:3] == b"\x82", "P-256 signature template")
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256_pub[5:])
    key.verify(r[4:], digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    check(True, "P-256 signature verifies (cryptography)")

    measured("VERIFY PIN (9C policy: always)", short_apdu("00200080", b"123456\xff\xff", le=False))
    e = hashlib.sha256(b"stand-in for the host's SM3 e").digest()
    r = measured("sign SM2 (9C)", short_apdu("0087549C", tlv(b"\x7C", b"\x82\x00" + tlv(b"\x81", e))))
    check(r[:1] == b"\x7C" and r[2:3] == b"\x82", "SM2 signature template")
    point = (int.from_bytes(sm2_pub[6:38], "big"), int.from_bytes(sm2_pub[38:70], "big"))
    check(sm2_verify(point, e, r[4:]), "SM2 signature verifies (GB/T 32918.2 in Python)")

    cert = os.urandom(1024)
    body = tlv(b"\x5C", bytes.fromhex("5FC105")) + tlv(b"\x53", cert)
    measured("PUT DATA 1 KiB (extended APDU)", bytes.fromhex("00DB3FFF00") + len(body).to_bytes(2, "big") + body)
    got, sw = board.apdu(short_apdu("00CB3FFF", tlv(b"\x5C", bytes.fromhex("5FC105"))))
    check(sw == 0x9000 and got == tlv(b"\x53", cert), "GET DATA returns it through GET RESPONSE")

    _, peak, size = board.high_water()
    print()
    print(f"stack high-water: {after_open} bytes through seed and power-on (card open); "
          f"peak {peak} bytes since boot, of a {size}-byte stack region")
    print()
    unit = "instructions (-icount shift=0)" if icount else "SysTick ticks, 25 MHz, host time"
    print(f"{'operation':34} {unit:>32} {'stack bytes':>12}")
    for name, ticks, stack in costs:
        print(f"{name:34} {ticks * 40 if icount else ticks:>32,} {stack:>12,}")
    board.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elf", default=DEFAULT_ELF, help="board image (default: the release build)")
    parser.add_argument("--icount", action="store_true", help="run QEMU with -icount shift=0")
    args = parser.parse_args()
    board = Board(args.elf, args.icount)
    try:
        run(board, args.icount)
    except Fail as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    finally:
        if board.qemu.poll() is None:
            board.qemu.kill()
            board.qemu.wait()
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
