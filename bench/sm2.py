"""SM2 benchmark: `python -m bench.sm2 [--seconds S] [--runs R]`.

Operations a second of `tongban.core.crypto` (GmSSL 3 through gmssl-pyx) against the baseline
measured in the same run: the textbook affine arithmetic in Python integers that crypto.py used
until 2026-12 (double-and-add, inverses by `pow`), kept here, and only here, as the yardstick.
Each operation on a 200-byte message (sign, verify) or a 16-byte content key (encrypt,
decrypt), as a data package uses them; R runs of S seconds each, the median reported. The
baseline's results are checked against the library's (its signatures verify there, and the
other way round), so both sides compute the same thing.

It prints a table, then one JSON line with every figure. No database, no Django settings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import time
from collections.abc import Callable

import gmssl_pyx

from tongban.core import crypto

# ---------------------------------------------------------------------------------------------
# The baseline: the hand-written SM2 of crypto.py before gmssl-pyx, abridged (no input checks).

_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
_A = _P - 3
_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
_G = (
    int("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7", 16),
    int("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", 16),
)
Point = tuple[int, int] | None


def _add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % _P == 0:
            return None
        slope = (3 * x1 * x1 + _A) * pow(2 * y1, -1, _P)
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, _P)
    x3 = (slope * slope - x1 - x2) % _P
    return x3, (slope * (x1 - x3) - y1) % _P


def _mul(k: int, point: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def _xy(point: Point) -> bytes:
    assert point is not None
    return point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def _e(public: bytes, data: bytes) -> int:
    uid = crypto.SM2_DEFAULT_ID
    z = crypto.sm3(
        (len(uid) * 8).to_bytes(2, "big")
        + uid
        + _A.to_bytes(32, "big")
        + _B.to_bytes(32, "big")
        + _xy(_G)
        + public
    )
    return int.from_bytes(crypto.sm3(z + data), "big")


def _der(r: int, s: int) -> bytes:
    def integer(value: int) -> bytes:
        raw = value.to_bytes((value.bit_length() + 8) // 8, "big")
        return b"\x02" + bytes([len(raw)]) + raw

    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def _parse_der(signature: bytes) -> tuple[int, int]:
    r_len = signature[3]
    s_at = 4 + r_len
    return int.from_bytes(signature[4:s_at], "big"), int.from_bytes(signature[s_at + 2 :], "big")


def old_sign(d: int, public: bytes, data: bytes) -> bytes:
    e = _e(public, data)
    while True:
        k = secrets.randbelow(_N - 1) + 1
        r = (e + _mul(k, _G)[0]) % _N  # type: ignore[index]
        if r == 0 or r + k == _N:
            continue
        s = pow(1 + d, -1, _N) * (k - r * d) % _N
        if s:
            return _der(r, s)


def old_verify(public: bytes, signature: bytes, data: bytes) -> bool:
    r, s = _parse_der(signature)
    t = (r + s) % _N
    point = _add(
        _mul(s, _G), _mul(t, (int.from_bytes(public[:32], "big"), int.from_bytes(public[32:], "big")))
    )
    return point is not None and (_e(public, data) + point[0]) % _N == r


def _kdf(z: bytes, length: int) -> bytes:
    return b"".join(crypto.sm3(z + i.to_bytes(4, "big")) for i in range(1, (length + 31) // 32 + 1))[:length]


def old_encrypt(public: bytes, plaintext: bytes) -> bytes:
    target = (int.from_bytes(public[:32], "big"), int.from_bytes(public[32:], "big"))
    k = secrets.randbelow(_N - 1) + 1
    c1, shared = _xy(_mul(k, _G)), _xy(_mul(k, target))
    c2 = bytes(a ^ b for a, b in zip(plaintext, _kdf(shared, len(plaintext)), strict=True))
    return b"\x04" + c1 + crypto.sm3(shared[:32] + plaintext + shared[32:]) + c2


def old_decrypt(d: int, ciphertext: bytes) -> bytes:
    c1 = (int.from_bytes(ciphertext[1:33], "big"), int.from_bytes(ciphertext[33:65], "big"))
    shared = _xy(_mul(d, c1))
    return bytes(a ^ b for a, b in zip(ciphertext[97:], _kdf(shared, len(ciphertext) - 97), strict=True))


# ---------------------------------------------------------------------------------------------


def _rate(operation: Callable[[], object], seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        operation()
        count += 1
    return count / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one run of one operation")
    parser.add_argument("--runs", type=int, default=5, help="runs of each operation (the median is reported)")
    args = parser.parse_args(argv)

    key = crypto.sm2_generate()
    d, public = int(key.private, 16), bytes.fromhex(key.public)
    message, content_key = os.urandom(200), os.urandom(16)
    signature, ciphertext = crypto.sm2_sign(key, message), crypto.sm2_encrypt(key.public, content_key)
    # Both sides compute the same thing.
    assert crypto.sm2_verify(key.public, old_sign(d, public, message), message)
    assert old_verify(public, signature, message)
    assert old_decrypt(d, ciphertext) == content_key
    assert crypto.sm2_decrypt(key, old_encrypt(public, content_key)) == content_key

    operations: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "sign": (lambda: old_sign(d, public, message), lambda: crypto.sm2_sign(key, message)),
        "verify": (
            lambda: old_verify(public, signature, message),
            lambda: crypto.sm2_verify(key.public, signature, message),
        ),
        "encrypt": (
            lambda: old_encrypt(public, content_key),
            lambda: crypto.sm2_encrypt(key.public, content_key),
        ),
        "decrypt": (lambda: old_decrypt(d, ciphertext), lambda: crypto.sm2_decrypt(key, ciphertext)),
    }
    load_before = os.getloadavg()[0]
    rates: dict[str, dict[str, float]] = {}
    for name, (old, new) in operations.items():
        runs = {"old": [], "new": []}
        for _ in range(args.runs):  # interleaved, so that a burst of load hits both alike
            runs["old"].append(_rate(old, args.seconds))
            runs["new"].append(_rate(new, args.seconds))
        rates[name] = {side: statistics.median(values) for side, values in runs.items()}
    load_after = os.getloadavg()[0]

    print(
        f"SM2, operations a second (median of {args.runs} runs of {args.seconds:g} s; "
        f"load {load_before:.2f} → {load_after:.2f})"
    )
    library = f"gmssl-pyx {gmssl_pyx.__version__}"
    print(f"{'operation':<10}{'baseline (Python ints)':>24}{library:>18}{'ratio':>9}")
    for name, rate in rates.items():
        print(f"{name:<10}{rate['old']:>24,.0f}{rate['new']:>18,.0f}{rate['new'] / rate['old']:>8.1f}×")
    print(
        json.dumps(
            {
                "bench": "sm2",
                "per_second": {
                    name: {side: round(v) for side, v in rate.items()} for name, rate in rates.items()
                },
                "ratio": {name: round(rate["new"] / rate["old"], 2) for name, rate in rates.items()},
                "runs": args.runs,
                "seconds": args.seconds,
                "gmssl_pyx": gmssl_pyx.__version__,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load": [round(load_before, 2), round(load_after, 2)],
                },
            }
        )
    )


if __name__ == "__main__":
    main()
