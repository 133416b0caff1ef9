"""``deedbox plan`` end to end: the real infra/ program, the CLI exit codes, ``--base`` in a git repo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deedbox.cli import app

runner = CliRunner()


def plan(*args: str):
    return runner.invoke(app, ["plan", *args])


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, reference_config_path: Path) -> Path:
    """A git repository whose HEAD~1 holds the reference config and HEAD a longer lock."""
    git(tmp_path, "init", "-q", "-b", "main")
    text = reference_config_path.read_text()
    (tmp_path / "backup.yaml").write_text(text)
    git(tmp_path, "add", "backup.yaml")
    git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "backup.yaml").write_text(text.replace("days: 35}", "days: 40}"))
    git(tmp_path, "commit", "-q", "-am", "head")
    return tmp_path


def test_json_plan_of_the_reference_config(reference_config_path):
    result = plan("--config", str(reference_config_path), "--format", "json")
    doc = json.loads(result.stdout)
    assert set(doc) == {"resources", "policy"}
    types = {r["type"] for r in doc["resources"]}
    assert "aws:s3/bucket:Bucket" in types and "pulumi:providers:aws" in types
    failed = [p for p in doc["policy"] if p["status"] == "fail" and p["level"] == "mandatory"]
    assert result.exit_code == (1 if failed else 0)


def test_base_diff_in_a_git_repository(repo):
    result = plan("--config", str(repo / "backup.yaml"), "--base", "HEAD~1", "--format", "json")
    doc = json.loads(result.stdout)
    changed = {c["name"]: c["changes"] for c in doc["diff"]["changed"]}
    lock = next(changes for name, changes in changed.items() if "lock" in name)
    assert {"path": "rule.defaultRetention.days", "before": 35.0, "after": 40.0} in lock
    assert doc["diff"]["added"] == [] and doc["diff"]["removed"] == []


def test_base_where_the_config_did_not_exist_adds_everything(tmp_path, reference_config_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "before the config")
    (tmp_path / "backup.yaml").write_text(reference_config_path.read_text())
    result = plan("--config", str(tmp_path / "backup.yaml"), "--base", "HEAD", "--format", "json")
    doc = json.loads(result.stdout)
    assert len(doc["diff"]["added"]) == len(doc["resources"]) > 0 and doc["diff"]["removed"] == []


def test_missing_ref_is_a_usage_error(repo):
    result = plan("--config", str(repo / "backup.yaml"), "--base", "no-such-ref")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "deedbox: error: --base no-such-ref: no such git ref (fetch it first, e.g. git fetch origin)"]


def test_not_a_git_repository_is_a_usage_error(tmp_path, reference_config_path):
    config = tmp_path / "backup.yaml"
    config.write_text(reference_config_path.read_text())
    result = plan("--config", str(config), "--base", "main")
    assert result.exit_code == 2 and "is not inside a git repository" in result.stderr


def test_invalid_config_prints_validate_style_errors(tmp_path, reference_config_path):
    config = tmp_path / "backup.yaml"
    config.write_text(reference_config_path.read_text().replace('account: "222222222222"', 'account: "111111111111"'))
    result = plan("--config", str(config))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{config}:") and "[" in result.stderr


def test_markdown_plan(reference_config_path):
    result = plan("--config", str(reference_config_path), "--format", "markdown")
    assert "```mermaid" in result.stdout and "| Policy | Level | Status |" in result.stdout
    assert "Convex happy-otter-123 + guild-media-prod" in result.stdout


def test_no_secret_value_from_the_environment_reaches_any_output(reference_config_path, monkeypatch):
    canaries = {k: f"canary-{k.lower()}-7f3a9c" for k in
                ("CONVEX_DEPLOY_KEY", "STRIPE_SECRET_KEY", "SESSION_SECRET", "SLACK_WEBHOOK_URL", "CONVEX_TEAM_TOKEN")}
    for key, value in canaries.items():
        monkeypatch.setenv(key, value)
    for fmt in ("text", "json", "markdown"):
        out = plan("--config", str(reference_config_path), "--format", fmt).stdout
        assert out and not [v for v in canaries.values() if v in out], fmt
