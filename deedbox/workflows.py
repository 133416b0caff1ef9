"""GitHub Actions workflows for the scheduled jobs, generated from backup.yaml.

One workflow per job (export + verify, media sync, secrets verify, status), each on the schedule
the config gives, converted from EventBridge's dialect to GitHub's 5-field cron
(``to_github_cron``). Jobs get AWS credentials through OIDC (``id-token: write``) for the runner
role: the stack output's ``runner_role_arn`` when readable, else the deterministic name the
topology gives it, overridable by the repository variable ``DEEDBOX_RUNNER_ROLE_ARN``. Secret
values come from GitHub secrets named after the config's env references; none is written here.

When backup.yaml has a notification channel, every deedbox step runs with ``--notify``
(docs/notify.md), and the Slack webhook's variable (``notifications.slack_webhook.env``) comes
from the GitHub secret of that name, on those steps only; SNS needs no secret (the runner role).
"""

from __future__ import annotations

import re
from typing import Any

from deedbox.config.model import Config
from deedbox.errors import ConfigError

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
STATUS_CRON = "17 * * * *"  # hourly, off the top of the hour (GitHub's busiest minute)
DEFAULT_VERIFY = "cron(0 6 * * ? *)"


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


WRITE_ENV = ("python - <<'EOF'\n"
             "import os, json\n"
             "keys = json.loads(os.environ['DEEDBOX_KEYS'])\n"
             "def q(v): return '\"' + v.replace('\\\\', '\\\\\\\\').replace('\"', '\\\\\"')"
             ".replace('$', '\\\\$').replace('\\n', '\\\\n').replace('\\r', '\\\\r') + '\"'\n"
             "path = os.path.join(os.environ['RUNNER_TEMP'], 'live.env')\n"
             "fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
             "with os.fdopen(fd, 'w') as f:\n"
             "    for k in keys:\n"
             "        if os.environ.get(k) is not None: f.write(f'{k}={q(os.environ[k])}\\n')\n"
             "EOF\n")


def _notified(config: Config, step: dict[str, Any]) -> dict[str, Any]:
    """``step`` with ``deedbox --notify`` and the webhook's secret, when the config notifies anyone."""
    notes = config.notifications
    if notes is None or not (notes.slack_webhook or notes.sns_topic_arn or notes.email):
        return step
    out = {**step, "run": re.sub(r"^deedbox ", "deedbox --notify ", step["run"])}
    if notes.slack_webhook is not None:
        out["env"] = {**step.get("env", {}), **_secret_env(notes.slack_webhook.env)}
    return out


def _secrets_workflow(config: Config, ctx: dict[str, Any]) -> dict:
    """Keys that live in Convex are read from the deployment with the deploy key (GitHub holds no
    copy of them); only ``external`` keys come from GitHub secrets, through a private file."""
    assert config.backups.secrets is not None
    external = [k.name for k in config.backups.secrets.keys if k.lives_in == "external"]
    in_convex = len(external) < len(config.backups.secrets.keys)
    schedule = config.backups.secrets.verify_schedule or DEFAULT_VERIFY
    args = (["--from convex"] if in_convex else []) + (['--env-file "$RUNNER_TEMP/live.env"'] if external else [])
    verify: dict[str, Any] = {"name": "Compare with the vault", "run": "deedbox secrets verify " + " ".join(args)}
    if in_convex:
        verify["env"] = _secret_env(config.source.convex.deploy_key.env)
    verify = _notified(config, verify)
    steps: list[dict[str, Any]] = [verify]
    if external:
        steps = [{"name": "Write the external keys to a private file", "run": WRITE_ENV,
                  "env": {"DEEDBOX_KEYS": str(external).replace("'", '"'), **_secret_env(*external)}},
                 verify,
                 {"name": "Remove the file", "if": "always()", "run": 'rm -f "$RUNNER_TEMP/live.env"'}]
    return _workflow("deedbox: secrets verify", to_github_cron(schedule), "secrets", steps, ctx)


def workflows(config: Config, *, bucket: str, role: str) -> dict[str, dict]:
    """File name → workflow document for every scheduled job the config needs."""
    ctx = {"region": config.destination.region, "role": role, "bucket": bucket,
           "environment": config.runner.environment}
    out = {"deedbox-export.yml": _workflow(
        "deedbox: backend export", to_github_cron(config.backups.backend.schedule), "export", [
            _notified(config, {"name": "Export, verify, write manifest", "run": "deedbox export --reason scheduled",
                               "env": _secret_env(config.source.convex.deploy_key.env)}),
            _notified(config, {"name": "Verify the stored snapshot (read data)",
                               "run": "deedbox verify --snapshot latest --read-data"})], ctx)}
    media, source_media = config.backups.media, config.source.media
    if media is not None and source_media is not None and config.media_classes():
        schedule = media.schedule or f"rate({media.rpo_hours} hours)"
        refs = [r.env for r in (source_media.access_key_id, source_media.secret_access_key) if r]
        step: dict[str, Any] = {"name": "Media sync" if media.mode == "sync" else "Replication check",
                "run": "deedbox media sync"}
        if refs:
            step["env"] = _secret_env(*refs)
        out["deedbox-media-sync.yml"] = _workflow("deedbox: media", to_github_cron(schedule), "media",
                                                  [_notified(config, step)], ctx)
    if config.backups.secrets is not None:
        out["deedbox-secrets-verify.yml"] = _secrets_workflow(config, ctx)
    out["deedbox-status.yml"] = _workflow("deedbox: freshness", STATUS_CRON, "status", [
        _notified(config, {"name": "Freshness against RPO", "run": "deedbox status"})], {**ctx, "timeout": 15})
    return out
