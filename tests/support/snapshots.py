"""Build real-format Convex snapshot ZIPs for tests and benchmarks, independently of deedbox.

This module deliberately re-implements the id encoder (bit by bit, from the reference) and the
value encodings instead of importing ``deedbox.convex``: a second implementation catches bugs
the first would share with its own tests.

Documents are given as TYPED Python values: ``Int64(5)`` or a plain ``int`` is an Int64,
``float`` is a float64 (``1.0``, ``-0.0``, ``nan``, ``inf``), ``bytes`` are bytes.
Tables can also be given as raw, already-encoded JSON lines (the test server does that).
``encoding="legacy"`` writes what convex-backend's legacy exporter wrote (values as
``export_clean`` encodes them; ``generated_schema.jsonl`` from a port of its shape inference,
printer and export contexts, see ``legacy_schema_lines``). Document lines keep this module's
``", "``/``": "`` separators and Python float spelling (``1e+16``); the Rust exporter wrote
compact serde_json (``1e16``), which parses to the same values.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import random
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
README = "# Welcome to your Convex snapshot export!\n\nThis ZIP file contains a snapshot of the tables in your Convex deployment.\n"
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "video/mp4": ".mp4", "text/plain": ".txt"}
STORAGE_TABLE_NUMBER = 8


def make_id(table_number: int, internal: bytes) -> str:
    """Convex document id, written from the reference without sharing code with deedbox."""
    vint = []
    n = table_number
    while n >= 0x80:
        vint.append((n & 0x7F) | 0x80)
        n >>= 7
    vint.append(n)
    body = bytes(vint) + internal
    c0 = c1 = 0
    for b in body:
        c0 = (c0 + b) & 0xFF
        c1 = (c1 + c0) & 0xFF
    data = body + bytes([c0, c1])  # (c1 << 8 | c0) little-endian
    out = []
    for start in range(0, len(data), 5):
        group = data[start:start + 5]
        bits = int.from_bytes(group + bytes(5 - len(group)), "big")
        chars = [CROCKFORD[(bits >> (35 - 5 * i)) & 31] for i in range(8)]
        out.append("".join(chars[: {1: 2, 2: 4, 3: 5, 4: 7, 5: 8}[len(group)]]))
    return "".join(out)


class IdMaker:
    """Seeded id source, so fixtures are reproducible."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def __call__(self, table_number: int) -> str:
        return make_id(table_number, self.rng.randbytes(16))


# ---- value encodings ------------------------------------------------------------------------
def uniform(v: Any) -> Any:
    """Typed value -> uniform-encoding JSON value."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return {"$float": base64.b64encode(struct.pack("<d", v)).decode()}
        return v  # json writes -0.0 as "-0.0"
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, list):
        return [uniform(x) for x in v]
    return {k: uniform(x) for k, x in v.items()}


def legacy(v: Any) -> Any:
    """Typed value -> legacy-encoding JSON value, as ``ConvexValue::export_clean`` wrote it
    (crates/value/src/export.rs; the legacy zip exporter used ``ValueFormat::ConvexCleanJSON``,
    crates/exports/src/zip_uploader.rs before e48298f5b): Int64 -> decimal string, NaN -> "NaN",
    +/-inf -> "Infinity"/"-Infinity", other floats -> JSON numbers (always float64, "1.0"),
    bytes -> standard padded base64 (base64 0.13 ``encode``)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, list):
        return [legacy(x) for x in v]
    return {k: legacy(v[k]) for k in sorted(v)}


# ---- legacy generated_schema.jsonl: a port of convex-backend's shape inference ---------------------
# What the legacy exporter wrote (crates/exports/src/lib.rs `write_table` and zip_uploader.rs
# `write_generated_schema`, both as of e48298f5b^): line 1 = JSON string of the table summary's
# inferred shape (a CountedShape built by inserting every document, printed structurally); then,
# only if `ExportContext::is_ambiguous(shape)`, one line `{"<id>": <context>}` per document whose
# `ExportContext::of_object(doc, shape)` is not `infer`, in `DeveloperDocumentId` order (table,
# then internal id bytes), each written with serde_json (compact).
#
# A shape is (variant, count); a variant is a tuple whose first item is the ShapeEnum variant's
# index (crates/shape_inference/src/lib.rs), so Python's tuple order is the derived Ord:
#   (_LITERAL, s)  (_ID, table)  (_ARRAY, elem)  (_OBJECT, ((name, (value, optional)), ...))
#   (_RECORD, field, value)  (_UNION, (members sorted))  (tag,) for the rest.
(_NEVER, _NULL, _INT64, _NEGINF, _POSINF, _NEGZERO, _NAN, _NORMAL, _FLOAT64, _BOOLEAN, _LITERAL, _ID,
 _FIELDNAME, _STRING, _BYTES, _ARRAY, _OBJECT, _RECORD, _UNION, _UNKNOWN) = range(20)
