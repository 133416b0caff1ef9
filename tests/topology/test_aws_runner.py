"""``runner.kind: aws``: EventBridge Scheduler starts one CodeBuild project per job, in the destination
account, with the command lines the GitHub workflows run, and secrets only by Secrets Manager ARN.

Second opinions: botocore's ``scheduler`` and ``codebuild`` models for every request, including the
StartBuild request each schedule sends (moto's CodeBuild demands a source ``location`` even for
``NO_SOURCE``, which the real API and botocore's ``ProjectSource`` do not, so the project is checked
against botocore only); moto for the schedules and the roles. The buildspec's shell is run for real
(bash, a stub ``deedbox`` that records what it was asked), because a heredoc or a quote gone wrong
would only show on the first scheduled build.
"""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from botocore import xform_name

from deedbox.config.jobs import jobs
from deedbox.plan.evaluate import evaluate, mandatory_failures
from deedbox.secrets.dotenv import parse_env
from deedbox.topology.buildspec import CONFIG_EOF, IMAGE, buildspec
from deedbox.topology.scheduler import CODEBUILD_MAX_TIMEOUT
from tests.topology.conftest import AWS_SECRETS
from tests.topology.requests import bounds, calls, problems, universal_call

SCHEDULE = "aws:scheduler/schedule:Schedule"
PROJECT = "aws:codebuild/project:Project"
JOBS = ["export", "media", "secrets", "status", "drill"]


@pytest.fixture(scope="module")
def aws_runner(planned):
    return planned("aws-runner")


def _of(g, type_: str, parent_type: str = "deedbox:scheduler:JobScheduler"):
    return [r for r in g.of_type(type_) if g.by_urn(r.parent).type == parent_type]


# --------------------------------------------------------------------------- the plan

def test_the_plan_holds_one_schedule_per_job_the_project_and_the_roles_and_passes_the_pack(aws_runner):
    cfg, g = aws_runner
    schedules = {s.inputs["name"]: s for s in _of(g, SCHEDULE)}
    assert sorted(schedules) == sorted(f"guild-deedbox-{j}" for j in JOBS)
    for job in jobs(cfg):
        s = schedules[f"guild-deedbox-{job.id}"].inputs
        assert s["scheduleExpression"] == job.schedule and s["groupName"] == "guild-deedbox-jobs"
        assert s["flexibleTimeWindow"] == {"mode": "OFF"}
    (project,) = _of(g, PROJECT)
    assert project.inputs["name"] == "guild-deedbox-jobs"
    assert project.inputs["serviceRole"] == "arn:aws:iam::222222222222:role/guild-deedbox-runner"
    assert project.inputs["source"]["type"] == "NO_SOURCE" and project.inputs["artifacts"] == {"type": "NO_ARTIFACTS"}
    assert project.inputs["environment"]["image"] == IMAGE == "aws/codebuild/standard:7.0"
    roles = {r.inputs["name"] for r in g.of_type("aws:iam/role:Role")}
    assert {"guild-deedbox-runner", "guild-deedbox-scheduler", "guild-deedbox-watch"} <= roles
    assert not g.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")  # no GitHub anywhere
    assert mandatory_failures(evaluate(g)) == []
    assert {v.policy for v in evaluate(g) if v.status == "fail"} <= {"media-replicas-unlocked"}


def test_each_schedule_starts_its_job_with_a_request_codebuild_accepts(aws_runner):
    cfg, g = aws_runner
    by_job = {j.id: j for j in jobs(cfg)}
    for schedule in _of(g, SCHEDULE):
        job = by_job[schedule.inputs["name"].removeprefix("guild-deedbox-")]
        call = universal_call(schedule)
        assert (call.service, call.operation) == ("codebuild", "StartBuild")
        assert call.params == {
            "projectName": "guild-deedbox-jobs",
            "environmentVariablesOverride": [{"name": "DEEDBOX_JOB", "value": job.id, "type": "PLAINTEXT"}],
            "timeoutInMinutesOverride": min(job.timeout_minutes, CODEBUILD_MAX_TIMEOUT)}
        assert problems(call) == bounds(call) == []
        (create,) = calls(schedule)
        assert problems(create) == bounds(create) == []
        assert schedule.inputs["target"]["roleArn"] == "arn:aws:iam::222222222222:role/guild-deedbox-scheduler"


def test_the_drills_timeout_is_capped_at_codebuilds_limit(aws_runner, planned, variant_dir):
    from tests.topology.conftest import _aws_runner, plan, write_variant

    def long_drills(d: dict) -> None:
        _aws_runner(d)
        d["drills"]["ttl_hours"] = 72  # 72 h + 30 min: more than a build may last (2160 min)
    g = plan(write_variant(variant_dir, "aws-long-drills", long_drills))
    drill = next(s for s in _of(g, SCHEDULE) if s.inputs["name"].endswith("-drill"))
    assert universal_call(drill).params["timeoutInMinutesOverride"] == CODEBUILD_MAX_TIMEOUT == 2160


