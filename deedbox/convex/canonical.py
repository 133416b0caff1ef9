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
Legacy values are typed with the table's generated-schema shape and per-document overrides
exactly as convex-backend's import types them (``LegacyTyper``, ``deedbox.convex.shapes``); what
that import would reject raises ValueError. A table whose shape line cannot be read is typed as
with no schema (numbers float64, strings strings) and its strings counted in
``LegacyTyper.untyped``.

Table digest: sha256 of each canonical document read as a 256-bit integer, summed mod 2**256,
as 64 hex digits. A sum is order independent but (unlike XOR) still changes when a document is
duplicated. An empty table digests to 64 zeros.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from typing import Any

from deedbox.convex.shapes import (
    INFER,
    UNKNOWN,
    ExportContext,
    Shape,
    b64decode_standard,
    is_valid_field_name,
    nan_from_context,
)

_MOD = 1 << 256
_NAN_B64 = base64.b64encode(struct.pack("<d", math.nan)).decode("ascii")
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
    """Types legacy documents exactly as convex-backend's snapshot import does.

    ``GeneratedSchema::apply`` and ``ExportContext::apply``/``apply_inner``
    (crates/shape_inference/src/export_context.rs), with the schema read by
    ``parse_generated_schema`` (crates/application/src/snapshot_import/parse.rs):

    - the document's context is its override (keyed by ``_id``; ``overrides.remove``, so it is
      used once), else ``infer``; the table shape is one option, ``unknown`` without a schema;
    - JSON null/bool are themselves; a JSON number is always a float64 (``n.as_f64()``);
    - a string under ``infer`` takes the one context the shape options allow for a string
      (``inferred_context_for_string`` / ``possible_contexts_for_string``): int64 -> Int64,
      ``-inf``/``inf`` -> float64inf, bytes -> Bytes, literal/id/field_name/string -> String;
      when several are possible (``float64`` and ``NaN`` always give two, ``unknown`` five, or
      mixed members) it stays a String; an explicit context is used as is;
    - contexts: ``int64`` = Rust ``i64`` parse, ``float64inf`` = ``"Infinity"``/``"-Infinity"``,
      ``bytes`` = base64 0.13 decode, ``("nan", b)`` = the string must be ``"NaN"``;
    - arrays recurse with the union of the options' element shapes (``array_element``) and an
      ``infer`` or element-by-element (same length) context; objects recurse per field with the
      options' field shapes (``object_field``: object fields, record values, unknown) and an
      ``infer`` or per-field context (missing fields ``infer``; keys must be field names);
    - anything ``apply_inner`` bails on raises ValueError (the import would fail).

    ``untyped`` counts strings typed without their real shape (``fallback``: the shape line could
    not be read, so the values are read as with no schema).
    """

    def __init__(self, shape: Shape | None, overrides: dict[str, ExportContext] | None = None,
                 *, fallback: bool = False) -> None:
        self.shape = shape if shape is not None else UNKNOWN
        self.overrides = dict(overrides or {})
        self.fallback = fallback
        self.untyped = 0
        self._nodes: dict[frozenset, _Node] = {}
        self._root = self._node(frozenset((self.shape,)))

    def _node(self, options: frozenset) -> _Node:
        node = self._nodes.get(options)
        if node is None:
            node = self._nodes[options] = _Node(self, options)
        return node

    def to_typed(self, doc: dict) -> dict:
        doc_id = doc.get("_id")
        ctx = self.overrides.pop(doc_id, INFER) if self.overrides and isinstance(doc_id, str) else INFER
        return self._object(ctx, doc, self._root)

    def _value(self, ctx: ExportContext, v: Any, node: _Node) -> Any:
        t = type(v)
        if v is None or t is bool:
            return v
        if t is str:
            if ctx == INFER:
                ctx = node.string_context
                if self.fallback:
                    self.untyped += 1
            return _string(ctx, v)
        if t is float or t is int:
            return _number(v)
        if t is list:
            if ctx == INFER:
                element = node.element()
                return [self._value(INFER, x, element) for x in v]
            if type(ctx) is tuple and ctx[0] == "array":
                if len(ctx[1]) != len(v):
                    raise ValueError("Array lengths do not match")
                element = node.element()
                return [self._value(c, x, element) for c, x in zip(ctx[1], v, strict=True)]
            raise ValueError("unsupported shape hint for array value")
        if t is dict:
            return self._object(ctx, v, node)
        raise TypeError(f"not a JSON value: {v!r}")

    def _object(self, ctx: ExportContext, v: dict, node: _Node) -> dict:
        if ctx == INFER:
            hints: dict = {}
        elif type(ctx) is tuple and ctx[0] == "object":
            hints = ctx[1]
        else:
            raise ValueError("unsupported shape hint for object value")
        out = {}
        for k, x in v.items():
            out[k] = self._value(hints.get(k, INFER), x, node.field(k))
        return out


