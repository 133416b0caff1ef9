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
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from deedbox.config.diagnostics import Diagnostic, PathT, dotted
from deedbox.config.secretscan import describe
from deedbox.config.yamlread import Document

_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of backup.yaml (package data)."""
    text = resources.files("deedbox.config").joinpath("backup.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


@lru_cache(maxsize=1)
def _def_names() -> dict[int, str]:
    """``id(subschema) -> $defs name``, to explain a pattern by the definition it belongs to."""
    return {id(sub): name for name, sub in schema()["$defs"].items()}


# jsonschema types a ValidationError's fields as ``X | Unset`` because an error can be built by
# hand without them; every error here comes from ``iter_errors``, which always sets them.

def _keyword(error: ValidationError) -> str:
    return cast(str, error.validator)


def _value(error: ValidationError) -> Any:
    return cast(Any, error.validator_value)


def _instance(error: ValidationError) -> Any:
    return cast(Any, error.instance)


def _object_schema(error: ValidationError) -> Mapping[str, Any]:
    """The (object) schema holding ``additionalProperties``: never a boolean schema."""
    return cast(Mapping[str, Any], error.schema)


def validate(doc: Document) -> list[Diagnostic]:
    """Every schema error of ``doc.data``, each at the position of the node it is about."""
    out: dict[Diagnostic, None] = {}  # ordered set: jsonschema repeats `required` per missing key
    for error in validator().iter_errors(doc.data):
        out.update(dict.fromkeys(_explain(error, doc)))
    return list(out)


def _explain(error: ValidationError, doc: Document) -> Iterator[Diagnostic]:
    path: PathT = tuple(error.absolute_path)
    keyword = _keyword(error)
    if keyword == "required":
        for key in _missing(error):
            yield _at(doc, path, "schema.required", f"missing required key '{key}'", target=path + (key,))
    elif keyword == "additionalProperties":
        for key in _extra(error):
            yield _at(doc, path + (key,), "schema.additional", _unknown_key(key, _object_schema(error)), key=True)
    elif "propertyNames" in error.relative_schema_path:  # jsonschema reports the name as instance
        yield _at(doc, path + (_instance(error),), "schema.pattern",
                  f"{describe(_instance(error))} is not {_hint(error)}", key=True)
    elif keyword in ("oneOf", "anyOf"):
        yield _alternatives(error, doc, path)
    else:
        yield _at(doc, path, f"schema.{_RULES.get(keyword, 'invalid')}", _message(error))


def _at(doc: Document, path: PathT, rule: str, message: str, *, key: bool = False,
        target: PathT | None = None) -> Diagnostic:
    line, col = doc.position(path, key=key)
    return Diagnostic(line, col, dotted(target if target is not None else path), rule, message)


def _missing(error: ValidationError) -> list[str]:
    instance = _instance(error)
    return [k for k in _value(error) if isinstance(instance, dict) and k not in instance]


def _extra(error: ValidationError) -> list[str]:
    known = set(_object_schema(error).get("properties", {}))
    return [k for k in _instance(error) if k not in known]


def _unknown_key(key: str, sub: Mapping[str, Any]) -> str:
    allowed = sorted(sub.get("properties", {}))
    close = difflib.get_close_matches(key, allowed, n=1) if len(key) <= 64 else []
    hint = f"; did you mean '{close[0]}'?" if close else f"; allowed keys: {', '.join(allowed)}" if allowed else ""
    return f"unknown key {describe(key)}{hint}"


def _alternatives(error: ValidationError, doc: Document, path: PathT) -> Diagnostic:
    forms_allowed = _value(error)
    n = len(forms_allowed)
    if error.validator == "oneOf" and not error.context:
        return _at(doc, path, "schema.oneof", f"matches more than one of the {n} allowed forms")
    best = _closest(error.context)
    inner = next(_explain(best, doc), None) or _at(doc, tuple(best.absolute_path), "", _message(best))
    forms = " or ".join(_form(s) for s in forms_allowed)
    message = f"{inner.message} (none of the {n} allowed forms matched: {forms})"
    return Diagnostic(inner.line, inner.column, inner.path, "schema.oneof", message)


def _closest(errors: list[ValidationError]) -> ValidationError:
    """The alternative that got furthest: prefer errors that are not a plain type mismatch."""
    wrong_type = {e.relative_schema_path[0] for e in errors
                  if e.validator == "type" and not e.relative_path and e.relative_schema_path}
    fitting = [e for e in errors if e.relative_schema_path and e.relative_schema_path[0] not in wrong_type]
    fitting = fitting or errors
    deepest = max(len(e.relative_path) for e in fitting)
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
    v, inst = _value(error), _instance(error)
    kw = _keyword(error)
    if kw == "type":
        types: list[str] = v if isinstance(v, list) else [v]
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