def test_secrets_reach_the_build_by_arn_only(aws_runner):
    cfg, g = aws_runner
    (project,) = _of(g, PROJECT)
    variables = {v["name"]: (v["type"], v["value"]) for v in project.inputs["environment"]["environmentVariables"]}
    assert {k: v for k, (t, v) in variables.items() if t == "SECRETS_MANAGER"} == AWS_SECRETS
    assert {k: v for k, (t, v) in variables.items() if t == "PLAINTEXT"} == {
        "DEEDBOX_PIP_SPEC": "deedbox==0.1.0", "DEEDBOX_BUCKET": "guild-backup-222222222222-eu-west-1",
        "DEEDBOX_PULUMI_VERSION": "3.272.0"}
    (create,) = calls(project)
    assert problems(create) == bounds(create) == []


def test_the_runner_is_codebuilds_for_this_project_and_reads_exactly_the_job_secrets(aws_runner):
    cfg, g = aws_runner
    (policy,) = [p for p in g.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs.get("name") == "deedbox-backup-runner"]
    by_sid = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    group = "arn:aws:logs:eu-west-1:222222222222:log-group:/aws/codebuild/guild-deedbox-jobs"
    assert by_sid["WriteBuildLogs"] == {"Sid": "WriteBuildLogs", "Effect": "Allow",
                                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                        "Resource": [group, f"{group}:*"]}
    assert by_sid["ReadJobSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert set(by_sid["ReadJobSecrets"]["Resource"]) == {a for arn in AWS_SECRETS.values() for a in (arn, f"{arn}-??????")}
    (log,) = _of(g, "aws:cloudwatch/logGroup:LogGroup")
    assert log.inputs["name"] == "/aws/codebuild/guild-deedbox-jobs"


def test_the_scheduler_role_may_only_start_this_project_for_this_accounts_job_schedules(aws_runner):
    _, g = aws_runner
    (role,) = [r for r in _of(g, "aws:iam/role:Role") if r.inputs["name"] == "guild-deedbox-scheduler"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "222222222222"}, "ArnLike": {
        "aws:SourceArn": ["arn:aws:scheduler:eu-west-1:222222222222:schedule-group/guild-deedbox-jobs"]}}
    (policy,) = [p for p in _of(g, "aws:iam/rolePolicy:RolePolicy")]
    assert json.loads(policy.inputs["policy"])["Statement"] == [{
        "Sid": "StartDeedboxJobs", "Effect": "Allow", "Action": ["codebuild:StartBuild"],
        "Resource": ["arn:aws:codebuild:eu-west-1:222222222222:project/guild-deedbox-jobs"]}]


