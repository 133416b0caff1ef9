"""The legacy ``generated_schema.jsonl`` shape language and export contexts, as convex-backend has them.

Legacy (pre-2026) snapshot exports wrote values in the "clean" JSON encoding (Int64 as ``"123"``,
bytes as base64 strings, NaN/Infinity as ``"NaN"``/``"Infinity"``), so JSON alone cannot tell a
string from an Int64. Line 1 of ``<table>/generated_schema.jsonl`` is a JSON string holding the
table's inferred shape as convex-backend prints it; lines 2..n are per-document overrides
``{"<_id>": <export context>}``. Everything here follows the convex-backend sources (mirror of
get-convex/convex-backend); each rule names the file and function it comes from.

Shapes are small tuple trees, one tag per ``ShapeEnum`` variant
(crates/shape_inference/src/lib.rs ``enum ShapeEnum``)::

    ("Never",) ("Null",) ("Int64",) ("NegativeInf",) ("PositiveInf",) ("NegativeZero",) ("NaN",)
    ("NormalFloat64",) ("Float64",) ("Boolean",) ("StringLiteral", s) ("Id", table_number)
    ("FieldName",) ("String",) ("Bytes",) ("Array", element)
    ("Object", ((field, value, optional), ...))   # sorted by field, like its BTreeMap
    ("Record", field_shape, value_shape) ("Union", (member, ...)) ("Unknown",)

Union members are kept in ``ShapeEnum``'s derived ``Ord`` (declaration order of the variants,
then contents), which is the order the printer writes them in (``UnionShape`` is a
``BTreeSet``, crates/shape_inference/src/union.rs).

The grammar is exactly ``StructuralShape::from_str`` / ``parse_prefix_union`` / ``parse_prefix``
in crates/shape_inference/src/pretty.rs (the inverse of its ``impl Display for ShapeEnum``):

- ``union := prefix (" | " prefix)*`` -- members deduplicated and sorted (``BTreeSet``); one
  member is that member, not a union;
- ``prefix`` tries, as *string prefixes* and in this order: ``never null int64 float64 -inf inf
  -0 NaN normalfloat64 boolean field_name string bytes unknown``; then ``{`` (object), ``id<``,
  ``array<``, ``record<``, ``"`` (string literal); anything else is an error;
- object: ``{`` then, until ``}``: a key up to the next ``": "`` (a ``"quoted"`` identifier
  field name, ``?`` after the closing quote = optional, no escapes), a union, then ``", "`` or
  ``}`` (so ``{"a": int64, }`` is accepted, as in Rust); duplicate keys: the last wins;
  more than ``ProdConfig::MAX_OBJECT_FIELDS`` (64) fields is an error (``ObjectShape::new``
  asserts it);
- ``id<N>``: N is the text up to the next ``>``, parsed as a Rust ``u32`` (optional ``+``,
  ASCII digits) and nonzero (``TableNumber::try_from``, crates/value/src/table_name.rs);
- ``array<T>``, ``record<K, V>`` with exactly ``", "`` between K and V; K must be a subtype of
  ``field_name`` (``RecordShape::new`` asserts it, crates/shape_inference/src/object.rs);
- ``"text"``: up to the next ``"`` (no escapes), typed with ``StringLiteralShape::shape_of``
  (crates/shape_inference/src/string.rs): a literal if ``text`` is an identifier, else ``id<t>``
  if it decodes as a document id, else ``field_name`` if it is a valid field name, else ``string``.
No whitespace is allowed anywhere except inside those separators.

Export contexts (``enum ExportContext``, crates/shape_inference/src/export_context.rs) are
``"infer"``, ``"int64"``, ``"float64inf"``, ``"bytes"``, ``("nan", <8 little-endian bytes>)``,
``("array", (ctx, ...))`` and ``("object", {field: ctx})``, read from JSON by
``TryFrom<JsonValue> for ExportContext`` (see ``parse_context``).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from typing import Any

from deedbox.convex.ids import decode_id

Shape = tuple
ExportContext = Any  # str | tuple, see the module docstring

NEVER: Shape = ("Never",)
NULL: Shape = ("Null",)
INT64: Shape = ("Int64",)
NEGATIVE_INF: Shape = ("NegativeInf",)
POSITIVE_INF: Shape = ("PositiveInf",)
NEGATIVE_ZERO: Shape = ("NegativeZero",)
NAN: Shape = ("NaN",)
NORMAL_FLOAT64: Shape = ("NormalFloat64",)
FLOAT64: Shape = ("Float64",)
BOOLEAN: Shape = ("Boolean",)
FIELD_NAME: Shape = ("FieldName",)
STRING: Shape = ("String",)
BYTES: Shape = ("Bytes",)
UNKNOWN: Shape = ("Unknown",)
ANY: Shape = UNKNOWN  # the shape of a table with no generated schema (GeneratedSchema::apply, None)

# ShapeEnum's variants in declaration order: its derived Ord (crates/shape_inference/src/lib.rs).
_ORDER = {tag: i for i, tag in enumerate((
    "Never", "Null", "Int64", "NegativeInf", "PositiveInf", "NegativeZero", "NaN", "NormalFloat64",
    "Float64", "Boolean", "StringLiteral", "Id", "FieldName", "String", "Bytes", "Array", "Object",
    "Record", "Union", "Unknown"))}

# parse_prefix's `units`, in its order: matched with strip_prefix, first match wins
# (crates/shape_inference/src/pretty.rs).
_UNITS: tuple[tuple[str, Shape], ...] = (
    ("never", NEVER), ("null", NULL), ("int64", INT64), ("float64", FLOAT64),
    ("-inf", NEGATIVE_INF), ("inf", POSITIVE_INF), ("-0", NEGATIVE_ZERO), ("NaN", NAN),
    ("normalfloat64", NORMAL_FLOAT64), ("boolean", BOOLEAN), ("field_name", FIELD_NAME),
    ("string", STRING), ("bytes", BYTES), ("unknown", UNKNOWN),
)
# impl Display for ShapeEnum (crates/shape_inference/src/pretty.rs)
_UNIT_NAMES = {shape[0]: text for text, shape in _UNITS}

MAX_OBJECT_FIELDS = 64  # ProdConfig::MAX_OBJECT_FIELDS, crates/shape_inference/src/config.rs
MAX_IDENTIFIER_LEN = 64  # crates/convex/sync_types/src/identifier.rs
MAX_FIELD_NAME_LENGTH = 1024  # crates/convex/sync_types/src/identifier.rs
_U32_MAX = 2**32 - 1
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RUST_U32 = re.compile(r"\+?[0-9]+")


class ShapeSyntaxError(ValueError):
    """The shape text is not in the grammar of pretty.rs; ``pos`` is where parsing stopped."""

    def __init__(self, message: str, text: str = "", pos: int = 0) -> None:
        self.pos = pos
        self.text = text
        where = repr(text[pos:pos + 40]) if pos < len(text) else "end of input"
        super().__init__(f"{message} at position {pos}: {where}")


class ExportContextError(ValueError):
    """An override line's export context is not one TryFrom<JsonValue> for ExportContext accepts."""