_MAX_CACHED_FIELDS = 4096


class _Node:
    """One set of shape options (a ``BTreeSet<&Shape>`` in export_context.rs), with what typing
    needs from it computed once: the inferred string context, element and field options."""

    __slots__ = ("typer", "options", "string_context", "_element", "_fields")

    def __init__(self, typer: LegacyTyper, options: frozenset) -> None:
        self.typer = typer
        self.options = options
        contexts = _string_contexts(options)
        self.string_context = next(iter(contexts)) if len(contexts) == 1 else INFER
        self._element: _Node | None = None
        self._fields: dict[str, _Node] = {}

    def element(self) -> _Node:
        if self._element is None:
            self._element = self.typer._node(frozenset(s for o in self.options for s in _array_element(o)))
        return self._element

    def field(self, key: str) -> _Node:
        node = self._fields.get(key)
        if node is None:
            if not is_valid_field_name(key):  # `key.parse::<FieldName>()?` in apply_inner
                raise ValueError(f"invalid field name {key[:40]!r}")
            node = self.typer._node(frozenset(s for o in self.options for s in _object_field(o, key)))
            if len(self._fields) < _MAX_CACHED_FIELDS:  # records may have unboundedly many keys
                self._fields[key] = node
        return node


def _union_options(shape: Shape) -> tuple:
    """``Shape::union_options`` (export_context.rs): a union's members, else the shape."""
    return shape[1] if shape[0] == "Union" else (shape,)


def _array_element(shape: Shape) -> tuple:
    """``Shape::array_element`` (export_context.rs)."""
    tag = shape[0]
    if tag == "Array":
        return (shape[1],)
    if tag == "Union":
        return tuple(s for m in shape[1] for s in _array_element(m))
    return (shape,) if tag == "Unknown" else ()


def _object_field(shape: Shape, key: str) -> tuple:
    """``Shape::object_field`` (export_context.rs): an object's field (identifier keys only),
    a record's value shape, ``unknown`` itself."""
    tag = shape[0]
    if tag == "Object":
        return tuple(value for name, value, _ in shape[1] if name == key)
    if tag == "Union":
        return tuple(s for m in shape[1] for s in _object_field(m, key))
    if tag == "Record":
        return (shape[2],)
    return (shape,) if tag == "Unknown" else ()


# possible_contexts_for_string (export_context.rs): what a string may be under each member.
_NAN_CONTEXT = ("nan", struct.pack("<d", math.nan))
_STRING_CONTEXTS: dict[str, tuple] = {
    "Int64": ("int64",),
    "NegativeInf": ("float64inf",), "PositiveInf": ("float64inf",),
    "NaN": (_NAN_CONTEXT, "float64inf"), "Float64": (_NAN_CONTEXT, "float64inf"),
    "StringLiteral": (INFER,), "Id": (INFER,), "FieldName": (INFER,), "String": (INFER,),
    "Bytes": ("bytes",),
    "Unknown": (INFER, "float64inf", _NAN_CONTEXT, "int64", "bytes"),
}


def _string_contexts(options: frozenset) -> set:
    return {c for o in options for s in _union_options(o) for c in _STRING_CONTEXTS.get(s[0], ())}


_I64 = re.compile(r"[+-]?[0-9]+")


def _string(ctx: ExportContext, v: str) -> Any:
    """The string arm of ``apply_inner`` (export_context.rs), in canonical form."""
    if ctx == INFER:
        return v
    if ctx == "int64":  # `value.parse::<i64>()`
        if _I64.fullmatch(v) is None or not -(2**63) <= (n := int(v)) < 2**63:
            raise ValueError(f"Unexpected string for i64: {v[:40]!r}")
        return n
    if ctx == "float64inf":
        if v == "Infinity":
            return float_value(math.inf)
        if v == "-Infinity":
            return float_value(-math.inf)
        raise ValueError(f"Unexpected string for f64: {v[:40]!r}")
    if ctx == "bytes":
        return {"$bytes": base64.b64encode(b64decode_standard(v)).decode("ascii")}
    if type(ctx) is tuple and ctx[0] == "nan":
        f = nan_from_context(ctx[1])
        if v != "NaN":
            raise ValueError("Unexpected serialization of a NaN value")
        return float_value(f)
    raise ValueError("unexpected shape hint for string")


def _number(v: float) -> Any:
    """A legacy JSON number is a float64 (``n.as_f64()`` in apply_inner); serde_json rejects a
    number out of f64 range, so an infinite one is an error."""
    try:
        f = float(v)
    except OverflowError:
        raise ValueError("number out of range") from None
    if math.isinf(f):
        raise ValueError("number out of range")
    return float_value(f)


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
