"""The canonical typed form of a Convex document, and the order-independent table digest.

Why: a drill re-exports the restored deployment and compares per-table digests with the stored
manifest. The re-export may use another value encoding (uniform vs legacy) and another document
order, so the digest is computed over typed values, never over the bytes of the snapshot.

Canonical form of one document (the uniform encoding, normalised):
- Int64 -> JSON integer; finite float64 -> JSON number with Python's shortest round-trip repr
  (always with ``.`` or ``e``, so ``1`` and ``1.0`` stay distinct);
- NaN, +/-Infinity and -0.0 -> ``{"$float": base64(little-endian f64)}``, NaN always the quiet
  NaN ``0x7ff8000000000000`` (payload bits are not data);
- bytes -> ``{"$bytes": standard padded base64}``; strings, booleans, null, arrays as is;
- objects with keys sorted, compact separators, UTF-8 (no ``\\u`` escapes).
Legacy values are typed with the table's generated-schema shape (``deedbox.convex.shapes``);
a field whose type cannot be determined is kept as the raw legacy JSON value (numbers as floats)
and counted in ``Digest.untyped``.

Table digest: sha256 of each canonical document read as a 256-bit integer, summed mod 2**256,
as 64 hex digits. A sum is order independent but (unlike XOR) still changes when a document is
duplicated. An empty table digests to 64 zeros.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from typing import Any

from deedbox.convex.shapes import ANY, Shape

_MOD = 1 << 256
_NAN_B64 = base64.b64encode(struct.pack("<d", math.nan)).decode("ascii")
_SPECIAL_STRINGS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode


def float_value(f: float) -> Any:
    """A float in canonical form: plain when JSON can carry it, else the ``$float`` object."""
    if math.isnan(f):
        return {"$float": _NAN_B64}
    if math.isinf(f) or (f == 0.0 and math.copysign(1.0, f) < 0):
        return {"$float": base64.b64encode(struct.pack("<d", f)).decode("ascii")}
    return f


def _norm_uniform(v: Any) -> Any:
    if type(v) is float:
        return float_value(v)
    if type(v) is list:
        return [_norm_uniform(x) for x in v]
    if type(v) is dict:
        if len(v) == 1 and "$float" in v:
            (f,) = struct.unpack("<d", base64.b64decode(v["$float"]))
            return float_value(f)
        return {k: _norm_uniform(x) for k, x in v.items()}
    return v


def canonical_uniform(line: bytes, doc: dict) -> bytes:
    """Canonical bytes of a document already parsed from a uniform-encoding line."""
    if b"$float" in line or b"-0" in line:
        doc = _norm_uniform(doc)
    return _dumps(doc).encode("utf-8")


class LegacyTyper:
    """Types legacy documents with a table shape and per-document overrides."""

    def __init__(self, shape: Shape | None, overrides: dict[str, Shape] | None = None) -> None:
        self.shape = shape or ANY
        self.overrides = overrides or {}
        self.untyped = 0

    def to_typed(self, doc: dict) -> dict:
        shape = self.shape
        doc_id = doc.get("_id")
        override = self.overrides.get(doc_id) if self.overrides and doc_id is not None else None
        if override is not None:
            shape = _merge(shape, override)
        return self._value(doc, shape)

    def _value(self, v: Any, shape: Shape) -> Any:
        if shape[0] == "union":
            shape = self._pick(v, shape[1])
        kind = shape[0]
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, (int, float)):
            return float_value(float(v))  # every legacy JSON number is a float64
        if isinstance(v, str):
            return self._string(v, kind)
        if isinstance(v, list):
            return self._array(v, shape)
        if isinstance(v, dict):
            fields = shape[1] if kind == "object" else {}
            return {k: self._value(x, fields.get(k, ANY)) for k, x in v.items()}
        return v

    def _string(self, v: str, kind: str) -> Any:
        if kind == "int64":
            try:
                return int(v)
            except ValueError:
                self.untyped += 1
                return v
        if kind == "bytes":
            return {"$bytes": v}
        if kind == "float64" and v in _SPECIAL_STRINGS:
            return float_value(_SPECIAL_STRINGS[v])
        if kind == "any":
            self.untyped += 1
        return v

    def _array(self, v: list, shape: Shape) -> list:
        if shape[0] == "array":
            return [self._value(x, shape[1]) for x in v]
        if shape[0] == "tuple" and len(shape[1]) == len(v):
            return [self._value(x, s) for x, s in zip(v, shape[1], strict=True)]
        return [self._value(x, ANY) for x in v]

    def _pick(self, v: Any, members: tuple) -> Shape:
        """Choose the union member a JSON value belongs to; ANY when it is ambiguous."""
        if isinstance(v, dict):
            wanted = {"object"}
        elif isinstance(v, list):
            wanted = {"array", "tuple"}
        elif isinstance(v, str):
            if any(m[0] in ("string", "any") or (m[0] == "literal" and m[1] == v)
                   for m in members):
                return ("string",)
            wanted = {"int64", "bytes"} | ({"float64"} if v in _SPECIAL_STRINGS else set())
        else:
            return ANY
        found = [m for m in members if m[0] in wanted]
        if len(found) > 1 and all(m[0] == "array" for m in found):
            return ("array", ("union", tuple(m[1] for m in found)))
        if len(found) > 1 and all(m[0] == "object" for m in found):
            fields: dict[str, list] = {}
            for m in found:
                for k, s in m[1].items():
                    fields.setdefault(k, []).append(s)
            return ("object", {k: s[0] if len(s) == 1 else ("union", tuple(s))
                               for k, s in fields.items()})
        return found[0] if len(found) == 1 else ANY


def _merge(base: Shape, override: Shape) -> Shape:
    if override[0] == "any":
        return base
    if override[0] == "object" and base[0] == "object":
        fields = dict(base[1])
        for k, s in override[1].items():
            fields[k] = _merge(fields.get(k, ANY), s)
        return ("object", fields)
    return override


def canonical_legacy(doc: dict, typer: LegacyTyper) -> bytes:
    """Canonical bytes of a legacy-encoded document."""
    return _dumps(typer.to_typed(doc)).encode("utf-8")


class Digest:
    """Accumulates the order-independent digest and count of one table."""

    __slots__ = ("total", "count")

    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    def add(self, canonical: bytes) -> None:
        self.total += int.from_bytes(hashlib.sha256(canonical).digest(), "big")
        self.count += 1

    def hexdigest(self) -> str:
        return format(self.total % _MOD, "064x")
