"""One list of scheduled jobs for every runner: the GitHub workflows run exactly its command lines, and
``runner.kind: aws`` (whose jobs EventBridge Scheduler starts) gets no workflows written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.config import load
from deedbox.config.jobs import STATUS_SCHEDULE, env_file_script, jobs
from deedbox.errors import UsageError
from deedbox.workflows import FILES, WRITE_ENV, to_github_cron, workflows

CASES = Path(__file__).resolve().parents[1] / "config" / "cases" / "positive"
AWS = CASES / "aws-runner.yaml"


def _runs(doc: dict) -> list[str]:
    (job,) = doc["jobs"].values()
    return [s["run"] for s in job["steps"] if s.get("run", "").startswith("deedbox ")]


GITHUB = [p for p in sorted(CASES.glob("*.yaml")) if "kind: aws" not in p.read_text()]  # aws: below


@pytest.mark.parametrize("path", [Path("backup.yaml"), *GITHUB], ids=lambda p: p.stem)
def test_each_workflow_runs_the_shared_command_lines_on_the_shared_schedule(path, repo_root):
    cfg = load(repo_root / path if not path.is_absolute() else path)
    docs = workflows(cfg, bucket="b", role="arn:aws:iam::222222222222:role/r")
    shared = {j.id: j for j in jobs(cfg)}
    assert set(docs) == {FILES[i] for i in shared if i in FILES}
    for job_id, job in shared.items():
        if job_id not in FILES:
            assert job_id == "drill"  # GitHub Actions never scheduled drills
            continue
        doc = docs[FILES[job_id]]
        assert doc["on"]["schedule"] == [{"cron": to_github_cron(job.schedule)}]
        assert _runs(doc) == [c.line("$RUNNER_TEMP/live.env") for c in job.commands]


def test_the_status_schedule_is_githubs_hourly_cron_off_the_hour():
    assert to_github_cron(STATUS_SCHEDULE) == "17 * * * *"


def test_the_env_file_script_is_shared_and_writes_where_it_is_told():
    assert env_file_script("RUNNER_TEMP") == WRITE_ENV
    assert env_file_script("DEEDBOX_TMP") == WRITE_ENV.replace("os.environ['RUNNER_TEMP']", "os.environ['DEEDBOX_TMP']")


def test_the_aws_runner_has_no_workflows_to_write():
    with pytest.raises(UsageError, match="runner.kind is aws: EventBridge Scheduler runs the jobs"):
        workflows(load(AWS), bucket="b", role="r")


def test_cli_says_there_is_nothing_to_write_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("DEEDBOX_STACK_OUTPUT", raising=False)
    monkeypatch.setattr("deedbox.bucket.locate.shutil.which", lambda name: None)  # no pulumi CLI
    out = tmp_path / "wf"
    res = CliRunner().invoke(app, ["workflows", "--config", str(AWS), "--output", str(out)])
    assert res.exit_code == 2 and res.stdout == "" and not out.exists()
    assert res.stderr.strip() == (
        "deedbox: error: runner.kind is aws: EventBridge Scheduler runs the jobs in the destination account "
        "(`pulumi up` declares the schedules and the CodeBuild project); there are no GitHub workflows to write")


def test_drill_job_reads_the_targets_references_and_the_drill_state_passphrase():
    cfg = load(AWS)
    drill = next(j for j in jobs(cfg) if j.id == "drill")
    (command,) = drill.commands
    assert command.line() == "deedbox --notify drill run"
    assert drill.env == ("CONVEX_TEAM_TOKEN", "CONVEX_PROJECT_ID", "PULUMI_CONFIG_PASSPHRASE", "SLACK_WEBHOOK_URL")
    assert drill.timeout_minutes == cfg.drills.ttl_hours * 60 + 30 and drill.schedule == cfg.drills.schedule


def test_secrets_job_reads_external_keys_from_a_file_and_convex_keys_from_the_deployment():
    cfg = load(AWS)
    (command,) = next(j for j in jobs(cfg) if j.id == "secrets").commands
    assert command.env_file == ("CONVEX_DEPLOY_KEY",)
    assert command.line("$X/live.env") == 'deedbox --notify secrets verify --from convex --env-file "$X/live.env"'
    assert yaml.safe_load("x: " + command.line("$X/live.env"))  # a plain scalar in either YAML dialect