_FLOATS = (_NEGINF, _POSINF, _NEGZERO, _NAN, _NORMAL, _FLOAT64)
# ShapeConfig (crates/shape_inference/src/config.rs): ProdConfig unless a test swaps it (the Rust
# tests' SmallTestConfig, to check this port against their expected strings).
_CONFIG: dict[str, Any] = {}
_EMPTY = ((_NEVER,), 0)
_UNIT_TEXT = {_NEVER: "never", _NULL: "null", _INT64: "int64", _FLOAT64: "float64", _NEGINF: "-inf",
              _POSINF: "inf", _NEGZERO: "-0", _NAN: "NaN", _NORMAL: "normalfloat64", _BOOLEAN: "boolean",
              _FIELDNAME: "field_name", _STRING: "string", _BYTES: "bytes", _UNKNOWN: "unknown"}


def _is_identifier(s: str) -> bool:
    """crates/convex/sync_types/src/identifier.rs `is_valid_identifier`."""
    return (0 < len(s) <= 64 and s.isascii() and (s[0].isalpha() or s[0] == "_")
            and all(c.isalnum() or c == "_" for c in s) and s.strip("_") != "")


@contextlib.contextmanager
def shape_config(max_union_length: int, max_object_fields: int,
                 is_valid_string_literal: Callable[[str], bool]) -> Iterator[None]:
    """Infer shapes with another ShapeConfig (e.g. SmallTestConfig: 2, 2, <=4 ASCII letters)."""
    saved = dict(_CONFIG)
    _CONFIG.update(union=max_union_length, fields=max_object_fields, literal=is_valid_string_literal)
    try:
        yield
    finally:
        _CONFIG.update(saved)


def _is_field_name(s: str) -> bool:
    """crates/convex/sync_types/src/identifier.rs `is_valid_field_name`."""
    return not s.startswith("$") and len(s) <= 1024 and all(" " <= c <= "~" for c in s)


_CONFIG.update(union=16, fields=64, literal=_is_identifier)  # ProdConfig


def _decode_id(s: str) -> tuple[int, bytes] | None:
    """`DeveloperDocumentId::decode` (crates/value/src/id_v6.rs): (table, internal id) or None."""
    if not 31 <= len(s) <= 37 or any(c not in CROCKFORD for c in s):
        return None
    bits = nbits = 0
    data = bytearray()
    for ch in s:
        bits, nbits = (bits << 5) | CROCKFORD.index(ch), nbits + 5
        if nbits >= 8:
            nbits -= 8
            data.append((bits >> nbits) & 0xFF)
    table = shift = used = 0
    for i, b in enumerate(data[:5]):
        table |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            used = i + 1
            break
    if not used or not 0 < table < 2**32 or len(data) < used + 16:
        return None
    internal = bytes(data[used:used + 16])
    return (table, internal) if make_id(table, internal) == s else None


def _string_variant(s: str) -> tuple:
    """`StringLiteralShape::shape_of` with ProdConfig (crates/shape_inference/src/string.rs)."""
    if _CONFIG["literal"](s):
        return (_LITERAL, s)
    decoded = _decode_id(s)
    if decoded is not None:
        return (_ID, decoded[0])
    return (_FIELDNAME,) if _is_field_name(s) else (_STRING,)


def _float_variant(f: float) -> tuple:
    """`Float64Shape::shape_of` (crates/shape_inference/src/float64.rs)."""
    if math.isnan(f):
        return (_NAN,)
    if math.isinf(f):
        return (_POSINF,) if f > 0 else (_NEGINF,)
    if struct.pack("<d", f) == struct.pack("<d", -0.0):
        return (_NEGZERO,)
    return (_NORMAL,)


