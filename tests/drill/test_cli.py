"""``deedbox drill run|list|reap`` through the real CLI entry (typer), the real AutomationBackend
(selected by env: DEEDBOX_PULUMI_ROOT, PULUMI_BACKEND_URL) and the default Convex client."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from typer.testing import CliRunner

from deedbox.cli import app


@pytest.fixture
def cli_env(fake, store, vault, monkeypatch, tmp_path, reference_config_path):
    monkeypatch.setenv("DEEDBOX_PULUMI_ROOT", str(fake.root))
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{fake.state_dir}")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "drill-pass")
    monkeypatch.setenv("DEEDBOX_BUCKET", store.bucket)
    script = tmp_path / "push.py"
    script.write_text("import os, sys\nsys.exit(0 if os.environ.get('CONVEX_DEPLOY_KEY') else 4)\n")
    text = reference_config_path.read_text().replace("npx convex deploy --yes", f"{sys.executable} {script}")
    path = tmp_path / "backup.yaml"
    path.write_text(text)
    shutil.copytree(reference_config_path.parent / "infra" / "drill", tmp_path / "infra" / "drill")  # as `init` writes it
    return path


def test_drill_run_then_list_json(cli_env, snapshot, fake):
    res = CliRunner().invoke(app, ["drill", "run", "--config", str(cli_env), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "passed" and doc["steps"][3]["name"] == "code push"
    assert doc["steps"][3]["status"] == "passed"
    assert doc["steps"][2]["name"] == "restore secrets" and doc["steps"][2]["status"] == "passed"
    assert fake.stacks() == {}
    listed = CliRunner().invoke(app, ["drill", "list", "--config", str(cli_env), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)["reports"]
    assert row["status"] == "passed" and row["stores"]["secrets"] == "passed"
    assert row["html"].endswith("/report.html")
    text = CliRunner().invoke(app, ["drill", "list", "--config", str(cli_env)]).stdout
    assert f"RTO of 1 passed drills: newest {_dur(row['rto_s'])}" in text and "[backend:passed secrets:passed]" in text


def _dur(seconds):
    from deedbox.drill.report import format_duration
    return format_duration(seconds)


def test_drill_run_failure_exit_1_text(cli_env, snapshot, fake, drill_server):
    drill_server.functions.pop(("query", "users:me"))
    res = CliRunner().invoke(app, ["drill", "run", "--config", str(cli_env)])
    assert res.exit_code == 1
    assert "FAILED at step `checks`" in res.stdout and "check failed  log in" in res.stdout
    assert fake.stacks() == {}


def test_drill_reap_cli(cli_env, fake):
    fake.add_stack("drill-20200101T000000Z", tags={"deedbox:expires": "2020-01-01T04:00:00Z"})
    res = CliRunner().invoke(app, ["drill", "reap", "--config", str(cli_env)])
    assert res.exit_code == 0, res.output
    assert "reaped  drill-20200101T000000Z" in res.stdout and fake.stacks() == {}


def test_drill_list_without_passphrase_still_lists_reports(cli_env, snapshot, fake, monkeypatch):
    res = CliRunner().invoke(app, ["drill", "run", "--config", str(cli_env), "--format", "json"])
    assert res.exit_code == 0, res.output
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    listed = CliRunner().invoke(app, ["drill", "list", "--config", str(cli_env), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    doc = json.loads(listed.stdout)
    assert [r["status"] for r in doc["reports"]] == ["passed"]
    assert doc["stacks"] == [] and "PULUMI_CONFIG_PASSPHRASE" in doc["stacks_unavailable"]
    text = CliRunner().invoke(app, ["drill", "list", "--config", str(cli_env)])
    assert text.exit_code == 0 and "stacks not listed: set PULUMI_CONFIG_PASSPHRASE" in text.stdout
