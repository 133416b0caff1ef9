"""The scheduled jobs a config implies: what runs, when, and which environment variables it reads.

One list for every runner. ``deedbox workflows`` renders it as GitHub Actions workflows
(``deedbox.workflows``); ``runner.kind: aws`` renders it as one CodeBuild buildspec and one
EventBridge Scheduler schedule per job (``deedbox.topology.scheduler``); the ``runner-secrets``
rule checks that every variable a job reads has a source. Pure: the model in, dataclasses out.

Schedules are in EventBridge's dialect, the config's own (EventBridge Scheduler reads them as
they are; GitHub's 5-field cron is derived from them by ``deedbox.workflows.to_github_cron``).

``drill`` is a job here, but GitHub Actions does not schedule it (the workflows never did: a
drill needs the Pulumi CLI and a state backend); the ``aws`` runner does.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from deedbox.config.model import Config, ValueRef

STATUS_SCHEDULE = "cron(17 * * * ? *)"  # hourly, off the top of the hour (GitHub's busiest minute)
DEFAULT_VERIFY = "cron(0 6 * * ? *)"
# What the drill job may also read when the runner provides it (not required: drill run has defaults).
DRILL_OPTIONAL_ENV = ("PULUMI_BACKEND_URL",)
DRILL_PASSPHRASE = "PULUMI_CONFIG_PASSPHRASE"  # encrypts the drill deployment's key in the drill state


@dataclass(frozen=True)
class Command:
    """One ``deedbox`` invocation of a job."""

    name: str  # the step's title
    args: tuple[str, ...]  # deedbox's arguments, e.g. ("export", "--reason", "scheduled")
    env: tuple[str, ...] = ()  # environment variables it reads, in the order the workflows list them
    env_file: tuple[str, ...] = ()  # keys written to a private .env file first, passed as --env-file
    notify: bool = False  # `deedbox --notify ...`: send the outcome to backup.yaml's notifications

    def line(self, env_file_path: str | None = None) -> str:
        """The shell command; ``env_file_path`` is a shell expression, inserted as ``"<path>"``."""
        words = ["deedbox", *(["--notify"] if self.notify else []), *self.args]
        tail = f' --env-file "{env_file_path}"' if self.env_file and env_file_path else ""
        return shlex.join(words) + tail


@dataclass(frozen=True)
class Job:
    """A scheduled job: an id (``export``, ``media``, ``secrets``, ``status``, ``drill``), its commands."""

    id: str
    title: str
    schedule: str  # EventBridge expression
    commands: tuple[Command, ...]
    timeout_minutes: int = 60
    optional_env: tuple[str, ...] = ()  # read when present; no rule asks for them

    @property
    def env(self) -> tuple[str, ...]:
        """Every variable the job's commands read (their own and their env files'), once each."""
        return tuple(dict.fromkeys(v for c in self.commands for v in (*c.env, *c.env_file)))


def notifies(config: Config) -> bool:
    notes = config.notifications
    return notes is not None and bool(notes.slack_webhook or notes.sns_topic_arn or notes.email)


def _notify_env(config: Config) -> tuple[str, ...]:
    notes = config.notifications
    return (notes.slack_webhook.env,) if notes is not None and notes.slack_webhook is not None else ()


def _command(config: Config, name: str, args: tuple[str, ...], env: tuple[str, ...] = (),
             env_file: tuple[str, ...] = ()) -> Command:
    """A command that reports its outcome when the config notifies anyone (docs/notify.md)."""
    if not notifies(config):
        return Command(name, args, env, env_file)
    return Command(name, args, env + _notify_env(config), env_file, notify=True)


def jobs(config: Config) -> list[Job]:
    """Every scheduled job ``config`` needs, in the order the workflows are written."""
    found = [_export(config)]
    media = _media(config)
    if media is not None:
        found.append(media)
    if config.backups.secrets is not None:
        found.append(_secrets(config))
    found.append(Job("status", "deedbox: freshness", STATUS_SCHEDULE,
                     (_command(config, "Freshness against RPO", ("status",)),), timeout_minutes=15))
    if config.drills is not None:
        found.append(_drill(config))
    return found


def _export(config: Config) -> Job:
    key = config.source.convex.deploy_key.env
    return Job("export", "deedbox: backend export", config.backups.backend.schedule, (
        _command(config, "Export, verify, write manifest", ("export", "--reason", "scheduled"), (key,)),
        _command(config, "Verify the stored snapshot (read data)", ("verify", "--snapshot", "latest", "--read-data")),
    ))


def _media(config: Config) -> Job | None:
    media, source = config.backups.media, config.source.media
    if media is None or source is None or not config.media_classes():
        return None
    refs = tuple(r.env for r in (source.access_key_id, source.secret_access_key) if r)
    name = "Media sync" if media.mode == "sync" else "Replication check"
    return Job("media", "deedbox: media", media.schedule or f"rate({media.rpo_hours} hours)",
               (_command(config, name, ("media", "sync"), refs),))


def _secrets(config: Config) -> Job:
    """Keys that live in Convex are read from the deployment with the deploy key (no runner holds a
    copy of them); only ``external`` keys come from the runner's own secrets, through a private file."""
    secrets = config.backups.secrets
    assert secrets is not None  # jobs() asks only then
    external = tuple(k.name for k in secrets.keys if k.lives_in == "external")
    in_convex = len(external) < len(secrets.keys)
    args = ("secrets", "verify", *(("--from", "convex") if in_convex else ()))
    env = (config.source.convex.deploy_key.env,) if in_convex else ()
    return Job("secrets", "deedbox: secrets verify", secrets.verify_schedule or DEFAULT_VERIFY,
               (_command(config, "Compare with the vault", args, env, external),))