def _shape_of(v: Any) -> tuple:
    """`CountedShape::shape_of` (crates/shape_inference/src/lib.rs, array.rs, object.rs)."""
    if v is None:
        return ((_NULL,), 1)
    if isinstance(v, bool):
        return ((_BOOLEAN,), 1)
    if isinstance(v, int):
        return ((_INT64,), 1)
    if isinstance(v, float):
        return (_float_variant(v), 1)
    if isinstance(v, str):
        return (_string_variant(v), 1)
    if isinstance(v, (bytes, bytearray)):
        return ((_BYTES,), 1)
    if isinstance(v, list):
        elements: set = set()
        for x in v:
            elements = _push(elements, _shape_of(x))
        return ((_ARRAY, _build(elements)), 1)
    if len(v) <= _CONFIG["fields"] and all(_is_identifier(k) for k in v):
        return ((_OBJECT, tuple((k, (_shape_of(v[k]), False)) for k in sorted(v))), 1)
    fields: set = set()
    values: set = set()
    for k in sorted(v):
        fields = _push(fields, (_string_variant(k), 1))
        values = _push(values, _shape_of(v[k]))
    return ((_RECORD, _build(fields), _build(values)), 1)


def _merge(a: tuple, b: tuple) -> tuple | None:
    """`CountedShape::merge_if_subtype` (crates/shape_inference/src/subtype.rs): a merged into b
    when a's variant is a subtype of b's, else None."""
    (va, ca), (vb, cb) = a, b
    ta, tb = va[0], vb[0]
    variant: tuple | None = None
    if ta == _NEVER:
        variant = vb
    elif ta == _UNION:
        acc = b
        for member in va[1]:
            merged = _merge(member, acc)
            if merged is None:
                return None
            acc = merged
        return acc
    elif ta == tb and ta in (_NULL, _INT64, _BOOLEAN, _BYTES, _FIELDNAME, _STRING, _FLOAT64):
        variant = va
    elif ta == _LITERAL and tb in (_LITERAL, _ID, _FIELDNAME, _STRING):
        if tb == _LITERAL:
            if va[1] != vb[1]:
                return None
        elif tb == _ID:
            decoded = _decode_id(va[1])
            if decoded is None or decoded[0] != vb[1]:
                return None
        elif tb == _FIELDNAME and not _is_field_name(va[1]):
            return None
        variant = va if tb == _LITERAL else vb
    elif ta == _ID and tb in (_ID, _FIELDNAME, _STRING):
        if tb == _ID and va[1] != vb[1]:
            return None
        variant = vb
    elif (ta, tb) == (_FIELDNAME, _STRING) or (ta in _FLOATS and tb in (ta, _FLOAT64)):
        variant = vb
    elif ta == tb == _ARRAY:
        element = _merge(va[1], vb[1])
        if element is None:
            return None
        variant = (_ARRAY, element)
    elif ta == tb == _OBJECT:
        mine, theirs = dict(va[1]), dict(vb[1])
        fields = {}
        for name, (value, optional) in mine.items():
            if name not in theirs:
                return None
            other_value, other_optional = theirs[name]
            if optional and not other_optional:
                return None
            merged = _merge(value, other_value)
            if merged is None:
                return None
            fields[name] = (merged, other_optional)
        for name, field in theirs.items():
            if name not in mine:
                if not field[1]:
                    return None
                fields[name] = field
        variant = (_OBJECT, tuple(sorted(fields.items())))
    elif ta == _OBJECT and tb == _RECORD:
        field_shape, value_shape = vb[1], vb[2]
        for name, (value, _) in va[1]:
            merged_field = _merge((_string_variant(name), value[1]), field_shape)
            merged_value = _merge(value, value_shape) if merged_field is not None else None
            if merged_field is None or merged_value is None:
                return None
            field_shape, value_shape = merged_field, merged_value
        variant = (_RECORD, field_shape, value_shape)
    elif ta == tb == _RECORD:
        field_shape, value_shape = _merge(va[1], vb[1]), _merge(va[2], vb[2])
        if field_shape is None or value_shape is None:
            return None
        variant = (_RECORD, field_shape, value_shape)
    elif tb == _UNION:
        for member in vb[1]:
            merged = _merge(a, member)
            if merged is not None:
                rest = set(vb[1])
                rest.remove(member)
                return _build(_push(rest, merged))
        return None
    elif tb == _UNKNOWN:
        variant = vb
    if variant is None:
        return None
    return (variant, ca + cb)


def _may_overlap(va: tuple, vb: tuple) -> bool:
    """`ShapeEnum::may_overlap` (crates/shape_inference/src/overlaps.rs)."""
    if va == vb:
        return True
    ta, tb = va[0], vb[0]
    if ta == tb and ta in (_ARRAY, _RECORD):
        return True
    if ta == tb == _OBJECT:
        mine, theirs = dict(va[1]), dict(vb[1])
        left = any(not f[1] and n not in theirs for n, f in mine.items())
        right = any(not f[1] and n not in mine for n, f in theirs.items())
        return not (left or right)
    if {ta, tb} == {_OBJECT, _RECORD}:
        return True
    return _UNION in (ta, tb) or _UNKNOWN in (ta, tb)


