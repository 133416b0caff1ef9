"""Schema and model agree: same fields both ways, and schema defaults are the dataclass defaults."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from deedbox.config import check_text
from deedbox.config import model as m
from deedbox.config.schema import schema

# Fields that are not written in backup.yaml: derived, or the key of a map, or bookkeeping.
NOT_IN_DOCUMENT = {m.Config: {"path", "text"}, m.ConvexSource: {"self_hosted"}, m.MediaClass: {"name"}}
# Fields whose document name is a Python keyword.
RENAMED = {(m.MediaReference, "media_class"): "class"}
# Alternatives of a scalar and mappings (checked by their own tests, like Expectation).
UNION_FORMS = {m.Expectation, m.ValueRef}
# Required by the schema although the dataclass keeps a None default (its public shape predates
# the schema): every media store, AWS or another S3 API, is addressed by a bucket name.
REQUIRED_IN_SCHEMA_ONLY = {(m.MediaSource, "bucket")}


def resolve(sub: dict) -> dict:
    ref = sub.get("$ref")
    return resolve(schema()["$defs"][ref.rsplit("/", 1)[1]]) if ref else sub


def object_schema(sub: dict) -> dict:
    """The object form behind arrays, maps and alternatives."""
    sub = resolve(sub)
    if sub.get("type") == "array":
        return object_schema(sub["items"])
    for key in ("oneOf", "anyOf"):
        for alt in sub.get(key, ()):
            if resolve(alt).get("type") == "object":
                return resolve(alt)
    if sub.get("type") == "object" and not sub.get("properties") and isinstance(sub.get("additionalProperties"), dict):
        return resolve(sub["additionalProperties"])
    return sub


def dataclass_of(tp: Any) -> type | None:
    """``Optional[tuple[X, ...]]`` -> X when X is a dataclass."""
    if dataclasses.is_dataclass(tp):
        return tp
    for arg in typing.get_args(tp):
        found = dataclass_of(arg)
        if found:
            return found
    return None


def pairs(cls: type = m.Config, sub: dict | None = None, path: str = "") -> list[tuple[str, type, dict]]:
    """(path, dataclass, object schema) for the whole model tree (Expectation is checked apart)."""
    sub = object_schema(sub or schema())
    out = [(path or "<root>", cls, sub)]
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        child = dataclass_of(hints[f.name])
        if child and child not in UNION_FORMS and f.name in sub.get("properties", {}):
            out += pairs(child, sub["properties"][f.name], f"{path}.{f.name}")
    return out


PAIRS = pairs()


def test_the_walk_covers_the_model() -> None:
    seen = {cls for _, cls, _ in PAIRS} | UNION_FORMS
    every = {obj for obj in vars(m).values() if dataclasses.is_dataclass(obj) and isinstance(obj, type)}
    assert seen == every


@pytest.mark.parametrize("path,cls,sub", PAIRS, ids=[p for p, _, _ in PAIRS])
def test_fields_match_properties(path: str, cls: type, sub: dict) -> None:
    fields = {RENAMED.get((cls, f.name), f.name) for f in dataclasses.fields(cls)} - NOT_IN_DOCUMENT.get(cls, set())
    assert fields == set(sub.get("properties", {})), path


def test_expectation_forms_match_the_model() -> None:
    check = object_schema(schema()["properties"]["drills"]["properties"]["checks"])
    forms = check["properties"]["expect"]["oneOf"]
    assert forms[0]["enum"] == ["not_null", "null"]
    assert [list(f["properties"]) for f in forms[1:]] == [["min_items"], ["equals"]]
    fields = {f.name for f in dataclasses.fields(m.Expectation)}
    assert fields == {"not_null", "is_null", "min_items", "equals", "has_equals"}


def as_json(value: Any, sub: dict) -> Any:
    """A dataclass default in the document's JSON form (None dropped where null is not allowed)."""
    if dataclasses.is_dataclass(value):
        props = object_schema(sub).get("properties", {})
        out = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            allows_null = "null" in (resolve(props.get(f.name, {})).get("type") or [])
            if v is not None or allows_null:
                out[f.name] = as_json(v, props.get(f.name, {}))
        return out
    if isinstance(value, tuple):
        return [as_json(v, {}) for v in value]
    return value


@pytest.mark.parametrize("path,cls,sub", PAIRS, ids=[p for p, _, _ in PAIRS])
def test_defaults_match(path: str, cls: type, sub: dict) -> None:
    props = sub.get("properties", {})
    for f in dataclasses.fields(cls):
        if f.name not in props:
            continue
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        documented = props[f.name].get("default", None) if "default" in props[f.name] else dataclasses.MISSING
        if not has_default:
            assert documented is dataclasses.MISSING, f"{path}.{f.name}: required in the model, defaulted in the schema"
            assert f.name in sub.get("required", []), f"{path}.{f.name}: required in the model only"
        elif default is None and documented is dataclasses.MISSING:
            assert (f.name in sub.get("required", [])) == ((cls, f.name) in REQUIRED_IN_SCHEMA_ONLY), f"{path}.{f.name}"
        else:
            assert documented == as_json(default, props[f.name]), f"{path}.{f.name}"


def fill_defaults(doc: Any, sub: dict) -> Any:
    """Write every schema default into ``doc`` explicitly."""
    sub = resolve(sub)
    if isinstance(doc, dict) and "properties" in sub:
        out = dict(doc)
        for name, prop in sub["properties"].items():
            if name not in out and "default" in prop:
                out[name] = prop["default"]
            if name in out:
                out[name] = fill_defaults(out[name], prop)
        return out
    if isinstance(doc, list) and "items" in sub:
        return [fill_defaults(item, sub["items"]) for item in doc]
    if "oneOf" in sub and isinstance(doc, dict):
        return fill_defaults(doc, object_schema(sub))
    return doc


@pytest.mark.parametrize("name", ["minimal.yaml", "media-sync-endpoint.yaml", "flow-json.yaml"])
def test_writing_the_defaults_changes_nothing(name: str) -> None:
    path = Path(__file__).parent / "cases" / "positive" / name
    implicit = check_text(path.read_text())
    filled = fill_defaults(implicit.document, schema())
    assert filled != implicit.document
    explicit = check_text(yaml.safe_dump(filled, sort_keys=False))
    assert explicit.errors == ()
    assert explicit.model == implicit.model


def test_value_forms_match_the_model() -> None:
    forms = schema()["$defs"]["valueRef"]["oneOf"]
    assert [resolve(f).get("type") for f in forms] == ["string", "object", "object"]
    assert [list(resolve(f).get("properties", {})) for f in forms] == [[], ["env"], ["secret"]]
    assert [m.value_ref(v) for v in ("a", {"env": "B"}, {"secret": "C"})] == [
        m.ValueRef("literal", "a"), m.ValueRef("env", "B"), m.ValueRef("secret", "C")]