def _drill(config: Config) -> Job:
    drills = config.drills
    assert drills is not None  # jobs() asks only then
    target = drills.target
    refs = [r.env for r in (target.team_token, target.project) if r] if target.kind == "convex-cloud" \
        else [r.env for r in (target.url, target.admin_key) if r]
    web: list[ValueRef] = []
    if drills.web is not None:
        web = [*drills.web.env.values(), *(s.fill.value for s in drills.web.steps if s.fill is not None)]
    refs += [v.name for v in web if v.kind == "env"]
    env = tuple(dict.fromkeys([*refs, DRILL_PASSPHRASE]))
    # the drill deployment lives at most ttl_hours; destroying the stack takes a few minutes more
    return Job("drill", "deedbox: restore drill", drills.schedule,
               (_command(config, "Restore drill", ("drill", "run"), env),),
               timeout_minutes=drills.ttl_hours * 60 + 30, optional_env=DRILL_OPTIONAL_ENV)


def env_file_script(directory_var: str) -> str:
    """A shell step writing ``$<directory_var>/live.env`` (mode 0600) from the variables named by
    the JSON list ``$DEEDBOX_KEYS``, each value double-quoted and escaped the way
    ``deedbox.secrets.dotenv`` reads it back; variables that are not set are left out."""
    return ("python - <<'EOF'\n"
            "import os, json\n"
            "keys = json.loads(os.environ['DEEDBOX_KEYS'])\n"
            "def q(v): return '\"' + v.replace('\\\\', '\\\\\\\\').replace('\"', '\\\\\"')"
            ".replace('$', '\\\\$').replace('\\n', '\\\\n').replace('\\r', '\\\\r') + '\"'\n"
            f"path = os.path.join(os.environ['{directory_var}'], 'live.env')\n"
            "fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n"
            "with os.fdopen(fd, 'w') as f:\n"
            "    for k in keys:\n"
            "        if os.environ.get(k) is not None: f.write(f'{k}={q(os.environ[k])}\\n')\n"
            "EOF\n")