def _push(variants: set, new: tuple) -> set:
    """`UnionBuilder::push` (crates/shape_inference/src/union.rs)."""
    if new[1] == 0:
        return variants
    if new[0][0] == _UNION:
        for member in new[0][1]:
            variants = _push(variants, member)
        return variants
    if not variants:
        return {new}
    out = set()
    found = False
    for existing in sorted(variants):
        merged = None if found else _merge(new, existing)
        if merged is not None:
            found = True
            out.add(merged)
        else:
            out.add(existing)
    if found:
        return out
    return _contract(_add_new_shape(out, new), _CONFIG["union"])


def _add_new_shape(shapes: set, new: tuple) -> set:
    """`UnionBuilder::add_new_shape` (union.rs)."""
    while True:
        no_subtypes = []
        for existing in sorted(shapes):
            merged = _merge(existing, new)
            if merged is not None:
                new = merged
            else:
                no_subtypes.append(existing)
        overlapping = [s for s in no_subtypes if _may_overlap(s[0], new[0])]
        if not overlapping:
            return set(no_subtypes) | {new}
        shapes = {s for s in no_subtypes if s not in overlapping}
        new = min(_contract(set(overlapping) | {new}, 1))


def _contract(shapes: set, goal: int) -> set:
    """`UnionBuilder::contract` (union.rs)."""
    ordered = sorted(shapes)
    while len(ordered) > goal:
        initial = len(ordered)
        for candidate, merged in _supertype_candidates(ordered):
            contracted = _add_new_shape({s for i, s in enumerate(ordered) if i not in merged}, candidate)
            if len(contracted) < initial:
                ordered = sorted(contracted)
                break
        assert len(ordered) < initial
    return set(ordered)


def _build(variants: set) -> tuple:
    """`UnionBuilder::build` (union.rs)."""
    if not variants:
        return _EMPTY
    if len(variants) == 1:
        return next(iter(variants))
    return ((_UNION, tuple(sorted(variants))), sum(s[1] for s in variants))


def _supertype_candidates(types: list) -> Iterator[tuple[tuple, list[int]]]:
    """`supertype_candidates` (crates/shape_inference/src/supertype.rs), lazily, in its order."""
    def total(indexes: list[int]) -> int:
        return sum(types[i][1] for i in indexes)

    def of(tags: tuple, extra: Any = None) -> list[int]:
        return [i for i, t in enumerate(types) if t[0][0] in tags or (extra and extra(t[0]))]

    arrays = of((_ARRAY,))
    if len(arrays) >= 2:
        element: set = set()
        for i in arrays:
            element = _push(element, types[i][0][1])
        yield ((_ARRAY, _build(element)), total(arrays)), arrays
    any_record = any(t[0][0] == _RECORD for t in types)
    if any_record:
        record = _record_candidate(types)
        if record:
            yield record
    by_table: dict[int, list[int]] = {}
    for i, t in enumerate(types):
        if t[0][0] == _LITERAL and (decoded := _decode_id(t[0][1])) is not None:
            by_table.setdefault(decoded[0], []).append(i)
        if t[0][0] == _ID:
            by_table.setdefault(t[0][1], []).append(i)
    for table in sorted(by_table):
        if len(by_table[table]) >= 2:
            yield ((_ID, table), total(by_table[table])), by_table[table]
    field_names = of((_ID, _FIELDNAME), lambda v: v[0] == _LITERAL and _is_field_name(v[1]))
    if len(field_names) >= 2:
        yield ((_FIELDNAME,), total(field_names)), field_names
    strings = of((_LITERAL, _ID, _FIELDNAME, _STRING))
    if len(strings) >= 2:
        yield ((_STRING,), total(strings)), strings
    floats = of(_FLOATS)
    if len(floats) >= 2:
        yield ((_FLOAT64,), total(floats)), floats
    obj = _object_candidate(types)
    if obj:
        yield obj
    if not any_record:
        record = _record_candidate(types)
        if record:
            yield record
    yield ((_UNKNOWN,), total(list(range(len(types))))), list(range(len(types)))


def _object_candidate(types: list) -> tuple | None:
    """`object_candidate` (supertype.rs)."""
    indexes = [i for i, t in enumerate(types) if t[0][0] == _OBJECT]
    if len(indexes) < 2:
        return None
    builders: dict[str, set] = {}
    optional: set[str] = set()
    num_values = 0
    for j in indexes:
        fields = dict(types[j][0][1])
        for name, (value, is_optional) in types[j][0][1]:
            if is_optional:
                optional.add(name)
            if name not in builders:
                if num_values > 0:
                    optional.add(name)
                builders[name] = set()
            builders[name] = _push(builders[name], value)
        optional.update(name for name in builders if name not in fields)
        num_values += types[j][1]
    if len(builders) > _CONFIG["fields"]:
        return None
    fields_out = tuple((name, (_build(builders[name]), name in optional)) for name in sorted(builders))
    return ((_OBJECT, fields_out), num_values), indexes