# ---- names and ids ------------------------------------------------------------------------------
def is_valid_identifier(s: str) -> bool:
    """``is_valid_identifier`` (crates/convex/sync_types/src/identifier.rs): ASCII letter or ``_``
    first, then letters, digits, ``_``; not all underscores; at most 64 bytes."""
    return len(s) <= MAX_IDENTIFIER_LEN and _IDENTIFIER.fullmatch(s) is not None and s.strip("_") != ""


def is_valid_field_name(s: str) -> bool:
    """``is_valid_field_name`` (same file): no leading ``$``, only non-control ASCII, at most 1024
    bytes. The empty string is a valid field name."""
    return (len(s) <= MAX_FIELD_NAME_LENGTH and not s.startswith("$") and s.isascii()
            and (s.isprintable() or s == ""))


def _id_table(s: str) -> int | None:
    try:
        return decode_id(s)[0]  # DeveloperDocumentId::decode, crates/value/src/id_v6.rs
    except ValueError:
        return None


def string_shape(s: str) -> Shape:
    """``StringLiteralShape::shape_of`` with ``ProdConfig`` (crates/shape_inference/src/string.rs,
    config.rs: ``is_valid_string_literal`` = ``is_valid_identifier``)."""
    if is_valid_identifier(s):
        return ("StringLiteral", s)
    table = _id_table(s)
    if table is not None:
        return ("Id", table)
    if is_valid_field_name(s):
        return FIELD_NAME
    return STRING


def is_field_name_shape(shape: Shape) -> bool:
    """``shape.is_subtype(&ShapeEnum::FieldName)`` (crates/shape_inference/src/subtype.rs)."""
    tag = shape[0]
    if tag in ("Never", "Id", "FieldName"):
        return True
    if tag == "StringLiteral":
        return is_valid_field_name(shape[1])
    if tag == "Union":
        return all(is_field_name_shape(m) for m in shape[1])
    return False


