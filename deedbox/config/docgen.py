"""Generate the Markdown reference of backup.yaml from the JSON Schema and the rule registry.

``python -m deedbox.config.docgen > docs/config.md``; a test keeps the committed file in step
with the schema, so the reference never drifts from the contract it documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from deedbox.config.schema import schema
from deedbox.config.semantic import registry

YAML_RULES = {
    "yaml.empty": "The file is empty or holds only comments.",
    "yaml.tab": "A tab is used for indentation (YAML allows only spaces).",
    "yaml.syntax": "The YAML does not parse, or holds more than one document.",
    "yaml.duplicate-key": "A key appears twice in one mapping (reported at the second one).",
    "yaml.alias": "Aliases expand past 10,000 nodes (billion laughs), or an alias contains itself.",
    "yaml.root": "The top level is a list or a single value instead of a mapping.",
    "yaml.key": "A key is a list or mapping instead of a plain scalar.",
    "yaml.tag": "An application-specific tag such as `!secret` (only standard YAML types are allowed), or a standard tag on a value it cannot hold (`!!int abc`).",
    "yaml.depth": "Mappings and lists nested deeper than 64 levels (reported at the first node below the limit).",
    "yaml.control-character": "A control or non-printable character (NUL, BEL, ESC, DEL, ...) anywhere in the file, reported by its code point (`U+0000`) at its line and column; the text around it is never shown.",
    "yaml.number": "A number written with more than 100 characters (never converted; reported at the number).",
    "yaml.merge": "A merge key (`<<`) whose value is not a mapping or a list of mappings.",
}
SCHEMA_RULES = {
    "schema.required": "A required key is missing (reported at the mapping that lacks it).",
    "schema.additional": "An unknown key (reported at the key, with the closest known key).",
    "schema.type": "A value of the wrong type.",
    "schema.enum": "A value that is not one of the allowed words.",
    "schema.const": "A value that must be exactly one thing (`version: 1`).",
    "schema.pattern": "A string of the wrong shape (account id, region, bucket, ARN, names...); long or secret-looking values are never quoted.",
    "schema.minimum": "A number below its minimum.",
    "schema.maximum": "A number above its maximum.",
    "schema.size": "A list or mapping with too few or too many entries.",
    "schema.unique": "A list that repeats an item.",
    "schema.oneof": "A value matching none of the allowed forms; the closest form's problem is shown.",
}


def _resolve(sub: dict[str, Any]) -> dict[str, Any]:
    ref = sub.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return {**schema()["$defs"][ref.rsplit("/", 1)[1]], **{k: v for k, v in sub.items() if k != "$ref"}}
    return sub


def _type(sub: dict[str, Any]) -> str:
    ref = sub.get("$ref", "")
    if ref.startswith("#/$defs/") and ref != "#/$defs/envRef":
        return schema()["$defs"][ref.rsplit("/", 1)[1]]["title"]
    sub = _resolve(sub)
    if "oneOf" in sub or "anyOf" in sub:
        return " or ".join(_type(alt) for alt in (sub["oneOf"] if "oneOf" in sub else sub["anyOf"]))
    if "enum" in sub:
        return " \\| ".join(f"`{v}`" for v in sub["enum"])
    if "const" in sub:
        return f"`{sub['const']}`"
    kind = sub.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    if kinds == ["object"] and sub.get("properties", {}).keys() == {"env"}:
        return "`{env: NAME}`"
    if kinds == ["array"]:
        return f"list of {_type(sub.get('items', {}))}"
    if kinds == ["object"] and isinstance(sub.get("additionalProperties"), dict):
        return "map of name → mapping"
    return " or ".join("mapping" if k == "object" else k for k in kinds)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _constraints(sub: dict[str, Any]) -> str:
    inline_pattern = "pattern" in sub
    sub = _resolve(sub)
    parts = []
    if inline_pattern:
        parts.append(f"pattern `{sub['pattern']}`")
    for key, label in (("minimum", "min"), ("maximum", "max"), ("minItems", "min items"), ("minProperties", "min entries")):
        if key in sub:
            parts.append(f"{label} {sub[key]}")
    if "examples" in sub:
        parts.append("e.g. " + ", ".join(f"`{json.dumps(e)}`" if not isinstance(e, str) else f"`{e}`" for e in sub["examples"][:2]))
    return "; ".join(parts)


def _children(sub: dict[str, Any]) -> dict[str, Any]:
    """The object schema below a property (through arrays, maps and alternatives)."""
    sub = _resolve(sub)
    if sub.get("type") == "array":
        return _children(sub.get("items", {}))
    for key in ("oneOf", "anyOf"):
        for alt in sub.get(key, ()):
            alt = _resolve(alt)
            if alt.get("type") == "object" and alt.get("properties", {}).keys() - {"env"}:
                return alt
    if isinstance(sub.get("additionalProperties"), dict):
        return _resolve(sub["additionalProperties"])
    return sub if sub.get("properties", {}).keys() - {"env"} else {}


def _sections(sub: dict[str, Any], path: str) -> Iterator[str]:
    required = set(sub.get("required", ()))
    yield f"### `{path}`\n" if path else "### Top level\n"
    yield f"{sub.get('description', '')}\n"
    yield "| key | type | required | default | description |"
    yield "|---|---|---|---|---|"
    nested = []
    for name, prop in sub.get("properties", {}).items():
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
        extra = _constraints(prop)
        desc = prop.get("description", "") + (f" ({extra})" if extra else "")
        yield f"| `{name}` | {_cell(_type(prop))} | {'yes' if name in required else ''} | {_cell(default)} | {_cell(desc)} |"
        child = _children(prop)
        if child:
            suffix = "[]" if _resolve(prop).get("type") == "array" else ".*" if isinstance(_resolve(prop).get("additionalProperties"), dict) else ""
            nested.append((f"{path}.{name}{suffix}" if path else f"{name}{suffix}", child))
    yield ""
    for child_path, child in nested:
        yield from _sections(child, child_path)


def render() -> str:
    """The whole reference as Markdown."""
    root = schema()
    lines = [
        "# backup.yaml reference",
        "",
        "<!-- Generated by `python -m deedbox.config.docgen` from schema/backup.schema.json; do not edit. -->",
        "",
        root["description"],
        "",
        f"Schema: [`schema/backup.schema.json`](../schema/backup.schema.json) (`$id` {root['$id']}, JSON Schema 2020-12). "
        "Editors pick it up with `# yaml-language-server: $schema=./schema/backup.schema.json`.",
        "",
        "Check a file with `deedbox validate [--config PATH] [--format text|json|github]`: exit 0 valid "
        "(warnings allowed), 1 invalid (including YAML syntax errors), 2 unreadable. Each diagnostic has a "
        "line, column, dotted path (`drills.checks[1].expect`), rule id and message; values that may be "
        "secrets are never echoed.",
        "",
        "In pre-commit, use the `deedbox-validate` hook from this repository's `.pre-commit-hooks.yaml`; "
        "it validates every `backup.yaml`/`backup.yml` being committed and exits with the worst result.",
        "",
        "## Keys",
        "",
        *_sections(root, ""),
        "## Value types",
        "",
        "| type | meaning | pattern |",
        "|---|---|---|",
        *(f"| {d['title']} | {_cell(d['description'])} | {_cell('`' + d['pattern'] + '`') if 'pattern' in d else ''} |"
          for name, d in root["$defs"].items() if name != "envRef"),
        "",
        "## Diagnostics",
        "",
        "| rule | layer | meaning |",
        "|---|---|---|",
        *(f"| `{rid}` | YAML | {_cell(text)} |" for rid, text in YAML_RULES.items()),
        *(f"| `{rid}` | schema | {_cell(text)} |" for rid, text in SCHEMA_RULES.items()),
        "| `secret-value` | secrets | A string or key looks like a secret (Stripe keys, AWS keys, PEM private keys, JWTs, Convex deploy keys, long high-entropy strings). Use `{env: NAME}`. |",
        *(f"| `{rid}` | semantic | {_cell((fn.__doc__ or '').strip())} |" for rid, fn in registry().items()),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