def _record_candidate(types: list) -> tuple | None:
    """`record_candidate` (supertype.rs)."""
    field_union: set = set()
    value_union: set = set()
    indexes = []
    for i, t in enumerate(types):
        if t[0][0] == _RECORD:
            field_union = _push(field_union, t[0][1])
            value_union = _push(value_union, t[0][2])
            indexes.append(i)
        if t[0][0] == _OBJECT:
            for name, (value, _) in t[0][1]:
                field_union = _push(field_union, (_string_variant(name), value[1]))
                value_union = _push(value_union, value)
            indexes.append(i)
    if len(indexes) < 2:
        return None
    return ((_RECORD, _build(field_union), _build(value_union)), sum(types[i][1] for i in indexes)), indexes


def table_shape(docs: Iterable[dict]) -> tuple:
    """The table summary's inferred shape after inserting ``docs`` into an empty table
    (`CountedShape::insert`, crates/shape_inference/src/lib.rs)."""
    shape = _EMPTY
    for doc in docs:
        variants = set(shape[0][1]) if shape[0][0] == _UNION else _push(set(), shape)
        shape = _build(_push(variants, _shape_of(doc)))
    return shape


def _structural(shape: tuple) -> tuple:
    """`From<&CountedShape> for StructuralShape` (lib.rs): counts dropped, unions re-sorted."""
    v = shape[0]
    tag = v[0]
    if tag == _ARRAY:
        v = (_ARRAY, _structural(v[1]))
    elif tag == _OBJECT:
        v = (_OBJECT, tuple((n, (_structural(s), o)) for n, (s, o) in v[1]))
    elif tag == _RECORD:
        v = (_RECORD, _structural(v[1]), _structural(v[2]))
    elif tag == _UNION:
        v = (_UNION, tuple(sorted(_structural(m) for m in v[1])))
    return (v, 0)


def print_shape(shape: tuple) -> str:
    """`impl Display for ShapeEnum` (crates/shape_inference/src/pretty.rs), of a structural shape."""
    v = shape[0]
    tag = v[0]
    if tag in _UNIT_TEXT:
        return _UNIT_TEXT[tag]
    if tag == _LITERAL:
        return json.dumps(v[1])  # `{:?}`: valid literals need no escapes
    if tag == _ID:
        return f"id<{v[1]}>"
    if tag == _ARRAY:
        return f"array<{print_shape(v[1])}>"
    if tag == _OBJECT:
        return "{" + ", ".join(f'"{n}"{"?" if o else ""}: {print_shape(s)}' for n, (s, o) in v[1]) + "}"
    if tag == _RECORD:
        return f"record<{print_shape(v[1])}, {print_shape(v[2])}>"
    return " | ".join(print_shape(m) for m in v[1])


# ---- export contexts: ExportContext::of_object and friends (export_context.rs, e48298f5b^) ----------
def _union_options(s: tuple) -> tuple:
    return s[0][1] if s[0][0] == _UNION else (s,)


def _array_element(s: tuple) -> tuple:
    tag = s[0][0]
    if tag == _ARRAY:
        return (s[0][1],)
    if tag == _UNION:
        return tuple(e for m in s[0][1] for e in _array_element(m))
    return (s,) if tag == _UNKNOWN else ()


def _object_field(s: tuple, key: str) -> tuple:
    tag = s[0][0]
    if tag == _OBJECT:
        return tuple(f[0] for n, f in s[0][1] if n == key) if _is_identifier(key) else ()
    if tag == _UNION:
        return tuple(e for m in s[0][1] for e in _object_field(m, key))
    if tag == _RECORD:
        return (s[0][2],)
    return (s,) if tag == _UNKNOWN else ()


def _specified_fields(s: tuple) -> tuple:
    tag = s[0][0]
    if tag == _UNION:
        return tuple(n for m in s[0][1] for n in _specified_fields(m))
    return tuple(n for n, _ in s[0][1]) if tag == _OBJECT else ()


def _unspecified_field(s: tuple) -> tuple:
    tag = s[0][0]
    if tag == _UNION:
        return tuple(e for m in s[0][1] for e in _unspecified_field(m))
    if tag == _RECORD:
        return (s[0][2],)
    return (s,) if tag == _UNKNOWN else ()