# ---- ordering and printing -------------------------------------------------------------------------
def sort_key(shape: Shape) -> tuple:
    """The derived ``Ord`` of ``ShapeEnum`` (structural shapes: no counts)."""
    tag = shape[0]
    rank = _ORDER[tag]
    if tag in ("StringLiteral", "Id"):
        return (rank, shape[1])
    if tag == "Array":
        return (rank, sort_key(shape[1]))
    if tag == "Object":  # BTreeMap<IdentifierFieldName, ObjectField{value_shape, optional}>
        return (rank, tuple((name, sort_key(value), optional) for name, value, optional in shape[1]))
    if tag == "Record":
        return (rank, sort_key(shape[1]), sort_key(shape[2]))
    if tag == "Union":
        return (rank, tuple(sort_key(m) for m in shape[1]))
    return (rank,)


def make_union(members: list[Shape]) -> Shape:
    """A ``BTreeSet`` of members as parse_prefix_union builds it: deduplicated, sorted, a single
    member on its own (crates/shape_inference/src/pretty.rs)."""
    unique = list(dict.fromkeys(members))
    if len(unique) == 1:
        return unique[0]
    return ("Union", tuple(sorted(unique, key=sort_key)))


def _debug_str(s: str) -> str:
    """Rust's ``{:?}`` of a str, for the identifiers the printer writes (crates/shape_inference/
    src/pretty.rs); escapes are never needed for valid literals or field names."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable():
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def format_shape(shape: Shape) -> str:
    """``impl Display for ShapeEnum`` (crates/shape_inference/src/pretty.rs)."""
    tag = shape[0]
    if tag in _UNIT_NAMES:
        return _UNIT_NAMES[tag]
    if tag == "StringLiteral":
        return _debug_str(shape[1])
    if tag == "Id":
        return f"id<{shape[1]}>"
    if tag == "Array":
        return f"array<{format_shape(shape[1])}>"
    if tag == "Object":
        return "{" + ", ".join(f"{_debug_str(name)}{'?' if optional else ''}: {format_shape(value)}"
                               for name, value, optional in shape[1]) + "}"
    if tag == "Record":
        return f"record<{format_shape(shape[1])}, {format_shape(shape[2])}>"
    if tag == "Union":
        return " | ".join(format_shape(m) for m in shape[1])
    raise ValueError(f"not a shape: {shape!r}")


# ---- parsing -----------------------------------------------------------------------------------
class _Parser:
    """A port of parse_prefix_union / parse_prefix (crates/shape_inference/src/pretty.rs)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, message: str, pos: int) -> ShapeSyntaxError:
        return ShapeSyntaxError(message, self.text, pos)

    def union(self, pos: int) -> tuple[Shape, int]:
        members = []
        while True:
            part, pos = self.prefix(pos)
            members.append(part)
            if self.text.startswith(" | ", pos):
                pos += 3
            else:
                return make_union(members), pos

    def value_with_terminator(self, pos: int, terminator: str) -> tuple[Shape, int]:
        value, pos = self.union(pos)
        if not self.text.startswith(terminator, pos):
            raise self.fail(f"expected {terminator!r}", pos)
        return value, pos + len(terminator)

    def identifier_with_terminator(self, pos: int, terminator: str) -> tuple[str, int]:
        end = self.text.find(terminator, pos)
        if end < 0:
            raise self.fail(f"expected {terminator!r}", pos)
        return self.text[pos:end], end + len(terminator)

    def prefix(self, pos: int) -> tuple[Shape, int]:
        text = self.text
        for unit, shape in _UNITS:
            if text.startswith(unit, pos):
                return shape, pos + len(unit)
        if text.startswith("{", pos):
            return self.object(pos + 1)
        if text.startswith("id<", pos):
            number, end = self.identifier_with_terminator(pos + 3, ">")
            if not _RUST_U32.fullmatch(number) or not 0 < int(number) <= _U32_MAX:
                raise self.fail("invalid table number (a nonzero u32)", pos + 3)
            return ("Id", int(number)), end
        if text.startswith("array<", pos):
            element, end = self.value_with_terminator(pos + 6, ">")
            return ("Array", element), end
        if text.startswith("record<", pos):
            key, end = self.value_with_terminator(pos + 7, ", ")
            if not is_field_name_shape(key):
                raise self.fail("record key shape is not a subtype of field_name", pos + 7)
            value, end = self.value_with_terminator(end, ">")
            return ("Record", key, value), end
        if text.startswith('"', pos):
            literal, end = self.identifier_with_terminator(pos + 1, '"')
            return string_shape(literal), end
        raise self.fail("unexpected token", pos)

    def object(self, pos: int) -> tuple[Shape, int]:
        text = self.text
        fields: dict[str, tuple[Shape, bool]] = {}
        while not text.startswith("}", pos):
            start = pos
            key, pos = self.identifier_with_terminator(pos, ": ")
            optional = key.endswith("?")
            if optional:
                key = key[:-1]
            if len(key) < 2 or not (key.startswith('"') and key.endswith('"')):
                raise self.fail("cannot parse object key", start)
            name = key[1:-1]
            if not (is_valid_field_name(name) and is_valid_identifier(name)):  # IdentifierFieldName
                raise self.fail(f"object key {name!r} is not an identifier", start)
            value, pos = self.union(pos)
            fields[name] = (value, optional)
            if text.startswith(", ", pos):
                pos += 2
            elif not text.startswith("}", pos):
                raise self.fail("unexpected token", pos)
        if len(fields) > MAX_OBJECT_FIELDS:
            raise self.fail(f"more than {MAX_OBJECT_FIELDS} object fields", pos)
        return ("Object", tuple((k, v, o) for k, (v, o) in sorted(fields.items()))), pos + 1


