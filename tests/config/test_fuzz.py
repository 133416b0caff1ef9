"""Fuzz and regressions: hostile or broken backup.yaml text gets positioned diagnostics, fast, never a traceback.

``test_fuzz`` runs ``tests/config/fuzz.py``'s mutations of the reference text (300 examples;
``FUZZ_EXAMPLES=5000`` for a longer local run; the ``ci`` profile derandomizes): ``check_text``
returns a ``Result`` (or raises ``UsageError``, the only exception it may raise), every diagnostic
has a line and column of the text, every reporter's output can be written as UTF-8 and holds no
control character, and each check takes less than a second.

``test_regression`` holds the exact cases an adversarial run of 1,001 mutations found: crashes
(control characters and NUL, a 4,301-digit integer), slow and unpositioned depth errors (10,000
and 100,000 nested ``[``/``{``), and six wrong configs that were accepted.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings

from deedbox.commands.validate import REPORTERS
from deedbox.config import Result, check, check_text
from deedbox.errors import UsageError
from tests.config.fuzz import REFERENCE_TEXT, mutated_text

MAX_SECONDS = 1.0
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # PyYAML's, which every position counts by
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # what no report may print (newlines end lines)
DEEDBOX = Path(sys.executable).with_name("deedbox")


def timed_check(text: str) -> Result | None:
    """``check_text`` within ``MAX_SECONDS``; None when it raised ``UsageError`` (unreadable)."""
    start = time.perf_counter()
    try:
        result = check_text(text)
    except UsageError:
        return None
    elapsed = time.perf_counter() - start
    assert elapsed < MAX_SECONDS, f"check took {elapsed:.2f}s"
    return result


def assert_well_formed(result: Result, text: str) -> None:
    assert isinstance(result, Result)
    lines = len(_LINE_BREAK.findall(text)) + 1
    for d in result.diagnostics:
        assert d.line >= 1 and d.column >= 1, d
        assert d.line <= lines + 1, d  # PyYAML may point just past the last line
        assert d.severity in ("error", "warning") and d.rule and d.message
    if result.errors:
        assert result.model is None
    for report in REPORTERS.values():
        out = io.StringIO()
        report(result, out)
        printed = out.getvalue()
        printed.encode("utf-8")  # a lone surrogate from a "\ud800" escape would fail here
        assert not _CONTROL.search(printed)
    for d in result.diagnostics:
        if d.rule == "yaml.control-character":  # names the code point, never the text around it
            assert re.fullmatch(r"(control|non-printable) character U\+[0-9A-F]{4,6} is not allowed in YAML; "
                                r"delete it \(editors may not show it\)|\d+ more .* from here on", d.message)


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Imports and the compiled schema are paid once, not by the first timed example."""
    assert check_text(REFERENCE_TEXT).valid


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(mutated_text())
def test_fuzz(case: tuple[str, tuple[str, ...]]) -> None:
    text, done = case
    note(f"mutations: {done}")
    result = timed_check(text)
    if result is not None:
        assert_well_formed(result, text)


# --------------------------------------------------------------------------- regressions