_NAN_CTX = "nan"  # stands for Float64NaN{f64::NAN} in the comparisons below
_STRING_CTX = {_INT64: ("int64",), _NEGINF: ("float64inf",), _POSINF: ("float64inf",),
               _NAN: (_NAN_CTX, "float64inf"), _FLOAT64: (_NAN_CTX, "float64inf"),
               _LITERAL: ("infer",), _ID: ("infer",), _FIELDNAME: ("infer",), _STRING: ("infer",),
               _BYTES: ("bytes",), _UNKNOWN: ("infer", "float64inf", _NAN_CTX, "int64", "bytes")}


def _string_contexts(options: frozenset) -> set:
    """`possible_contexts_for_string` (deduplicated)."""
    return {c for o in options for s in _union_options(o) for c in _STRING_CTX.get(s[0][0], ())}


def _inferred(options: frozenset) -> bool:
    """`inferred_context_for_string(..).is_some()`."""
    return len(_string_contexts(options)) == 1


_AMBIGUOUS: dict[frozenset, bool] = {}


def _is_ambiguous(options: frozenset) -> bool:
    """`ExportContext::is_ambiguous_inner`."""
    if not options:
        return False
    known = _AMBIGUOUS.get(options)
    if known is not None:
        return known
    result = (len(_string_contexts(options)) >= 2
              or _is_ambiguous(frozenset(e for o in options for e in _array_element(o)))
              or any(s[0][0] == _UNKNOWN for o in options for s in _union_options(o))
              or _is_ambiguous(frozenset(e for o in options for e in _unspecified_field(o)))
              or any(_is_ambiguous(frozenset(e for o in options for e in _object_field(o, name)))
                     for name in sorted({n for o in options for n in _specified_fields(o)})))
    _AMBIGUOUS[options] = result
    return result


def _context_of(v: Any, options: frozenset) -> Any:
    """`ExportContext::of_inner`, as the JSON `From<ExportContext> for JsonValue` writes it."""
    if not _is_ambiguous(options):
        return "infer"
    if v is None or isinstance(v, (bool, str)):
        return "infer"
    if isinstance(v, int):
        return "infer" if _inferred(options) else "int64"
    if isinstance(v, float):
        if math.isnan(v):
            return {"$float64NaN": base64.b64encode(struct.pack("<d", v)).decode()}
        if math.isinf(v):
            return "infer" if _inferred(options) else "float64inf"
        return "infer"
    if isinstance(v, (bytes, bytearray)):
        return "infer" if _inferred(options) else "bytes"
    if isinstance(v, list):
        inner = frozenset(e for o in options for e in _array_element(o))
        contexts = [_context_of(x, inner) for x in v]
        return "infer" if all(c == "infer" for c in contexts) else contexts
    return _object_context(v, options)


def _object_context(doc: dict, options: frozenset) -> Any:
    """`ExportContext::of_object_inner`."""
    if not _is_ambiguous(options):
        return "infer"
    out = {}
    for key in sorted(doc):
        ctx = _context_of(doc[key], frozenset(e for o in options for e in _object_field(o, key)))
        if ctx != "infer":
            out[key] = ctx
    return out or "infer"


def legacy_schema_lines(docs: list[dict]) -> list[str]:
    """The ``generated_schema.jsonl`` lines the legacy exporter wrote for a table of ``docs``."""
    shape = _structural(table_shape(docs))
    lines = [json.dumps(print_shape(shape))]
    options = frozenset([shape])
    if _is_ambiguous(options):  # crates/exports/src/lib.rs write_table: `if is_ambiguous`
        overrides: dict[str, Any] = {}
        for doc in docs:
            ctx = _object_context(doc, options)
            if ctx != "infer":
                overrides[doc["_id"]] = ctx
        for doc_id in sorted(overrides, key=lambda i: _decode_id(i) or (0, i.encode())):
            lines.append(json.dumps({doc_id: overrides[doc_id]}, separators=(",", ":")))
    return lines


# ---- building ZIPs -------------------------------------------------------------------------
@dataclass
class Table:
    name: str
    number: int
    docs: Iterable[dict] = ()  # typed documents including _id and _creationTime
    component: str = ""
    raw_lines: Iterable[bytes] | None = None  # already encoded (overrides docs)
    schema_lines: list[str] | None = None  # for raw tables; None -> '"uniform"'