def parse_shape(text: str) -> Shape:
    """``StructuralShape::from_str``: the whole text must be one union; ShapeSyntaxError if not."""
    parser = _Parser(text)
    shape, pos = parser.union(0)
    if pos != len(text):
        raise parser.fail("unexpected token", pos)
    return shape


# ---- export contexts -----------------------------------------------------------------------------
INFER = "infer"
_CONTEXT_NAMES = frozenset({"infer", "int64", "float64inf", "bytes"})
_B64_TAIL = re.compile(r"[A-Za-z0-9+/]*")


def b64decode_standard(s: str) -> bytes:
    """``base64::decode`` of base64 0.13.1 (the crates.io crate, STANDARD config) as convex-backend
    uses it (export_context.rs ``apply_inner``/``TryFrom``): standard alphabet; padding optional
    but, if present, only in the last quad's third/fourth place; a length of 1 mod 4 and
    non-zero trailing bits are errors. Raises ValueError."""
    body = s.rstrip("=")
    pad = len(s) - len(body)
    if pad and any((len(body) + i) % 4 < 2 for i in range(pad)) or len(s) % 4 == 1 \
            or len(body) % 4 == 1 or not _B64_TAIL.fullmatch(body):
        raise ValueError(f"invalid base64 {s[:40]!r}")
    try:
        out = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error as err:
        raise ValueError(f"invalid base64 {s[:40]!r}: {err}") from None
    if base64.b64encode(out).decode("ascii").rstrip("=") != body:
        raise ValueError(f"invalid base64 (trailing bits) {s[:40]!r}")
    return out


def parse_context(value: object) -> ExportContext:
    """``impl TryFrom<JsonValue> for ExportContext`` (crates/shape_inference/src/export_context.rs).

    Strings ``infer``/``int64``/``float64inf``/``bytes``; a list is an array context; an object
    with a string ``"$float64NaN"`` is the NaN (its 8 little-endian bytes, base64), any other
    object an object context (keys must be field names; a non-string ``"$float64NaN"`` is dropped,
    as ``object.remove`` does). ExportContextError otherwise."""
    if isinstance(value, str):
        if value not in _CONTEXT_NAMES:
            raise ExportContextError(f"invalid export context {value}")
        return value
    if isinstance(value, list):
        return ("array", tuple(parse_context(v) for v in value))
    if isinstance(value, dict):
        rest = dict(value)
        nan = rest.pop("$float64NaN", None)
        if isinstance(nan, str):
            try:
                raw = b64decode_standard(nan)
            except ValueError as err:
                raise ExportContextError(str(err)) from None
            if len(raw) != 8:
                raise ExportContextError("Float64 must be exactly eight bytes")
            return ("nan", raw)
        for key in rest:
            if not is_valid_field_name(key):
                raise ExportContextError(f"invalid field name {key!r} in export context")
        return ("object", {k: parse_context(v) for k, v in rest.items()})
    raise ExportContextError(f"invalid export context {value!r}")


context_to_shape = parse_context  # the former name; an export context is not a shape


def nan_from_context(raw: bytes) -> float:
    """The NaN a ``Float64NaN`` context carries; ValueError if the bytes are not a NaN
    (``apply_inner``: "Unexpected non-NaN value in the export context")."""
    (f,) = struct.unpack("<d", raw)
    if not math.isnan(f):
        raise ValueError("Unexpected non-NaN value in the export context")
    return f
