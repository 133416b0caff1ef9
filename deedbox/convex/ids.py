"""Convex document ids: ``VInt(table number) + 16 internal bytes + Fletcher-16 footer`` in base32.

The table number lives inside every ``_id``; that is why an import must give tables their original
numbers, and why the snapshot reader can check each document belongs to the table it sits in.
The base32 alphabet is lowercase Crockford, with the same group/padding rules as RFC 4648 (the
last partial 5-byte group is cut to 2/4/5/7 characters), so encoding reuses ``base64.b32encode``.
"""

from __future__ import annotations

import base64
import operator

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_STANDARD = str.maketrans(ALPHABET, _STANDARD)
_TO_CROCKFORD = str.maketrans(_STANDARD, ALPHABET)
_TO_INT_DIGITS = str.maketrans(ALPHABET, "0123456789abcdefghijklmnopqrstuv")
_PAD = {0: "", 2: "======", 4: "====", 5: "===", 7: "="}
ID_VERSION = 0
INTERNAL_LEN = 16


def _vint(n: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, low bits first, high bit = more bytes follow."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_vint(data: bytes) -> tuple[int, int]:
    """Return (value, bytes consumed), as crates/value/src/id_v6.rs reads it: at most 5 bytes, a u32,
    and the minimal encoding only (the backend re-encodes and compares, so ``81 00`` for 1 is invalid)."""
    value = shift = 0
    for i, byte in enumerate(data[:5]):
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if value >= 2**32 or _vint(value) != data[:i + 1]:
                raise ValueError("bad table number in id")
            return value, i + 1
    raise ValueError("bad table number in id")


def _fletcher16(data: bytes) -> int:
    """Fletcher-16 (c0 += byte, c1 += c0, mod 256), in closed form: c1 = sum((n - i) * b_i).

    The closed form lets C loops (``sum``/``map``) do the work on the reader's hot path.
    """
    n = len(data)
    c0 = sum(data) & 0xFF
    c1 = sum(map(operator.mul, range(n, 0, -1), data)) & 0xFF
    return (c1 << 8) | c0


def _footer(body: bytes) -> bytes:
    return (_fletcher16(body) ^ ID_VERSION).to_bytes(2, "little")


def encode_id(table_number: int, internal: bytes) -> str:
    """Encode a document id the way Convex does; ``internal`` must be 16 bytes."""
    if table_number < 1 or table_number >= 2**32:  # TableNumber is a nonzero u32 (table_name.rs)
        raise ValueError(f"table number out of range: {table_number}")
    if len(internal) != INTERNAL_LEN:
        raise ValueError(f"internal id must be {INTERNAL_LEN} bytes, got {len(internal)}")
    body = _vint(table_number) + internal
    raw = base64.b32encode(body + _footer(body)).decode("ascii")
    return raw.rstrip("=").translate(_TO_CROCKFORD)


def decode_id(doc_id: str) -> tuple[int, bytes]:
    """Return ``(table number, internal bytes)``; ValueError on a malformed id or a bad footer.

    Hot path of the snapshot reader: the id is read as one base-32 integer by ``int(..., 32)``
    (C code) after mapping Crockford's alphabet onto Python's digits.
    """
    if not isinstance(doc_id, str) or not 31 <= len(doc_id) <= 37 or len(doc_id) % 8 not in _PAD \
            or doc_id.strip(ALPHABET):
        raise ValueError(f"not a Convex id: {doc_id!r}")
    bits = 5 * len(doc_id)
    value = int(doc_id.translate(_TO_INT_DIGITS), 32)
    spare = bits % 8
    if value & ((1 << spare) - 1):
        raise ValueError(f"non-canonical id: {doc_id!r}")
    data = (value >> spare).to_bytes(bits // 8, "big")
    table, used = _read_vint(data)
    if table == 0:
        raise ValueError(f"not a Convex id (table number 0): {doc_id!r}")
    body, footer = data[:-2], data[-2:]
    if len(body) - used != INTERNAL_LEN:
        raise ValueError(f"not a Convex id (wrong length): {doc_id!r}")
    if footer != _footer(body):
        raise ValueError(f"bad id footer (checksum): {doc_id!r}")
    return table, body[used:]


def table_number_of(doc_id: str) -> int:
    """The table number carried by a document id (the id is fully validated)."""
    return decode_id(doc_id)[0]