def where(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    """1-based line and column of the first ``needle`` in ``text`` (plus ``offset`` columns)."""
    at = text.index(needle)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1 + offset


def replace(old: str, new: str) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return mutate


BIG = "9" * 4301
DEEP_ARGS = "args: {limit: " + "[" * 10_000 + "}"
# drills.checks[1].args.limit is at depth 5 (drills, checks, [1], args, limit): its 61st `[` is the
# first node below 64 levels
REGRESSIONS: list[tuple[str, Callable[[str], str], str, Callable[[str], tuple[int, int]], str]] = [
    ("control-character", replace("name: guild", "name: gu\x07ild"), "yaml.control-character",
     lambda t: where(t, "\x07"), "control character U+0007 is not allowed in YAML; delete it (editors may not show it)"),
    ("nul", replace("bucket: guild-media-prod", "bucket: guild-\x00media-prod"), "yaml.control-character",
     lambda t: where(t, "\x00"), "control character U+0000 is not allowed in YAML; delete it (editors may not show it)"),
    ("escape-sequence", replace("subject: drill", "subject: \x1b[2Jdrill"), "yaml.control-character",
     lambda t: where(t, "\x1b"), "control character U+001B is not allowed in YAML; delete it (editors may not show it)"),
    ("c1-control", replace("mode: compliance", "mode: compli\x9bance"), "yaml.control-character",
     lambda t: where(t, "\x9b"), "control character U+009B is not allowed in YAML; delete it (editors may not show it)"),
    ("integer-4301-digits", replace("rpo_hours: 6", "rpo_hours: " + BIG), "yaml.number",
     lambda t: where(t, BIG), "this number is 4301 characters long; at most 100 are allowed (quote it if it is text)"),
    ("negative-integer-20000-digits", replace("days: 35", "days: -" + "1" * 20_000), "yaml.number",
     lambda t: where(t, "-111"), "this number is 20001 characters long; at most 100 are allowed (quote it if it is text)"),
    ("rate-4301-digits", replace("rate(6 hours)", f"rate({BIG} hours)"), "schedule",
     lambda t: where(t, "rate("), "invalid schedule: rate value: a 4301-digit number is out of range"),
    ("nested-[-10000", lambda t: "[" * 10_000, "yaml.depth", lambda t: (1, 66), "nested deeper than 64 levels"),
    ("nested-[-100000", lambda t: "[" * 100_000, "yaml.depth", lambda t: (1, 66), "nested deeper than 64 levels"),
    ("nested-{-10000", lambda t: "{" * 10_000, "yaml.depth", lambda t: (1, 66), "nested deeper than 64 levels"),
    ("nested-{-100000", lambda t: "{" * 100_000, "yaml.depth", lambda t: (1, 66), "nested deeper than 64 levels"),
    ("nested-lines-100000", lambda t: "[\n" * 100_000, "yaml.depth", lambda t: (66, 1), "nested deeper than 64 levels"),
    ("nested-block-100000", lambda t: "- " * 100_000 + "x\n", "yaml.depth", lambda t: (1, 131),
     "nested deeper than 64 levels"),
    ("nested-in-reference", replace("args: {limit: 20}", DEEP_ARGS), "yaml.depth",
     lambda t: where(t, DEEP_ARGS, len("args: {limit: ") + 60), "nested deeper than 64 levels"),
    ("assume-role-in-source", replace("arn:aws:iam::222222222222:role/deedbox-deployer",
                                      "arn:aws:iam::111111111111:role/deedbox-deployer"), "destination-principal",
     lambda t: where(t, "arn:aws:iam::111111111111:role/deedbox-deployer"),
     "destination.assume_role_arn is in the source account (111111111111); a principal of the platform account "
     "defeats off-platform backups, use one outside it (such as account 222222222222)"),
    ("break-glass-in-source", replace("arn:aws:iam::222222222222:role/backup-break-glass",
                                      "arn:aws:iam::111111111111:role/backup-break-glass"), "destination-principal",
     lambda t: where(t, "arn:aws:iam::111111111111:role/backup-break-glass"),
     "destination.break_glass_principal is in the source account (111111111111); a principal of the platform "
     "account defeats off-platform backups, use one outside it (such as account 222222222222)"),
    ("media-prefix-climbs-out", replace("images: {prefix: uploads/}", "images: {prefix: ../../}"), "media-prefix",
     lambda t: where(t, "../../"),
     "prefix '../../' of media class 'images' has a '..' segment; write a plain relative prefix such as 'uploads/'"),
    ("media-prefix-twice", replace("video: {prefix: courses/}", "video: {prefix: uploads/}"), "media-prefix-overlap",
     lambda t: where(t, "video: {prefix: uploads/}", len("video: {prefix: ")),
     "media class 'video' has the same prefix as class 'images' ('uploads/'); each object must belong to one class"),
    ("archive-after-expiry", replace("archive_after_days: 30", "archive_after_days: 500"), "archive-before-expiry",
     lambda t: where(t, "500"),
     "archive_after_days (500) must be less than expire_after_days (400); objects would expire before they are archived"),
    ("region-us-east-99", replace("region: eu-west-1", "region: us-east-99"), "region",
     lambda t: where(t, "us-east-99"), "unknown AWS region 'us-east-99'; did you mean 'us-east-1' or 'us-east-2'?"),
]


@pytest.mark.parametrize("name,mutate,rule,position,message", REGRESSIONS, ids=[r[0] for r in REGRESSIONS])
def test_regression(name: str, mutate: Callable[[str], str], rule: str,
                    position: Callable[[str], tuple[int, int]], message: str) -> None:
    text = mutate(REFERENCE_TEXT)
    result = timed_check(text)
    assert result is not None
    assert [(d.rule, d.line, d.column, d.message) for d in result.errors] == [(rule, *position(text), message)]
    assert_well_formed(result, text)


def test_the_reference_is_valid() -> None:
    result = check_text(REFERENCE_TEXT)
    assert result.valid and result.diagnostics == ()


@pytest.mark.parametrize("text", ["a: \x00", "\x00", "a: " + "\x01" * 10_000, "'\ud800'", "k: \ufffe"])
def test_control_characters_are_counted_not_listed(text: str) -> None:
    result = timed_check(text)
    assert result is not None and not result.valid
    assert all(d.rule == "yaml.control-character" for d in result.errors)
    assert len(result.errors) <= 21
    assert_well_formed(result, text)


def test_positions_count_lines_as_yaml_does() -> None:
    """CR, CRLF, NEL and U+2028 end lines; a BOM takes no column (PyYAML's marks agree)."""
    text = "a: 1\r\nb: 2\rc: 3\x85d: 4\u2028e: \ufeff\x07\n"
    (d,) = check_text(text).errors
    assert (d.line, d.column) == (5, 4)


def test_yaml_escapes_cannot_smuggle_control_characters_into_reports() -> None:
    text = REFERENCE_TEXT.replace("name: guild", 'name: "\\e[31m\\x00\\ud800"\n"\\e]8;;x\\a": 1')
    result = timed_check(text)
    assert result is not None and not result.valid
    assert_well_formed(result, text)


def test_cli_reports_a_nul_at_its_position(tmp_path: Path) -> None:
    target = tmp_path / "backup.yaml"
    text = REFERENCE_TEXT.replace("name: guild", "name: gu\x00ild")
    target.write_text(text)
    line, col = where(text, "\x00")
    run = subprocess.run([str(DEEDBOX), "validate", "-c", str(target)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stderr == ""
    assert run.stdout.splitlines() == [
        f"{target}:{line}:{col}: error [yaml.control-character] control character U+0000 is not allowed in YAML; "
        "delete it (editors may not show it)",
        f"{target}: invalid: 1 error, 0 warnings"]


@pytest.mark.parametrize("n,bracket", [(10_000, "["), (100_000, "["), (10_000, "{"), (100_000, "{")])
def test_cli_answers_deep_nesting_at_the_node(tmp_path: Path, n: int, bracket: str) -> None:
    target = tmp_path / "backup.yaml"
    target.write_text(bracket * n)
    run = subprocess.run([str(DEEDBOX), "validate", "-c", str(target), "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stderr == ""
    assert '"line": 1,\n      "column": 66,' in run.stdout and '"rule": "yaml.depth"' in run.stdout


@pytest.mark.parametrize("content,binary", [
    (b"name: gu\x00ild\n", False),  # a stray NUL in UTF-8 text: positioned (exit 1)
    ("name: guild\n".encode("utf-16-le"), True),  # half NUL
    (b"\x00" * 8, True),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", True),  # not UTF-8, with NULs
])
def test_binary_or_text_with_a_nul(tmp_path: Path, content: bytes, binary: bool) -> None:
    target = tmp_path / "backup.yaml"
    target.write_bytes(content)
    if binary:
        with pytest.raises(UsageError, match="is a binary file"):
            check(target)
    else:
        (d,) = check(target).errors
        assert (d.rule, d.line, d.column) == ("yaml.control-character", 1, 9)