@dataclass
class StoredFile:
    id: str
    data: bytes
    content_type: str = "image/png"
    component: str = ""
    creation_time: float = 1_700_000_000_000.0

    def document(self) -> dict:
        return {"_id": self.id, "_creationTime": self.creation_time,
                "sha256": base64.b64encode(hashlib.sha256(self.data).digest()).decode(),
                "size": len(self.data), "contentType": self.content_type,
                "internalId": hashlib.md5(self.id.encode()).hexdigest()}


def prefix(component: str) -> str:
    return "".join(f"_components/{c}/" for c in component.split("/") if c)


def build_snapshot(dest: str | IO[bytes], tables: list[Table], *, encoding: str = "uniform",
                   files: Iterable[StoredFile] = (), shuffle_seed: int | None = None,
                   readme: bool = True, with_tables_index: bool = True,
                   with_schema: bool = True) -> None:
    """Write a snapshot ZIP in the real export layout, streaming documents entry by entry."""
    files = list(files)
    comps = sorted({t.component for t in tables} | {f.component for f in files} | {""})
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        if readme:
            zf.writestr("README.md", README)
        for comp in comps:
            mine = [t for t in tables if t.component == comp]
            if with_tables_index:
                index = "".join(json.dumps({"name": t.name, "id": t.number}) + "\n" for t in mine)
                zf.writestr(prefix(comp) + "_tables/documents.jsonl", index)
            for t in mine:
                _write_table(zf, prefix(comp), t, encoding, shuffle_seed, with_schema)
            _write_files(zf, prefix(comp), [f for f in files if f.component == comp])


def _write_table(zf: zipfile.ZipFile, pre: str, t: Table, encoding: str,
                 shuffle_seed: int | None, with_schema: bool) -> None:
    legacy_docs: list[dict] = []
    if t.raw_lines is not None:
        lines: Iterator[bytes] = iter(t.raw_lines)
    else:
        docs = list(t.docs) if shuffle_seed is not None or encoding != "uniform" else t.docs
        if shuffle_seed is not None:
            random.Random(shuffle_seed).shuffle(docs)  # type: ignore[arg-type]
        if encoding != "uniform":
            legacy_docs = docs  # type: ignore[assignment]
        enc = uniform if encoding == "uniform" else legacy
        lines = (json.dumps(enc(d), separators=(", ", ": ")).encode() for d in docs)
    with zf.open(f"{pre}{t.name}/documents.jsonl", "w") as fp:
        for line in lines:
            fp.write(line + b"\n")
    if not with_schema:
        return
    if t.raw_lines is not None:
        schema = t.schema_lines or ['"uniform"']
    else:
        schema = ['"uniform"'] if encoding == "uniform" else legacy_schema_lines(legacy_docs)
    zf.writestr(f"{pre}{t.name}/generated_schema.jsonl", "".join(s + "\n" for s in schema))


def _write_files(zf: zipfile.ZipFile, pre: str, files: list[StoredFile]) -> None:
    if not files:
        return
    zf.writestr(pre + "_storage/documents.jsonl",
                "".join(json.dumps(f.document()) + "\n" for f in files))
    for f in files:
        zf.writestr(pre + "_storage/" + f.id + EXTENSIONS.get(f.content_type, ""), f.data)


def snapshot_bytes(tables: list[Table], **kw: Any) -> bytes:
    import io
    buf = io.BytesIO()
    build_snapshot(buf, tables, **kw)
    return buf.getvalue()


# ---- a community-platform dataset ------------------------------------------------------------
WORDS = ["welcome", "coaching", "course", "lesson", "event", "live", "replay", "challenge", "streak", "points", "member", "post", "comment", "reply", "like", "share", "video", "recording", "module", "quiz", "badge", "level", "community", "guild", "morning", "evening", "weekly", "goal", "progress", "habit", "journal", "question", "answer", "thanks", "great"]
COMMUNITY_TABLES = ("users", "posts", "comments", "courses", "lessons", "events", "points")


def community_tables(n_docs: int, *, seed: int = 7, body_words: int = 30,
                     component: str = "") -> list[Table]:
    """A seeded dataset shaped like the platform: ~n_docs documents over seven tables.

    Documents are generated lazily (a benchmark can stream hundreds of MB); ids reference each
    other (posts.authorId -> users, comments.postId -> posts...). Mixes Int64 counters, floats,
    bytes (avatar hashes), optional fields and nested objects.
    """
    weights = {"users": 1, "posts": 3, "comments": 6, "courses": 0.1, "lessons": 1,
               "events": 0.4, "points": 4}
    scale = n_docs / sum(weights.values())
    counts = {t: max(1, int(w * scale)) for t, w in weights.items()}
    numbers = {t: 10001 + i for i, t in enumerate(COMMUNITY_TABLES)}
    rng = random.Random(seed)
    ids = {t: [make_id(numbers[t], rng.randbytes(16)) for _ in range(counts[t])]
           for t in ("users", "posts", "courses")}
    return [Table(t, numbers[t], _LazyDocs(t, numbers[t], counts[t], seed, ids, body_words),
                  component) for t in COMMUNITY_TABLES]


