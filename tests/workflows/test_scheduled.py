"""Generated workflows: cron conversion, schema-valid (check-jsonschema), env file script works."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.errors import ConfigError
from deedbox.secrets.dotenv import parse_env
from deedbox.workflows import WRITE_ENV, to_github_cron


@pytest.mark.parametrize("expr,cron", [
    ("rate(6 hours)", "0 */6 * * *"), ("rate(1 hour)", "0 * * * *"), ("rate(15 minutes)", "*/15 * * * *"),
    ("rate(1 day)", "0 0 * * *"), ("rate(2 days)", "0 0 */2 * *"),
    ("cron(0 7 * * ? *)", "0 7 * * *"), ("cron(0 9 1 * ? *)", "0 9 1 * *"),
    ("cron(30 2 ? * 2-6 *)", "30 2 * * 1-5"), ("cron(0 3 ? * 1,7 *)", "0 3 * * 0,6"),
    ("cron(0 3 ? * MON-FRI *)", "0 3 * * MON-FRI"), ("cron(0/10 * * * ? *)", "0/10 * * * *"),
])
def test_to_github_cron(expr, cron):
    assert to_github_cron(expr) == cron


@pytest.mark.parametrize("expr", ["rate(1 minute)", "rate(7 hours)", "cron(0 0 L * ? *)",
                                  "cron(0 0 ? * 6#3 *)", "cron(0 0 * * ? 2027)", "daily"])
def test_to_github_cron_refuses(expr):
    with pytest.raises(ConfigError):
        to_github_cron(expr)


def test_cli_writes_valid_workflows(tmp_path, reference_config_path, monkeypatch):
    monkeypatch.delenv("DEEDBOX_STACK_OUTPUT", raising=False)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # no pulumi CLI
    out = tmp_path / "wf"
    res = CliRunner().invoke(app, ["workflows", "--config", str(reference_config_path), "--output", str(out)])
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["deedbox-export.yml", "deedbox-media-sync.yml", "deedbox-secrets-verify.yml",
                     "deedbox-status.yml"]
    check = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run([str(check), "--builtin-schema", "vendor.github-workflows",
                           *map(str, sorted(out.iterdir()))], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    export = yaml.safe_load((out / "deedbox-export.yml").read_text())
    assert export["on"]["schedule"] == [{"cron": "0 */6 * * *"}]  # dumped quoted: not YAML 1.1 True
    assert export["env"]["DEEDBOX_BUCKET"] == "guild-backup-222222222222-eu-west-1"
    steps = export["jobs"]["export"]["steps"]
    creds = next(s for s in steps if s.get("uses", "").startswith("aws-actions/"))
    assert "arn:aws:iam::222222222222:role/guild-deedbox-runner" in creds["with"]["role-to-assume"]
    assert steps[-2]["env"] == {"CONVEX_DEPLOY_KEY": "${{ secrets.CONVEX_DEPLOY_KEY }}",
                                "SLACK_WEBHOOK_URL": "${{ secrets.SLACK_WEBHOOK_URL }}"}  # notifications
    secrets = yaml.safe_load((out / "deedbox-secrets-verify.yml").read_text())
    assert secrets["on"]["schedule"] == [{"cron": "0 7 * * *"}]


def test_stack_output_role_is_used(tmp_path, reference_config_path, monkeypatch):
    stack = tmp_path / "out.json"
    stack.write_text('{"bucket": "from-stack", "runner_role_arn": "arn:aws:iam::1:role/r"}')
    monkeypatch.setenv("DEEDBOX_STACK_OUTPUT", str(stack))
    out = tmp_path / "wf"
    assert CliRunner().invoke(app, ["workflows", "--config", str(reference_config_path), "-o", str(out)]).exit_code == 0
    text = (out / "deedbox-status.yml").read_text()
    assert "from-stack" in text and "arn:aws:iam::1:role/r" in text


def test_env_file_script_round_trips(tmp_path):
    values = {"A": 'quote" back\\slash $HOME', "B": "line1\nline2\r\n", "C": "plain"}
    env = {**os.environ, **values, "RUNNER_TEMP": str(tmp_path), "DEEDBOX_KEYS": '["A", "B", "C", "D"]'}
    subprocess.run(["bash", "-c", WRITE_ENV.replace("python ", f"{sys.executable} ", 1)], env=env, check=True)
    path = tmp_path / "live.env"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert parse_env(path.read_text()) == values


def test_install_step_requires_a_pinned_spec(tmp_path, reference_config_path):
    """The jobs hold the runner role: no unpinned `pip install deedbox` by bare name."""
    import yaml

    from deedbox.commands.workflows import run

    assert run(config=reference_config_path, output=tmp_path) == 0
    for path in sorted(tmp_path.glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        (job,) = doc["jobs"].values()
        install = next(s for s in job["steps"] if "DEEDBOX_PIP_SPEC" in s.get("env", {}))
        assert install["env"]["DEEDBOX_PIP_SPEC"] == "${{ vars.DEEDBOX_PIP_SPEC }}", path.name
        assert 'if [ -z "$DEEDBOX_PIP_SPEC" ]' in install["run"] and "exit 1" in install["run"]


def test_secrets_job_reads_convex_keys_from_the_deployment_and_only_external_ones_from_github(reference_config_path):
    """GitHub holds no copy of the keys that live in Convex: the job reads them with the deploy key."""
    from deedbox.config import load
    from deedbox.workflows import workflows

    cfg = load(reference_config_path)
    doc = workflows(cfg, bucket="b", role="arn:aws:iam::1:role/r")["deedbox-secrets-verify.yml"]
    (job,) = doc["jobs"].values()
    text = json.dumps(job)
    verify = next(s for s in job["steps"] if s.get("name") == "Compare with the vault")
    assert verify["run"] == 'deedbox --notify secrets verify --from convex --env-file "$RUNNER_TEMP/live.env"'
    assert verify["env"] == {"CONVEX_DEPLOY_KEY": "${{ secrets.CONVEX_DEPLOY_KEY }}",
                             "SLACK_WEBHOOK_URL": "${{ secrets.SLACK_WEBHOOK_URL }}"}
    writer = next(s for s in job["steps"] if s.get("name") == "Write the external keys to a private file")
    assert json.loads(writer["env"]["DEEDBOX_KEYS"]) == ["CONVEX_DEPLOY_KEY"]
    assert "STRIPE_SECRET_KEY" not in text and "SESSION_SECRET" not in text

    only_convex = dataclasses.replace(cfg, backups=dataclasses.replace(cfg.backups, secrets=dataclasses.replace(
        cfg.backups.secrets, keys=tuple(k for k in cfg.backups.secrets.keys if k.lives_in == "convex"))))
    (job,) = workflows(only_convex, bucket="b", role="r")["deedbox-secrets-verify.yml"]["jobs"].values()
    assert [s["run"] for s in job["steps"] if s.get("name") == "Compare with the vault"] == \
        ["deedbox --notify secrets verify --from convex"]
    assert "live.env" not in json.dumps(job)


def _deedbox_steps(docs: dict) -> list[dict]:
    return [s for doc in docs.values() for job in doc["jobs"].values() for s in job["steps"]
            if "deedbox " in s.get("run", "") and "pip install" not in s["run"]]


def test_scheduled_jobs_notify_and_get_the_webhook_from_github_secrets(reference_config_path):
    """With notifications configured, every deedbox step runs with --notify; the webhook's variable
    comes from the GitHub secret of that name on those steps only (never the workflow's env)."""
    from deedbox.config import load
    from deedbox.workflows import workflows

    docs = workflows(load(reference_config_path), bucket="b", role="r")
    steps = _deedbox_steps(docs)
    assert sorted(s["run"].split(" --from")[0] for s in steps) == [
        "deedbox --notify export --reason scheduled", "deedbox --notify media sync",
        "deedbox --notify secrets verify", "deedbox --notify status",
        "deedbox --notify verify --snapshot latest --read-data"]
    assert all(s["env"]["SLACK_WEBHOOK_URL"] == "${{ secrets.SLACK_WEBHOOK_URL }}" for s in steps)
    others = [s for doc in docs.values() for job in doc["jobs"].values() for s in job["steps"] if s not in steps]
    assert "SLACK_WEBHOOK_URL" not in json.dumps(others) + json.dumps([d["env"] for d in docs.values()])


def test_without_a_channel_no_notify_and_sns_needs_no_secret(reference_config_path):
    from deedbox.config import load
    from deedbox.config.model import Notifications
    from deedbox.workflows import workflows

    cfg = load(reference_config_path)
    quiet = _deedbox_steps(workflows(dataclasses.replace(cfg, notifications=None), bucket="b", role="r"))
    assert quiet and not any("--notify" in s["run"] or "SLACK" in json.dumps(s) for s in quiet)
    only_on = dataclasses.replace(cfg, notifications=Notifications(on=("failure",)))
    assert not any("--notify" in s["run"] for s in _deedbox_steps(workflows(only_on, bucket="b", role="r")))
    sns = dataclasses.replace(cfg, notifications=Notifications(email=("oncall@guild.example",)))
    steps = _deedbox_steps(workflows(sns, bucket="b", role="r"))
    assert all(s["run"].startswith("deedbox --notify ") for s in steps)
    assert "SLACK" not in json.dumps(steps)
