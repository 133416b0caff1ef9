"""Where the bucket comes from: flag, DEEDBOX_BUCKET, stack output file; else one clear hint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from deedbox.bucket.locate import resolve_bucket
from deedbox.errors import EnvironmentProblem


@pytest.fixture(autouse=True)
def no_pulumi(monkeypatch):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # the venv has no pulumi CLI
    monkeypatch.delenv("DEEDBOX_BUCKET", raising=False)
    monkeypatch.delenv("DEEDBOX_STACK_OUTPUT", raising=False)


def test_flag_then_env(monkeypatch):
    monkeypatch.setenv("DEEDBOX_BUCKET", "from-env")
    assert resolve_bucket("from-flag") == "from-flag"
    assert resolve_bucket(None) == "from-env"


@pytest.mark.parametrize("doc", [
    {"bucket": "b1", "runner_role_arn": "r"},
    {"store_bucket": "x", "deedbox": {"schema": 1, "bucket": "b1"}},  # a whole `pulumi stack output --json`
])
def test_stack_output_file(tmp_path, monkeypatch, doc):
    path = tmp_path / "out.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setenv("DEEDBOX_STACK_OUTPUT", str(path))
    assert resolve_bucket(None) == "b1"


def test_nothing_gives_one_line_hint():
    with pytest.raises(EnvironmentProblem) as err:
        resolve_bucket(None)
    assert "--bucket" in str(err.value) and "DEEDBOX_BUCKET" in str(err.value) and "\n" not in str(err.value)


def test_unreadable_stack_output(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    path.write_text("{not json")
    monkeypatch.setenv("DEEDBOX_STACK_OUTPUT", str(path))
    with pytest.raises(EnvironmentProblem, match="DEEDBOX_STACK_OUTPUT"):
        resolve_bucket(None)
