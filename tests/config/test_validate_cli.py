"""``deedbox validate`` through the real console script: formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DEEDBOX = Path(sys.executable).with_name("deedbox")
NEGATIVE = Path(__file__).parent / "cases" / "negative"


def validate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DEEDBOX), "validate", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def assert_one_clean_line(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_reference_is_valid_in_text(repo_root: Path) -> None:
    run = validate(cwd=repo_root)  # default --config ./backup.yaml
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "backup.yaml: valid: 0 errors, 0 warnings\n"


def test_json_has_exactly_the_contract_shape(repo_root: Path) -> None:
    run = validate("--config", str(NEGATIVE / "lock-covers-drill-interval.yaml"), "--format", "json")
    assert run.returncode == 1
    body = json.loads(run.stdout)
    assert set(body) == {"valid", "errors", "warnings"} and body["valid"] is False
    assert body["errors"] == [{
        "line": 21, "column": 42, "path": "destination.immutability.days", "rule": "lock-covers-drill-interval",
        "message": "a 7-day lock is shorter than the longest gap between drills (31 days); "
                   "a drill must find the backup it restores still locked"}]
    assert body["warnings"] == []


def test_json_valid_reference(reference_config_path: Path) -> None:
    run = validate("-c", str(reference_config_path), "--format", "json")
    assert run.returncode == 0
    assert json.loads(run.stdout) == {"valid": True, "errors": [], "warnings": []}


def test_github_annotations(tmp_path: Path) -> None:
    target = tmp_path / "backup.yaml"
    target.write_text((NEGATIVE / "schema-deploy-key-value.yaml").read_text())
    run = validate("--config", str(target), "--format", "github")
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        f"::error file={target},line=11,col=17,title=deedbox [schema.type]::expected a mapping, got a string",
        f"::error file={target},line=11,col=17,title=deedbox [secret-value]::this value looks like a Convex "
        "deploy key; keep secrets out of backup.yaml and reference them as {env: NAME}",
    ]
    assert "happy-otter-123|" not in run.stdout + run.stderr


def test_text_lists_every_error_and_a_summary() -> None:
    case = NEGATIVE / "yaml-duplicate-top-key.yaml"
    run = validate("-c", str(case))
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        f"{case}:29:1: error [yaml.duplicate-key] duplicate key 'name' (first at line 4)",
        f"{case}: invalid: 1 error, 0 warnings",
    ]


def test_syntax_error_is_invalid_content_with_position(tmp_path: Path) -> None:
    bad = tmp_path / "backup.yaml"
    bad.write_text("version: 1\nsource: [a,\n")
    run = validate("-c", str(bad), "--format", "json")
    assert run.returncode == 1
    (error,) = json.loads(run.stdout)["errors"]
    assert (error["rule"], error["line"], error["column"]) == ("yaml.syntax", 3, 1)


def test_empty_file_is_invalid_at_1_1(tmp_path: Path) -> None:
    empty = tmp_path / "backup.yaml"
    empty.write_bytes(b"")
    run = validate("-c", str(empty))
    assert run.returncode == 1
    assert run.stdout.startswith(f"{empty}:1:1: error [yaml.empty] the file is empty")


@pytest.mark.parametrize("kind", ["missing", "directory", "binary", "latin-1"])
def test_unreadable_files_exit_2_with_one_line(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "backup.yaml"
    if kind == "directory":
        target.mkdir()
    elif kind == "binary":
        target.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    elif kind == "latin-1":
        target.write_bytes("name: caf\xe9\n".encode("latin-1"))
    run = validate("-c", str(target), "--format", "json")
    assert run.returncode == 2
    assert run.stdout == ""
    assert_one_clean_line(run.stderr)
    expected = {"missing": "no such file", "directory": "is a directory", "binary": "is a binary file",
                "latin-1": "is not UTF-8 text"}[kind]
    assert run.stderr == f"deedbox: error: {target}: {expected}" + run.stderr.split(expected, 1)[1]


def test_bad_format_is_a_usage_error(reference_config_path: Path) -> None:
    run = validate("-c", str(reference_config_path), "--format", "xml")
    assert run.returncode == 2
