"""The shipped JSON Schema: well-formed 2020-12, documented everywhere, one copy, examples valid."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from deedbox.config.schema import schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema" / "backup.schema.json"
PACKAGED = ROOT / "deedbox" / "config" / "backup.schema.json"


def properties(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every property schema (also inside $defs, items, alternatives and maps)."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, sub in node.items():
            if key in ("properties", "$defs"):
                for name, child in sub.items():
                    yield from properties(child, f"{path}.{name}")
            elif isinstance(sub, (dict, list)) and key not in ("examples", "default", "enum", "const"):
                yield from properties(sub, f"{path}.{key}" if isinstance(sub, dict) else path)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from properties(item, f"{path}[{i}]")


def objects(node: Any) -> Iterator[dict]:
    """Every subschema that describes an object."""
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield node
        for key, sub in node.items():
            if key not in ("examples", "default", "enum", "const"):
                yield from objects(sub)
    elif isinstance(node, list):
        for item in node:
            yield from objects(item)


def test_schema_is_valid_2020_12() -> None:
    doc = json.loads(SCHEMA_FILE.read_text())
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == "https://deedbox.dev/schema/backup.schema.json"
    Draft202012Validator.check_schema(doc)


def test_packaged_copy_is_byte_identical() -> None:
    assert PACKAGED.read_bytes() == SCHEMA_FILE.read_bytes()
    assert schema() == json.loads(SCHEMA_FILE.read_text())


def test_every_property_has_title_and_description() -> None:
    found = list(properties(schema()))
    assert len(found) > 80
    missing = [p for p, sub in found if not (sub.get("title") and sub.get("description"))]
    assert missing == []


def test_every_object_is_closed() -> None:
    for sub in objects(schema()):
        if sub.get("properties"):
            assert sub.get("additionalProperties") is False, sub.get("title")


def test_examples_and_defaults_satisfy_their_own_schema() -> None:
    checked = 0
    for path, sub in [("", schema())] + list(properties(schema())):
        bundled = {**sub, "$defs": schema()["$defs"]}
        validator = Draft202012Validator(bundled)
        for example in sub.get("examples", []):
            assert not list(validator.iter_errors(example)), (path, example)
            checked += 1
        if "default" in sub:
            assert not list(validator.iter_errors(sub["default"])), (path, sub["default"])
            checked += 1
    assert checked > 60


@pytest.mark.parametrize("name", ["awsAccountId", "awsRegion", "s3BucketName", "envName", "iamRoleArn"])
def test_patterns_reject_lookalikes(name: str) -> None:
    bad = {"awsAccountId": ["12345678901", "1234567890123", "12345678901a"],
           "awsRegion": ["eu-west", "EU-WEST-1", "europe-1", "eu-west-1a"],
           "s3BucketName": ["ab", "Guild", "guild..media", "-guild", "xn--guild", "guild_media"],
           "envName": ["lower", "1ABC", "A-B", ""],
           "iamRoleArn": ["arn:aws:iam::12345:role/x", "arn:aws:s3:::bucket", "arn:aws:iam::222222222222:user/x"]}[name]
    validator = Draft202012Validator({**schema()["$defs"][name], "$defs": schema()["$defs"]})
    for value in bad:
        assert list(validator.iter_errors(value)), value
    for value in schema()["$defs"][name]["examples"]:
        assert not list(validator.iter_errors(value))


def test_check_jsonschema_accepts_the_valid_files() -> None:
    """The schema works in the tool users have, on files deedbox also accepts."""
    exe = Path(sys.executable).with_name("check-jsonschema")
    assert exe.exists(), "check-jsonschema comes with the dev extra (`make test` installs it)"
    files = [ROOT / "backup.yaml", *sorted((Path(__file__).parent / "cases" / "positive").glob("*.yaml"))]
    run = subprocess.run([str(exe), "--schemafile", str(SCHEMA_FILE), *map(str, files)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
