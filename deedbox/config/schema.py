"""Validate a converted document against ``backup.schema.json`` and explain every error.

The schema ships as package data (``deedbox/config/backup.schema.json``, a byte-identical copy
of ``schema/backup.schema.json``). jsonschema's default messages quote the offending value,
which may be a secret, and are cryptic for reviewers; each keyword gets its own message here and
values are only mentioned through ``secretscan.describe``. Rule ids are ``schema.<keyword>``:
``schema.required``, ``schema.additional``, ``schema.type``, ``schema.enum``, ``schema.const``,
``schema.pattern`` (also string lengths and mapping key names), ``schema.minimum``/``maximum``,
``schema.size`` (list or mapping too small/large), ``schema.unique``, ``schema.oneof`` (anyOf/oneOf: the best matching alternative is explained), and
``schema.invalid`` for anything else.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterator

from deedbox.config.diagnostics import Diagnostic, PathT, dotted
from deedbox.config.secretscan import describe
from deedbox.config.yamlread import Document

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of backup.yaml (package data)."""
    text = resources.files("deedbox.config").joinpath("backup.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


@lru_cache(maxsize=1)
def _def_names() -> dict[int, str]:
    """``id(subschema) -> $defs name``, to explain a pattern by the definition it belongs to."""
    return {id(sub): name for name, sub in schema()["$defs"].items()}


def validate(doc: Document) -> list[Diagnostic]:
    """Every schema error of ``doc.data``, each at the position of the node it is about.

    A valid document (the common case: every plan, every pre-commit run) is recognised by
    ``conforms`` without importing jsonschema (~20 ms of ``deedbox plan``); anything else, and
    anything ``conforms`` is unsure about, goes to jsonschema for the full explanation.
    """
    if conforms(doc.data):
        return []
    out: dict[Diagnostic, None] = {}  # ordered set: jsonschema repeats `required` per missing key
    for error in validator().iter_errors(doc.data):
        out.update(dict.fromkeys(_explain(error, doc)))
    return list(out)


class _Unsure(Exception):
    """A keyword or form ``conforms`` does not implement: let jsonschema decide."""


# Keywords that never make an instance invalid (format is an annotation: no format checker).
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description", "default",
                          "examples", "format", "deprecated", "readOnly", "writeOnly"})


def conforms(instance: Any) -> bool:
    """True only when ``instance`` is valid against the schema, exactly as jsonschema's Draft
    2020-12 validator (no format checker) would decide; False when invalid or when unsure.

    It implements the keywords backup.schema.json uses (type, enum, const, properties, required,
    additionalProperties, propertyNames, min/maxProperties, items, min/maxItems, uniqueItems,
    pattern, min/maxLength, minimum/maximum and their exclusive forms, anyOf, oneOf, allOf, not,
    local ``$ref``) with jsonschema's own semantics (``True`` is not ``1``, ``1.0`` is an integer,
    ``re.search``); any other keyword makes it unsure. A test holds it to jsonschema's verdict.
    """
    try:
        return _conforms(schema(), instance)
    except _Unsure:
        return False


def _conforms(sub: Any, inst: Any) -> bool:  # noqa: C901 - one branch per keyword, like jsonschema
    if sub is True or sub is False:
        return sub
    if not isinstance(sub, dict):
        raise _Unsure
    for kw, v in sub.items():
        if kw in _ANNOTATIONS:
            continue
        if kw == "$ref":
            if not _conforms(_ref(v), inst):
                return False
        elif kw == "type":
            if not any(_is_type(inst, t) for t in (v if isinstance(v, list) else [v])):
                return False
        elif kw == "enum":
            if not any(_equal(inst, e) for e in v):
                return False
        elif kw == "const":
            if not _equal(inst, v):
                return False
        elif kw in _OBJECT:
            if isinstance(inst, dict) and not _OBJECT[kw](sub, v, inst):
                return False
        elif kw in _ARRAY:
            if isinstance(inst, list) and not _ARRAY[kw](sub, v, inst):
                return False
        elif kw in _STRING:
            if isinstance(inst, str) and not _STRING[kw](v, inst):
                return False
        elif kw in _NUMBER:
            if _is_type(inst, "number") and not _NUMBER[kw](v, inst):
                return False
        elif kw == "anyOf":
            if not any(_conforms(s, inst) for s in v):
                return False
        elif kw == "oneOf":
            if sum(1 for s in v if _conforms(s, inst)) != 1:
                return False
        elif kw == "allOf":
            if not all(_conforms(s, inst) for s in v):
                return False
        elif kw == "not":
            if _conforms(v, inst):
                return False
        else:
            raise _Unsure
    return True


