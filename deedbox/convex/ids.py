"""Convex document ids: ``VInt(table number) + 16 internal bytes + Fletcher-16 footer`` in base32.

The table number lives inside every ``_id``; that is why an import must give tables their original
numbers, and why the snapshot reader can check each document belongs to the table it sits in.
The base32 alphabet is lowercase Crockford, with the same group/padding rules as RFC 4648, so the
hot path translates to the standard alphabet and lets ``base64.b32decode`` (C code) do the work.
"""

from __future__ import annotations

import base64

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_STANDARD = str.maketrans(ALPHABET, _STANDARD)
_TO_CROCKFORD = str.maketrans(_STANDARD, ALPHABET)
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
    """Return (value, bytes consumed); ValueError if the VInt runs off the end or is too long."""
    value = shift = 0
    for i, byte in enumerate(data[:5]):
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i + 1
    raise ValueError("bad table number in id")


def _fletcher16(data: bytes) -> int:
    c0 = c1 = 0
    for byte in data:
        c0 = (c0 + byte) % 256
        c1 = (c1 + c0) % 256
    return (c1 << 8) | c0


def _footer(body: bytes) -> bytes:
    return (_fletcher16(body) ^ ID_VERSION).to_bytes(2, "little")


def encode_id(table_number: int, internal: bytes) -> str:
    """Encode a document id the way Convex does; ``internal`` must be 16 bytes."""
    if table_number < 0 or table_number >= 2**32:
        raise ValueError(f"table number out of range: {table_number}")
    if len(internal) != INTERNAL_LEN:
        raise ValueError(f"internal id must be {INTERNAL_LEN} bytes, got {len(internal)}")
    body = _vint(table_number) + internal
    raw = base64.b32encode(body + _footer(body)).decode("ascii")
    return raw.rstrip("=").translate(_TO_CROCKFORD)


def decode_id(doc_id: str) -> tuple[int, bytes]:
    """Return ``(table number, internal bytes)``; ValueError on a malformed id or a bad footer."""
    if not isinstance(doc_id, str) or not 31 <= len(doc_id) <= 37:
        raise ValueError(f"not a Convex id: {doc_id!r}")
    pad = _PAD.get(len(doc_id) % 8)
    if pad is None or doc_id.strip(ALPHABET):
        raise ValueError(f"not a Convex id: {doc_id!r}")
    try:
        data = base64.b32decode(doc_id.translate(_TO_STANDARD) + pad)
    except ValueError as err:
        raise ValueError(f"not a Convex id: {doc_id!r}") from err
    table, used = _read_vint(data)
    body, footer = data[:-2], data[-2:]
    if len(body) - used != INTERNAL_LEN:
        raise ValueError(f"not a Convex id (wrong length): {doc_id!r}")
    if footer != _footer(body):
        raise ValueError(f"bad id footer (checksum): {doc_id!r}")
    if encode_id(table, body[used:]) != doc_id:  # non-canonical trailing bits
        raise ValueError(f"non-canonical id: {doc_id!r}")
    return table, body[used:]


def table_number_of(doc_id: str) -> int:
    """The table number carried by a document id (the id is fully validated)."""
    return decode_id(doc_id)[0]
