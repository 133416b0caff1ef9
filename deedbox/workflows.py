"""GitHub Actions workflows for the scheduled jobs, generated from backup.yaml.

One workflow per job of ``deedbox.config.jobs`` (export + verify, media sync, secrets verify,
status: the list the ``aws`` runner schedules too), each on the schedule the config gives,
converted from EventBridge's dialect to GitHub's 5-field cron (``to_github_cron``). Jobs get
AWS credentials through OIDC (``id-token: write``) for the runner role: the stack output's
``runner_role_arn`` when readable, else the deterministic name the topology gives it,
overridable by the repository variable ``DEEDBOX_RUNNER_ROLE_ARN``. Secret values come from
GitHub secrets named after the config's env references; none is written here.

When backup.yaml has a notification channel, every deedbox step runs with ``--notify``
(docs/notify.md), and the Slack webhook's variable (``notifications.slack_webhook.env``) comes
from the GitHub secret of that name, on those steps only; SNS needs no secret (the runner role).
"""

from __future__ import annotations

import re
from typing import Any

from deedbox.config.jobs import Command, env_file_script, jobs
from deedbox.config.model import Config
from deedbox.errors import ConfigError, UsageError

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")


def to_github_cron(expr: str) -> str:
    """EventBridge ``rate(...)``/``cron(...)`` → GitHub's 5-field cron; ConfigError if impossible."""
    expr = expr.strip()
    if m := _RATE.match(expr):
        return _rate(int(m.group(1)), m.group(2).rstrip("s"), expr)
    if m := _CRON.match(expr):
        return _cron(m.group(1).split(), expr)
    raise ConfigError(f"schedule {expr!r}: expected rate(N unit) or cron(6 fields)")


def _rate(n: int, unit: str, expr: str) -> str:
    minutes = n * {"minute": 1, "hour": 60, "day": 1440}[unit]
    if minutes < 5:
        raise ConfigError(f"schedule {expr!r}: GitHub Actions runs schedules at most every 5 minutes")
    if minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    if minutes % 60 == 0 and minutes < 1440 and 1440 % minutes == 0:
        hours = minutes // 60
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "0 0 * * *" if days == 1 else f"0 0 */{days} * *"  # restarts each month
    raise ConfigError(f"schedule {expr!r}: no exact 5-field cron; use cron(...) in backup.yaml")


def _cron(fields: list[str], expr: str) -> str:
    if len(fields) != 6:
        raise ConfigError(f"schedule {expr!r}: EventBridge cron has 6 fields")
    minute, hour, dom, month, dow, year = fields
    if year not in ("*", "?"):
        raise ConfigError(f"schedule {expr!r}: GitHub cron has no year field")
    for part in (dom, dow):
        if re.search(r"[LW#]", part):
            raise ConfigError(f"schedule {expr!r}: L, W and # have no GitHub cron equivalent")
    dom = "*" if dom == "?" else dom
    return " ".join((minute, hour, dom, month, _dow(dow)))


def _dow(field: str) -> str:
    """EventBridge numbers days 1-7 from Sunday; cron 0-6. Names pass through."""
    if field in ("?", "*"):
        return "*"
    return re.sub(r"(?<![/\w])([1-7])", lambda m: str(int(m.group(1)) - 1), field)


# --------------------------------------------------------------------------- documents

_INSTALL = """\
if [ -z "$DEEDBOX_PIP_SPEC" ]; then
  echo "::error::set the repository variable DEEDBOX_PIP_SPEC to a pinned deedbox, e.g. git+https://github.com/<owner>/deedbox@<commit sha>"
  exit 1
fi
pip install "$DEEDBOX_PIP_SPEC"
"""


