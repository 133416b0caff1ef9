"""The region list is botocore's, every region field is checked against it, and typos get suggestions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from deedbox.config import check_text, regions
from deedbox.config.rules import REGIONS
from deedbox.config.schema import schema
from deedbox.config.yamlread import parse

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deedbox" / "config" / "regions.json"


def test_the_list_is_botocores() -> None:
    """Fails when botocore knows a region the list does not (or the reverse): regenerate it."""
    assert COMMITTED.read_text() == regions.render(regions.from_botocore()), \
        "regenerate: python -m deedbox.config.regions > deedbox/config/regions.json"


def test_s3_is_offered_in_every_listed_region() -> None:
    import botocore.session

    session = botocore.session.get_session()
    for partition in regions.PARTITIONS:
        s3 = set(session.get_available_regions("s3", partition_name=partition))
        assert s3 == set(regions.data()[partition]), partition


def test_every_region_fits_the_schema_pattern() -> None:
    pattern = re.compile(schema()["$defs"]["awsRegion"]["pattern"])
    assert [r for r in regions.known() if not pattern.fullmatch(r)] == []
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= set(regions.known())


def _region_paths(sub: dict[str, Any], path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if sub.get("$ref") == "#/$defs/awsRegion":
        return {path}
    found: set[tuple[str, ...]] = set()
    for name, prop in sub.get("properties", {}).items():
        found |= _region_paths(prop, path + (name,))
    for key in ("items", "additionalProperties"):
        if isinstance(sub.get(key), dict):
            found |= _region_paths(sub[key], path + ("*",))
    return found


def test_the_rule_checks_every_region_field_of_the_schema() -> None:
    assert set(REGIONS) == _region_paths(schema())


@pytest.mark.parametrize("typo,expected", [
    ("us-east-99", ["us-east-1", "us-east-2"]), ("eu-west-10", ["eu-west-1"]), ("us-gov-east-3", ["us-gov-east-1"]),
    ("cn-north-3", ["cn-north-1"]), ("zz", []), ("x" * 100, []),
])
def test_suggestions(typo: str, expected: list[str]) -> None:
    assert regions.suggest(typo) == expected


@pytest.mark.parametrize("path", REGIONS, ids=".".join)
def test_each_region_field_is_checked(path: tuple[str, ...], reference_config_path: Path) -> None:
    doc = parse(reference_config_path.read_text()).data  # keys stay as written (`on:` is not True)
    target = doc
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = "eu-north-9"
    result = check_text(json.dumps(doc))
    assert [(d.rule, d.path, d.message) for d in result.errors] == [
        ("region", ".".join(path), "unknown AWS region 'eu-north-9'; did you mean 'eu-north-1'?")]