def test_schedules_and_roles_are_accepted_by_moto(aws, aws_runner):
    """moto's Scheduler stores schedules with their targets; its IAM parses the trust policies."""
    _, g = aws_runner
    here = lambda text: text.replace("222222222222", "123456789012")  # noqa: E731 - moto's own account
    order = ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:scheduler/scheduleGroup:ScheduleGroup", SCHEDULE]
    for type_ in order:
        for r in g.of_type(type_):
            if g.by_urn(r.parent).type not in ("deedbox:scheduler:JobScheduler", "deedbox:deadman:DeadMansSwitch"):
                continue
            for call in calls(r):
                params = json.loads(here(json.dumps(call.params)))
                getattr(aws.client(call.service, "eu-west-1"), xform_name(call.operation))(**params)
    scheduler = aws.client("scheduler", "eu-west-1")
    listed = scheduler.list_schedules(GroupName="guild-deedbox-jobs")["Schedules"]
    assert sorted(s["Name"] for s in listed) == sorted(f"guild-deedbox-{j}" for j in JOBS)
    export = scheduler.get_schedule(Name="guild-deedbox-export", GroupName="guild-deedbox-jobs")
    assert export["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:codebuild:startBuild"
    assert json.loads(export["Target"]["Input"])["projectName"] == "guild-deedbox-jobs"


# --------------------------------------------------------------------------- the buildspec, run

STUB = """#!{python}
import json, os, sys
args = sys.argv[1:]
record = {{"args": args, "env": {{k: os.environ.get(k) for k in json.loads(os.environ["WATCHED"])}}}}
if "--env-file" in args:
    record["env_file"] = open(args[args.index("--env-file") + 1]).read()
    record["env_file_mode"] = oct(os.stat(args[args.index("--env-file") + 1]).st_mode & 0o777)
with open(os.environ["STUB_LOG"], "a") as f:
    f.write(json.dumps(record) + "\\n")
"""


def _executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def build_dir(tmp_path, aws_runner):
    """A CodeBuild-like directory: the install phase's .venv (deedbox a stub, python the real one)."""
    cfg, _ = aws_runner
    _executable(tmp_path / ".venv/bin/deedbox", STUB.format(python=sys.executable))
    (tmp_path / ".venv/bin/python").symlink_to(sys.executable)
    _executable(tmp_path / "tools/curl", "#!/bin/sh\necho \"$@\" >> \"$STUB_LOG.curl\"\n")
    _executable(tmp_path / "tools/tar", "#!/bin/sh\nexit 0\n")
    return tmp_path


def _run(build_dir: Path, command: str, job: str | None, extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": f"{build_dir / 'tools'}:/usr/bin:/bin", "HOME": str(build_dir), "STUB_LOG": str(build_dir / "log"),
           "WATCHED": json.dumps(sorted(extra)), **extra}
    if job is not None:
        env["DEEDBOX_JOB"] = job
    return subprocess.run(["bash", "-c", command], cwd=build_dir, env=env, capture_output=True, text=True, timeout=60)


def _log(build_dir: Path) -> list[dict]:
    path = build_dir / "log"
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return [json.loads(line) for line in lines]


def test_the_pre_build_phase_writes_the_reviewed_config_byte_for_byte(build_dir, aws_runner):
    cfg, _ = aws_runner
    spec = yaml.safe_load(buildspec(cfg, jobs(cfg)))
    assert spec["version"] == 0.2 and spec["phases"]["install"]["runtime-versions"] == {"python": "3.11", "nodejs": "20"}
    assert spec["phases"]["install"]["commands"][-1].endswith('pip install --quiet --disable-pip-version-check '
                                                              '"$DEEDBOX_PIP_SPEC"')
    for command in spec["phases"]["pre_build"]["commands"]:
        done = _run(build_dir, command, None, {})
        assert done.returncode == 0, done.stderr
    assert (build_dir / "backup.yaml").read_text() == cfg.text
    assert [r["args"] for r in _log(build_dir)] == [["init", "--dir", ".", "--format", "json"],
                                                    ["validate", "--config", "backup.yaml"]]


def test_the_build_phase_runs_each_jobs_command_lines(build_dir, aws_runner):
    cfg, _ = aws_runner
    (command,) = yaml.safe_load(buildspec(cfg, jobs(cfg)))["phases"]["build"]["commands"]
    values = {"CONVEX_DEPLOY_KEY": 'prod:happy-otter-123|k"e$y\\with\nnewline', "DEEDBOX_PULUMI_VERSION": "3.272.0"}
    for job in jobs(cfg):
        done = _run(build_dir, command, job.id, values)
        assert done.returncode == 0, done.stderr
        records = _log(build_dir)
        ran = [r["args"] for r in records]
        assert ran == [shlex.split(c.line(ran[n][-1] if c.env_file else None))[1:]
                       for n, c in enumerate(job.commands)], job.id
        if job.id == "secrets":
            (record,) = records
            assert record["args"][-1].endswith("/live.env")
            assert parse_env(record["env_file"]) == {"CONVEX_DEPLOY_KEY": values["CONVEX_DEPLOY_KEY"]}
            assert record["env_file_mode"] == "0o600"
        if job.id == "drill":
            assert (build_dir / "log.curl").read_text().split()[-1] == (
                "https://get.pulumi.com/releases/sdk/pulumi-v3.272.0-linux-x64.tar.gz")
    done = _run(build_dir, command, "backup-everything", {})
    assert done.returncode == 2 and _log(build_dir) == []
    assert done.stderr.strip() == ("DEEDBOX_JOB=backup-everything is not a deedbox job "
                                   "(one of: export, media, secrets, status, drill)")


def test_the_env_file_is_removed_when_the_job_ends(build_dir, aws_runner):
    cfg, _ = aws_runner
    (command,) = yaml.safe_load(buildspec(cfg, jobs(cfg)))["phases"]["build"]["commands"]
    probe = command.replace('deedbox --notify secrets verify', 'echo "$DEEDBOX_TMP" > tmpdir; deedbox --notify secrets verify')
    done = _run(build_dir, probe, "secrets", {"CONVEX_DEPLOY_KEY": "k"})
    assert done.returncode == 0, done.stderr
    assert not Path((build_dir / "tmpdir").read_text().strip()).exists()


def test_a_config_line_equal_to_the_heredoc_terminator_is_refused(aws_runner):
    from dataclasses import replace

    from deedbox.errors import ConfigError

    cfg, _ = aws_runner
    with pytest.raises(ConfigError, match=CONFIG_EOF):
        buildspec(replace(cfg, text=cfg.text + f"# {CONFIG_EOF}\n{CONFIG_EOF}\n"), jobs(cfg))
    with pytest.raises(ConfigError, match="load the config from its file"):
        buildspec(replace(cfg, text=None), jobs(cfg))