def _setup_steps(region: str, role: str) -> list[dict]:
    return [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
        # These jobs hold the runner role (and, for secrets, the deploy key and the external keys): never install
        # an unpinned package by bare name. The repository variable names the exact deedbox.
        {"name": "Install deedbox (pinned by the DEEDBOX_PIP_SPEC repository variable)",
         "run": _INSTALL, "env": {"DEEDBOX_PIP_SPEC": "${{ vars.DEEDBOX_PIP_SPEC }}"}},
        {"uses": "aws-actions/configure-aws-credentials@v4",
         "with": {"role-to-assume": f"${{{{ vars.DEEDBOX_RUNNER_ROLE_ARN || '{role}' }}}}",
                  "aws-region": region, "role-session-name": "deedbox"}},
    ]


def _workflow(title: str, cron: str, job: str, steps: list[dict], ctx: dict) -> dict:
    job_doc: dict[str, Any] = {
        "runs-on": "ubuntu-latest", "timeout-minutes": ctx.get("timeout", 60),
        "steps": _setup_steps(ctx["region"], ctx["role"]) + steps,
    }
    if ctx.get("environment"):
        job_doc["environment"] = ctx["environment"]
    return {
        "name": title,
        "on": {"schedule": [{"cron": cron}], "workflow_dispatch": {}},
        "permissions": {"id-token": "write", "contents": "read"},
        "concurrency": {"group": f"deedbox-{job}", "cancel-in-progress": False},
        "env": {"DEEDBOX_BUCKET": ctx["bucket"]},
        "jobs": {job: job_doc},
    }


def _secret_env(*names: str) -> dict[str, str]:
    return {n: f"${{{{ secrets.{n} }}}}" for n in names}


WRITE_ENV = env_file_script("RUNNER_TEMP")  # the external keys into $RUNNER_TEMP/live.env, mode 0600


def _step(command: Command) -> dict[str, Any]:
    """One deedbox step; the variables it reads come from GitHub secrets of the same names."""
    step: dict[str, Any] = {"name": command.name, "run": command.line('$RUNNER_TEMP/live.env')}
    if command.env:
        step["env"] = _secret_env(*command.env)
    return step


def _steps(command: Command) -> list[dict[str, Any]]:
    """The command's step; with an env file, the steps that write it first and remove it after.
    Keys that live in Convex are read from the deployment with the deploy key (GitHub holds no
    copy of them); only ``external`` keys come from GitHub secrets, through a private file."""
    if not command.env_file:
        return [_step(command)]
    keys = list(command.env_file)
    return [{"name": "Write the external keys to a private file", "run": WRITE_ENV,
             "env": {"DEEDBOX_KEYS": str(keys).replace("'", '"'), **_secret_env(*keys)}},
            _step(command),
            {"name": "Remove the file", "if": "always()", "run": 'rm -f "$RUNNER_TEMP/live.env"'}]


# GitHub Actions schedules every job of ``deedbox.config.jobs`` but the drill (it never did: a drill
# needs the Pulumi CLI and a state backend, which these workflows do not set up).
FILES = {"export": "deedbox-export.yml", "media": "deedbox-media-sync.yml",
         "secrets": "deedbox-secrets-verify.yml", "status": "deedbox-status.yml"}


def workflows(config: Config, *, bucket: str, role: str) -> dict[str, dict]:
    """File name → workflow document for every scheduled job the config needs.

    ``runner.kind: aws`` schedules the jobs in the destination account (``pulumi up`` declares the
    schedules): there is nothing to write, and ``UsageError`` says so rather than writing
    workflows that would run every job twice."""
    if config.runner.kind == "aws":
        raise UsageError("runner.kind is aws: EventBridge Scheduler runs the jobs in the destination account "
                         "(`pulumi up` declares the schedules and the CodeBuild project); there are no GitHub "
                         "workflows to write")
    ctx = {"region": config.destination.region, "role": role, "bucket": bucket,
           "environment": config.runner.environment}
    out: dict[str, dict] = {}
    for job in jobs(config):
        if job.id not in FILES:
            continue
        steps = [s for c in job.commands for s in _steps(c)]
        out[FILES[job.id]] = _workflow(job.title, to_github_cron(job.schedule), job.id, steps,
                                       {**ctx, "timeout": job.timeout_minutes})
    return out
