"""Parse the legacy ``generated_schema.jsonl`` shape language, enough to type legacy values.

Legacy exports (before the uniform encoding) write Int64 as ``"123"``, bytes as base64 strings
and special floats as ``"NaN"``/``"Infinity"``, so the JSON alone cannot tell a string from an
int64. Line 1 of ``generated_schema.jsonl`` is the table's inferred shape, e.g.
``{"_creationTime": normalfloat64, "_id": "<id>", "n": int64, "tags"?: array<string>}``;
later lines are per-document overrides ``{"<_id>": <export context>}`` where the context is a
type name (``"int64"``, ``"bytes"``, ``"infer"``...), a field map or a list (assumed format,
from the convex-backend export worker; anything else is ignored and the table shape is used).

A parsed shape is a small tuple tree:
``("int64",)``, ``("float64",)``, ``("bytes",)``, ``("string",)``, ``("literal", s)``,
``("object", {field: shape})``, ``("array", shape)``, ``("union", (shape, ...))``, ``("any",)``.
Unknown names parse as ``("any",)``: the value is then kept as raw JSON (the caller notes it).
"""

from __future__ import annotations

import json
import re

Shape = tuple

ANY: Shape = ("any",)
_FLOATS = {"float64", "normalfloat64", "nan", "negativeinf", "positiveinf", "negativezero",
           "number"}
_STRINGS = {"string", "id", "fieldname", "field_name"}
_SIMPLE = {"int64": ("int64",), "bytes": ("bytes",), "boolean": ("boolean",),
           "null": ("null",), "never": ("never",)}
_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)|(\S))')


class ShapeSyntaxError(ValueError):
    """The shape text is not in the grammar this parser understands."""


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        out.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expect: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expect is not None and tok != expect):
            raise ShapeSyntaxError(f"expected {expect or 'a token'}, got {tok!r}")
        self.i += 1
        return tok

    def union(self) -> Shape:
        members = [self.single()]
        while self.peek() == "|":
            self.take("|")
            members.append(self.single())
        unique: list[Shape] = []
        for m in members:  # nan | normalfloat64 -> one float64
            if m not in unique:
                unique.append(m)
        return unique[0] if len(unique) == 1 else ("union", tuple(unique))

    def single(self) -> Shape:
        tok = self.take()
        if tok == "{":
            return self.obj()
        if tok == "(":
            inner = self.union()
            self.take(")")
            return inner
        if tok.startswith('"'):
            return ("literal", json.loads(tok))
        name = tok.lower()
        if self.peek() == "<":  # array<T>, set<T>, map<K, V>, record<K, V>, id<table>
            args = self.generic_args()
            if name in ("array", "set"):
                return ("array", args[0])
            return ("string",) if name == "id" else ANY
        if name in _SIMPLE:
            return _SIMPLE[name]
        if name in _FLOATS:
            return ("float64",)
        if name in _STRINGS:
            return ("string",)
        return ANY

    def generic_args(self) -> list[Shape]:
        self.take("<")
        args = [self.union()]
        while self.peek() == ",":
            self.take(",")
            args.append(self.union())
        self.take(">")
        return args

    def obj(self) -> Shape:
        fields: dict[str, Shape] = {}
        while self.peek() not in ("}", None):
            key = self.take()
            name = json.loads(key) if key.startswith('"') else key
            if self.peek() == "?":
                self.take("?")
            self.take(":")
            fields[name] = self.union()
            if self.peek() == ",":
                self.take(",")
        self.take("}")
        return ("object", fields)


def parse_shape(text: str) -> Shape:
    """Parse one shape string; ShapeSyntaxError when it is not understood."""
    parser = _Parser(text)
    shape = parser.union()
    if parser.peek() is not None:
        raise ShapeSyntaxError(f"unexpected {parser.peek()!r} after the shape")
    return shape


def context_to_shape(ctx: object) -> Shape:
    """Turn a per-document override (export context) into a shape; unknown forms become ANY."""
    if isinstance(ctx, str):
        name = ctx.lower()
        if name in _SIMPLE:
            return _SIMPLE[name]
        return ("float64",) if name in _FLOATS else ANY
    if isinstance(ctx, dict):
        return ("object", {k: context_to_shape(v) for k, v in ctx.items()})
    # a list context types an array element by element
    if isinstance(ctx, list):
        return ("tuple", tuple(context_to_shape(v) for v in ctx))
    return ANY
