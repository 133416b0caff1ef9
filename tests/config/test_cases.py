"""Example files drive the validator: every negative file states its exact errors in its header.

Header lines (before the YAML) of ``cases/negative/*.yaml``::

    # expect: <rule> <line>:<column> <full message>

list *every* error the file must produce, in report order; ``# expect-warning:`` lines do the
same for warnings (checked when present). Positive files must be valid and build a model.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deedbox.config import check

CASES = Path(__file__).parent / "cases"
EXPECT = re.compile(r"^# expect(-warning)?: (\S+) (\d+):(\d+) (.+)$", re.MULTILINE)


def _expected(path: Path) -> tuple[list[tuple], list[tuple]]:
    errors, warnings = [], []
    for warn, rule, line, col, message in EXPECT.findall(path.read_text()):
        (warnings if warn else errors).append((rule, int(line), int(col), message))
    return errors, warnings


def _found(diagnostics) -> list[tuple]:
    return [(d.rule, d.line, d.column, d.message) for d in diagnostics]


NEGATIVE = sorted((CASES / "negative").glob("*.yaml"))
POSITIVE = sorted((CASES / "positive").glob("*.yaml"))


def test_there_are_enough_negative_cases() -> None:
    assert len(NEGATIVE) >= 45


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.stem)
def test_negative_case(path: Path) -> None:
    errors, warnings = _expected(path)
    assert errors, f"{path.name} states no '# expect:' line"
    result = check(path)
    assert not result.valid and result.model is None
    assert _found(result.errors) == errors
    if warnings:
        assert _found(result.warnings) == warnings


@pytest.mark.parametrize("path", POSITIVE, ids=lambda p: p.stem)
def test_positive_case(path: Path) -> None:
    errors, warnings = _expected(path)
    assert not errors
    result = check(path)
    assert _found(result.errors) == []
    assert _found(result.warnings) == warnings
    assert result.model is not None and result.model.path == str(path)


def test_every_rule_has_a_negative_case() -> None:
    from deedbox.config.docgen import SCHEMA_RULES, YAML_RULES
    from deedbox.config.semantic import registry

    covered = {rule for p in NEGATIVE for rule, *_ in _expected(p)[0]}
    covered |= {rule for p in POSITIVE for rule, *_ in _expected(p)[1]}
    documented = set(YAML_RULES) | set(SCHEMA_RULES) | {"secret-value"}
    assert {"yaml.control-character", "yaml.number", "yaml.depth"} <= documented
    missing = (set(registry()) | documented) - covered
    assert not missing
    assert covered <= set(registry()) | documented, "a case expects a rule id the docs do not list"


def test_the_reference_configs_commented_drill_example_is_valid(reference_config_path, tmp_path):
    """backup.yaml (and so `deedbox init`) shows drills.web and drills.media commented out; uncommented,
    they must validate and load as written."""
    import re

    from deedbox.config import check_text, load

    text = reference_config_path.read_text()
    uncommented = re.sub(r"^  # (web:|media:|  )", r"  \1", text, flags=re.MULTILINE)
    assert uncommented != text and "  web:\n" in uncommented and "  media:\n" in uncommented
    assert check_text(uncommented).errors == ()
    path = tmp_path / "backup.yaml"
    path.write_text(uncommented)
    drills = load(path).drills
    assert drills.web.steps[-1].expect.min_count == 1 and drills.media.references[0].field == "video.key"