class _LazyDocs:
    """Re-iterable, seeded document stream for one table."""

    def __init__(self, table: str, number: int, count: int, seed: int, ids: dict,
                 body_words: int) -> None:
        self.table, self.number, self.count = table, number, count
        self.seed, self.ids, self.body_words = seed, ids, body_words

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict]:
        rng = random.Random(f"{self.seed}-{self.table}")
        own = self.ids.get(self.table)
        for i in range(self.count):
            doc_id = own[i] if own else make_id(self.number, rng.randbytes(16))
            base = {"_id": doc_id, "_creationTime": 1_700_000_000_000.0 + i * 1013.25}
            base.update(_fields(self.table, rng, self.ids, self.body_words, i))
            yield base


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _fields(table: str, rng: random.Random, ids: dict, words: int, i: int) -> dict:
    pick = rng.choice
    if table == "users":
        return {"name": f"member {i}", "email": f"m{i}@guild.example", "level": rng.randrange(1, 40),
                "avatarSha": rng.randbytes(16), "bio": _text(rng, words // 3), "score": rng.random() * 100}
    if table == "posts":
        return {"authorId": pick(ids["users"]), "title": _text(rng, 6), "body": _text(rng, words),
                "likes": rng.randrange(0, 500), "pinned": rng.random() < 0.05,
                "tags": [pick(WORDS) for _ in range(rng.randrange(0, 4))]}
    if table == "comments":
        return {"postId": pick(ids["posts"]), "authorId": pick(ids["users"]),
                "body": _text(rng, words // 2), "edited": rng.random() < 0.1}
    if table == "courses":
        return {"slug": "welcome" if i == 0 else f"course-{i}", "title": _text(rng, 4),
                "price": float(rng.randrange(0, 200)), "published": True}
    if table == "lessons":
        return {"courseId": pick(ids["courses"]), "order": rng.randrange(0, 50),
                "title": _text(rng, 5), "video": {"key": f"courses/{i}.mp4", "seconds": rng.random() * 3600}}
    if table == "events":
        return {"title": _text(rng, 5), "startsAt": 1_700_000_000_000.0 + rng.randrange(10**9),
                "capacity": rng.randrange(10, 500), "recordingKey": None}
    return {"userId": pick(ids["users"]), "delta": rng.randrange(-5, 50),
            "reason": pick(("post", "comment", "lesson", "streak"))}


def id_table_number(doc_id: str) -> int:
    """Decode just the table number of an id (independent of deedbox); ValueError if malformed."""
    bits = nbits = 0
    data = bytearray()
    for ch in doc_id:
        idx = CROCKFORD.find(ch)
        if idx < 0:
            raise ValueError(f"bad id {doc_id!r}")
        bits, nbits = (bits << 5) | idx, nbits + 5
        if nbits >= 8:
            nbits -= 8
            data.append((bits >> nbits) & 0xFF)
    number = shift = 0
    for b in data[:5]:
        number |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return number
    raise ValueError(f"bad id {doc_id!r}")


def documents(number: int, count: int, *, seed: int = 0, pad: int = 0) -> list[dict]:
    """``count`` typed documents of table ``number`` (``title``, Int64 ``n``, optional padding).

    ``pad`` adds an incompressible hex ``body`` of that many characters, to make a ZIP big.
    """
    rng = random.Random(seed * 7919 + number)
    rows = []
    for i in range(count):
        doc: dict[str, Any] = {"_id": make_id(number, rng.randbytes(16)), "_creationTime": 1.7e12 + i * 1.0,
                               "title": f"post {i}", "n": i}
        if pad:
            doc["body"] = rng.randbytes(pad // 2).hex()
        rows.append(doc)
    return rows


def make_zip(path: str, *, posts: int = 3, users: int = 2, seed: int = 0, pad: int = 0,
             extra_posts: Iterable[dict] = ()) -> str:
    """A small snapshot with tables ``users`` (10001) and ``posts`` (10002); returns ``path``."""
    build_snapshot(path, [
        Table("users", 10001, documents(10001, users, seed=seed)),
        Table("posts", 10002, [*documents(10002, posts, seed=seed, pad=pad), *extra_posts]),
    ])
    return path