def _ref(ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/$defs/") or "~" in ref or "%" in ref:
        raise _Unsure
    try:
        return schema()["$defs"][ref[len("#/$defs/"):]]
    except KeyError:
        raise _Unsure from None


def _additional(sub: dict, v: Any, inst: dict) -> bool:
    if "patternProperties" in sub:
        raise _Unsure
    known = sub.get("properties", {})
    return all(_conforms(v, inst[k]) for k in inst if k not in known)


_OBJECT = {
    "properties": lambda sub, v, inst: all(_conforms(s, inst[k]) for k, s in v.items() if k in inst),
    "required": lambda sub, v, inst: all(k in inst for k in v),
    "additionalProperties": _additional,
    "propertyNames": lambda sub, v, inst: all(_conforms(v, k) for k in inst),
    "minProperties": lambda sub, v, inst: len(inst) >= v,
    "maxProperties": lambda sub, v, inst: len(inst) <= v,
}


def _items(sub: dict, v: Any, inst: list) -> bool:
    if "prefixItems" in sub:
        raise _Unsure
    return all(_conforms(v, x) for x in inst)


_ARRAY = {
    "items": _items,
    "minItems": lambda sub, v, inst: len(inst) >= v,
    "maxItems": lambda sub, v, inst: len(inst) <= v,
    "uniqueItems": lambda sub, v, inst: not v or all(
        not _equal(a, b) for i, a in enumerate(inst) for b in inst[i + 1:]),
}
_STRING = {
    "pattern": lambda v, inst: re.search(v, inst) is not None,
    "minLength": lambda v, inst: len(inst) >= v,
    "maxLength": lambda v, inst: len(inst) <= v,
}
_NUMBER = {
    "minimum": lambda v, inst: inst >= v,
    "maximum": lambda v, inst: inst <= v,
    "exclusiveMinimum": lambda v, inst: inst > v,
    "exclusiveMaximum": lambda v, inst: inst < v,
}


def _is_type(inst: Any, name: str) -> bool:
    """jsonschema's Draft 2020-12 type checker."""
    if name == "object":
        return isinstance(inst, dict)
    if name == "array":
        return isinstance(inst, list)
    if name == "string":
        return isinstance(inst, str)
    if name == "boolean":
        return isinstance(inst, bool)
    if name == "null":
        return inst is None
    if isinstance(inst, bool):
        return False
    if name == "number":
        return isinstance(inst, (int, float))
    if name == "integer":
        return isinstance(inst, int) or (isinstance(inst, float) and inst.is_integer())
    raise _Unsure


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's ``_utils.equal``: JSON equality where booleans are not numbers."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return False
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return one == two


def _explain(error: ValidationError, doc: Document) -> Iterator[Diagnostic]:
    path: PathT = tuple(error.absolute_path)
    keyword = error.validator
    if keyword == "required":
        for key in _missing(error):
            yield _at(doc, path, "schema.required", f"missing required key '{key}'", target=path + (key,))
    elif keyword == "additionalProperties":
        for key in _extra(error):
            yield _at(doc, path + (key,), "schema.additional", _unknown_key(key, error.schema), key=True)
    elif "propertyNames" in error.relative_schema_path:  # jsonschema reports the name as instance
        yield _at(doc, path + (error.instance,), "schema.pattern",
                  f"{describe(error.instance)} is not {_hint(error)}", key=True)
    elif keyword in ("oneOf", "anyOf"):
        yield _alternatives(error, doc, path)
    else:
        yield _at(doc, path, f"schema.{_RULES.get(keyword, 'invalid')}", _message(error))


def _at(doc: Document, path: PathT, rule: str, message: str, *, key: bool = False,
        target: PathT | None = None) -> Diagnostic:
    line, col = doc.position(path, key=key)
    return Diagnostic(line, col, dotted(target if target is not None else path), rule, message)


def _missing(error: ValidationError) -> list[str]:
    return [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance]


def _extra(error: ValidationError) -> list[str]:
    known = set(error.schema.get("properties", {}))
    return [k for k in error.instance if k not in known]


def _unknown_key(key: str, sub: dict[str, Any]) -> str:
    allowed = sorted(sub.get("properties", {}))
    close = difflib.get_close_matches(key, allowed, n=1) if len(key) <= 64 else []
    hint = f"; did you mean '{close[0]}'?" if close else f"; allowed keys: {', '.join(allowed)}" if allowed else ""
    return f"unknown key {describe(key)}{hint}"


def _alternatives(error: ValidationError, doc: Document, path: PathT) -> Diagnostic:
    n = len(error.validator_value)
    if error.validator == "oneOf" and not error.context:
        return _at(doc, path, "schema.oneof", f"matches more than one of the {n} allowed forms")
    best = _closest(error.context)
    inner = next(_explain(best, doc), None) or _at(doc, tuple(best.absolute_path), "", _message(best))
    forms = " or ".join(_form(s) for s in error.validator_value)
    message = f"{inner.message} (none of the {n} allowed forms matched: {forms})"
    return Diagnostic(inner.line, inner.column, inner.path, "schema.oneof", message)


def _closest(errors: list[ValidationError]) -> ValidationError:
    """The alternative that got furthest: prefer errors that are not a plain type mismatch."""
    wrong_type = {e.relative_schema_path[0] for e in errors
                  if e.validator == "type" and not e.relative_path and e.relative_schema_path}
    fitting = [e for e in errors if e.relative_schema_path and e.relative_schema_path[0] not in wrong_type]
    fitting = fitting or errors
    deepest = max(len(e.relative_path) for e in fitting)
    from jsonschema.exceptions import best_match

    return best_match(e for e in fitting if len(e.relative_path) == deepest)


def _form(sub: dict[str, Any]) -> str:
    sub = _resolve(sub)
    if "enum" in sub:
        return " or ".join(repr(v) for v in sub["enum"])
    if sub.get("type") == "object" and sub.get("required"):
        return "{" + ", ".join(sub["required"]) + ": ...}"
    if "title" in sub:
        return _article(sub["title"])
    return _TYPE_NAMES.get(sub.get("type", ""), "a value")


_PROPER = ("AWS", "S3", "IAM", "SNS", "Convex", "GitHub", "HTTP", "TTL", "RPO", "E-mail")


def _noun(title: str) -> str:
    """``"Environment variable name"`` -> ``"environment variable name"``; proper nouns stay."""
    return title if title.startswith(_PROPER) else title[0].lower() + title[1:]


def _article(title: str) -> str:
    title = _noun(title)
    return ("an " if title[0].lower() in "aeiou" else "a ") + title


def _resolve(sub: dict[str, Any]) -> dict[str, Any]:
    ref = sub.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return schema()["$defs"][ref.rsplit("/", 1)[1]]
    return sub


_RULES = {"type": "type", "enum": "enum", "const": "const", "pattern": "pattern", "maxLength": "pattern",
          "minLength": "pattern", "minimum": "minimum", "exclusiveMinimum": "minimum", "maximum": "maximum",
          "exclusiveMaximum": "maximum", "minItems": "size", "maxItems": "size", "uniqueItems": "unique",
          "minProperties": "size"}


def _message(error: ValidationError) -> str:
    """A reviewer's message for one keyword; the value is only ever ``describe``d."""
    v, inst = error.validator_value, error.instance
    kw = error.validator
    if kw == "type":
        types = v if isinstance(v, list) else [v]
        return f"expected {' or '.join(_TYPE_NAMES.get(t, t) for t in types)}, got {_TYPE_NAMES.get(_json_type(inst), 'a value')}"
    if kw == "enum":
        return f"{describe(inst)} is not allowed; use one of: {', '.join(str(x) for x in v)}"
    if kw == "const":
        return f"must be {json.dumps(v)}, got {describe(inst)}"
    if kw in ("pattern", "minLength", "maxLength"):
        return f"{describe(inst)} is not {_hint(error)}"
    if kw in ("minimum", "exclusiveMinimum"):
        return f"must be at least {v if kw == 'minimum' else v + 1}, got {describe(inst)}"
    if kw in ("maximum", "exclusiveMaximum"):
        return f"must be at most {v if kw == 'maximum' else v - 1}, got {describe(inst)}"
    if kw == "minItems":
        return f"needs at least {v} item{'s' if v != 1 else ''}"
    if kw == "maxItems":
        return f"allows at most {v} items"
    if kw == "uniqueItems":
        return "items must be unique; this list repeats one"
    if kw == "minProperties":
        return f"needs at least {v} entr{'ies' if v != 1 else 'y'}"
    return f"does not satisfy the schema's '{kw}' rule"


def _hint(error: ValidationError) -> str:
    """Explain what a string must look like, from the ``$defs`` entry (or property) it failed."""
    sub = error.schema if isinstance(error.schema, dict) else {}
    title = sub.get("title") or _def_names().get(id(sub)) or "value"
    desc = sub.get("description", "")
    return "a valid " + _noun(title) + (f" ({desc.rstrip('.')})" if desc else "")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"
