"""The ``deedbox`` command: parsing and dispatch only.

Each command lives in ``deedbox.commands.<name>`` as ``run(**options) -> int``; this module
parses the command line, imports that module lazily (so ``deedbox validate`` never pays for
Pulumi or boto3), and maps errors to exit codes in one place:

- 0 success, 1 the thing checked is wrong, 2 usage or environment error (see ``deedbox.errors``);
- an unexpected exception prints one line and where the traceback was written, exit 2;
- Ctrl-C exits 130.

``deedbox --notify <command>`` (or ``DEEDBOX_NOTIFY=1``) sends the outcome of export, verify,
media sync, secrets verify, status and drill run to the channels of ``notifications``, after the
command is done (``deedbox.commands.notify.after_command``; docs/notify.md).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import traceback
from contextvars import ContextVar
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from deedbox.errors import DeedboxError

app = typer.Typer(
    name="deedbox",
    help="Off-platform backups, restores and restore drills for a Convex community platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
media_app = typer.Typer(help="Copy media and recordings to the backup store.", no_args_is_help=True)
secrets_app = typer.Typer(help="Keep the secret vault in step with the live environment.", no_args_is_help=True)
restore_app = typer.Typer(help="Restore one record or everything from a verified snapshot.", no_args_is_help=True)
drill_app = typer.Typer(help="Restore drills on ephemeral stacks.", no_args_is_help=True)
notify_app = typer.Typer(help="Notifications: Slack and SNS (backup.yaml's notifications).", no_args_is_help=True)
app.add_typer(media_app, name="media")
app.add_typer(secrets_app, name="secrets")
app.add_typer(restore_app, name="restore")
app.add_typer(drill_app, name="drill")
app.add_typer(notify_app, name="notify")

_NOTIFY: ContextVar[bool] = ContextVar("deedbox_notify", default=False)


@app.callback()
def _root(
    ctx: typer.Context,
    notify: bool = typer.Option(
        False, "--notify", envvar="DEEDBOX_NOTIFY",
        help="After export, verify, media sync, secrets verify, status or drill run: send the outcome to "
             "backup.yaml's notifications channels (as `notifications.on` asks). Before the command: "
             "`deedbox --notify status`.",
    ),
) -> None:
    token = _NOTIFY.set(notify)
    ctx.call_on_close(lambda: _NOTIFY.reset(token))


class ValidateFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class Format(StrEnum):
    text = "text"
    json = "json"


class StatusFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


class SecretSource(StrEnum):
    convex = "convex"


class Reason(StrEnum):
    scheduled = "scheduled"
    pre_change = "pre-change"
    manual = "manual"
    safety = "safety"


ConfigOpt = typer.Option(Path("backup.yaml"), "--config", "-c", help="Path of backup.yaml.")
BucketOpt = typer.Option(
    None, "--bucket", envvar="DEEDBOX_BUCKET",
    help="Backup bucket; default: $DEEDBOX_BUCKET, else the stack's `deedbox` output.",
)
FormatOpt = typer.Option(Format.text, "--format", help="Output format.")


def _dispatch(command: str, *, entry: str = "run", **options: object) -> None:
    """Run ``deedbox.commands.<command>.<entry>(**options)`` and exit with its code."""
    from deedbox.commands.output import capture

    options = {k: (v.value if isinstance(v, Enum) else v) for k, v in options.items()}
    error = None
    with capture() as captured:
        try:
            module = importlib.import_module(f"deedbox.commands.{command}")
            code = getattr(module, entry)(**options)
        except DeedboxError as err:
            typer.echo(f"deedbox: error: {err}", err=True)
            code, error = err.exit_code, str(err)
        except KeyboardInterrupt:
            typer.echo("deedbox: interrupted", err=True)
            code, error = 130, "interrupted"
        except Exception as err:  # a bug: one line, details to a log file
            code, error = _report_unexpected(err), f"unexpected error: {type(err).__name__}"
    if _NOTIFY.get():
        code = _notify(command, entry, options, code, captured.document, error)
    raise typer.Exit(code)


def _notify(command: str, entry: str, options: dict, code: int, document: dict | None, error: str | None) -> int:
    """``--notify``: the command's output stands; a notification failure changes only an exit 0 (to 2)."""
    try:
        from deedbox.commands.notify import after_command

        return after_command(command, entry=entry, options=options, code=code, document=document, error=error)
    except KeyboardInterrupt:
        typer.echo("deedbox: error: notification not sent: interrupted", err=True)
        return code or 130
    except Exception as err:  # a bug while notifying: said, logged, and the result kept
        typer.echo("deedbox: error: notification not sent (a bug in deedbox: next line)", err=True)
        bug = _report_unexpected(err)
        return code or bug


def _report_unexpected(err: Exception) -> int:
    """A bug: one line for the user, the traceback in a new private file (0600, never reused)."""
    log_dir = Path(os.environ.get("DEEDBOX_LOG_DIR", tempfile.gettempdir()))
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        fd, log = tempfile.mkstemp(prefix="deedbox-crash-", suffix=".log", dir=log_dir)
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(traceback.format_exception(err)))
        where = f" (details in {log})"
    except OSError:
        where = ""
    typer.echo(f"deedbox: unexpected error: {type(err).__name__}{where}", err=True)
    return 2


@app.command()
def validate(
    config: Path = ConfigOpt,
    format: ValidateFormat = typer.Option(ValidateFormat.text, "--format", help="text, json or github annotations."),
) -> None:
    """Check backup.yaml against the schema and the semantic rules. Exit 0 valid, 1 invalid, 2 unreadable."""
    _dispatch("validate", config=config, format=format)


@app.command()
def plan(
    config: Path = ConfigOpt,
    base: str | None = typer.Option(None, "--base", help="Git ref to diff against (plans backup.yaml as it was there)."),
    format: PlanFormat = typer.Option(PlanFormat.text, "--format", help="text, json or markdown (a PR comment)."),
) -> None:
    """Run the Pulumi program offline under the mock engine, evaluate the policy pack, report. Exit 1 on a mandatory violation."""
    _dispatch("plan", config=config, base=base, format=format)


@app.command()
def export(
    config: Path = ConfigOpt,
    from_zip: Path | None = typer.Option(None, "--from-zip", help="Upload this snapshot ZIP instead of taking a new export."),
    reason: Reason = typer.Option(Reason.manual, "--reason", help="Why this export is taken (part of its key)."),
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Take a Convex export, store it off-platform, verify it, then write its manifest."""
    _dispatch("export", config=config, from_zip=from_zip, reason=reason, bucket=bucket, format=format)


@app.command()
def verify(
    config: Path = ConfigOpt,
    snapshot: str = typer.Option("latest", "--snapshot", help="Snapshot key (its folder or snapshot.zip) or `latest`."),
    read_data: bool = typer.Option(False, "--read-data", help="Download and recompute everything, not just structure."),
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Check a stored snapshot against its manifest. Exit 1 on any mismatch."""
    _dispatch("verify", config=config, snapshot=snapshot, read_data=read_data, bucket=bucket, format=format)


@media_app.command("sync")
def media_sync(
    config: Path = ConfigOpt,
    backfill: bool = typer.Option(False, "--backfill", help="In replicate mode, copy objects that predate replication."),
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Incrementally copy each media class into media/<class>/ (sync mode) or report replication state."""
    _dispatch("media_sync", config=config, backfill=backfill, bucket=bucket, format=format)


@media_app.command("verify")
def media_verify(
    config: Path = ConfigOpt,
    media_class: str | None = typer.Option(None, "--class", help="Only this media class (default: every class backed up)."),
    sample: int = typer.Option(20, "--sample", min=1, help="Objects per class to restore into a temporary directory and compare."),
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Media drill: restore a sample of each class locally and compare it with the live store. Exit 1 on a mismatch."""
    _dispatch("media_verify", config=config, media_class=media_class, sample=sample, bucket=bucket, format=format)


FromOpt = typer.Option(None, "--from", help="`convex`: read the keys that live in Convex from the production deployment's environment variables.")
EnvFileOpt = typer.Option(None, "--env-file", help="The live environment as a .env file (keys that live elsewhere, or all keys without --from).")


@secrets_app.command("push")
def secrets_push(
    config: Path = ConfigOpt,
    from_: SecretSource | None = FromOpt,
    env_file: Path | None = EnvFileOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Write a new secret version for each configured key whose value changed."""
    _dispatch("secrets_cmd", action="push", config=config, env_file=env_file, from_=from_,
              bucket=bucket, format=format)


@secrets_app.command("verify")
def secrets_verify(
    config: Path = ConfigOpt,
    from_: SecretSource | None = FromOpt,
    env_file: Path | None = EnvFileOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Compare vault and live values by keyed fingerprints. Exit 1 on drift or a missing key."""
    _dispatch("secrets_cmd", action="verify", config=config, env_file=env_file, from_=from_,
              bucket=bucket, format=format)


@secrets_app.command("restore")
def secrets_restore(
    to: str = typer.Option(..., "--to", help="URL of the deployment whose environment variables are set."),
    keys: list[str] | None = typer.Option(None, "--keys", help="Only these keys (repeatable); default every key that lives in Convex."),
    snapshot: str | None = typer.Option(None, "--snapshot", help="Use the vault versions this snapshot's restore point names (key or `latest`); default current."),
    key_env: str | None = typer.Option(None, "--key-env", help="Variable holding the target's deploy/admin key (default CONVEX_DEPLOY_KEY, or the source's for the source URL)."),
    yes: bool = typer.Option(False, "--yes", help="Set them; without --yes only list what would change."),
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Set a deployment's environment variables from the vault; read back and compared by fingerprint."""
    _dispatch("secrets_cmd", entry="restore", config=config, to=to, keys=keys or None, key_env=key_env,
              yes=yes, snapshot=snapshot, bucket=bucket, format=format)


@app.command()
def status(
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: StatusFormat = typer.Option(
        StatusFormat.text, "--format", help="text, json, or html (one self-contained page)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    publish: bool = typer.Option(
        False, "--publish", help="With --format html: also write the page once to status/<UTC ts>.html "
                                 "in the bucket, and print that key."),
) -> None:
    """Freshness of each data class against its RPO, the history and open findings. Exit 1 when anything is stale."""
    _dispatch("status", config=config, bucket=bucket, format=format, output=output, publish=publish)


@app.command()
def doctor(
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Check the live prerequisites of `pulumi up` and the scheduled jobs (with credentials). Exit 1 on a failed check."""
    _dispatch("doctor", config=config, bucket=bucket, format=format)


@restore_app.command("record")
def restore_record(
    table: str = typer.Option(..., "--table", help="Table of the document."),
    id: str = typer.Option(..., "--id", help="The document's _id."),
    snapshot: str = typer.Option("latest", "--snapshot", help="Snapshot key or `latest`."),
    component: str | None = typer.Option(None, "--component", help="Component path, e.g. `a/b`."),
    apply: bool = typer.Option(False, "--apply", help="Put it back into the live deployment (its table rebuilt from a safety export plus it, replace import)."),
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Find one document in a verified snapshot; with --apply, put it back with its original _id."""
    _dispatch("restore_record", config=config, table=table, id=id, snapshot=snapshot,
              component=component, apply=apply, bucket=bucket, format=format)


@restore_app.command("full")
def restore_full(
    snapshot: str = typer.Option(..., "--snapshot", help="Snapshot key or `latest`."),
    to: str = typer.Option(..., "--to", help="URL of the deployment to restore into."),
    yes: bool = typer.Option(False, "--yes", help="Do it; without --yes only the plan is shown."),
    secrets: bool = typer.Option(True, "--secrets/--no-secrets", help="Also set the deployment's environment variables from the vault (default)."),
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Restore everything into a deployment (data and environment variables), after a verified safety export of it."""
    _dispatch("restore_full", config=config, snapshot=snapshot, to=to, yes=yes, secrets=secrets, bucket=bucket,
              format=format)


@restore_app.command("media")
def restore_media(
    media_class: str | None = typer.Option(None, "--class", help="The media class to restore (source.media.classes)."),
    prefix: str | None = typer.Option(None, "--prefix", help="Only keys under this prefix (inside the class's prefix)."),
    as_of: str | None = typer.Option(None, "--as-of", help="The backup as it was at this time, ISO 8601 UTC (default: now)."),
    to: str | None = typer.Option(None, "--to", help="Restore into this bucket instead of the media store (same credentials)."),
    overwrite_newer: bool = typer.Option(False, "--overwrite-newer", help="Also replace live objects written after the backup version."),
    yes: bool = typer.Option(False, "--yes", help="Do it; without --yes only counts, bytes and a sample are shown."),
    job: str | None = typer.Option(None, "--job", help="Follow this S3 Batch Operations job (restore or backfill) and verify its report."),
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Put media back from the versioned backup: what is missing or older live, as of a time (a dry run without --yes)."""
    _dispatch("restore_media", config=config, media_class=media_class, prefix=prefix, as_of=as_of, to=to,
              overwrite_newer=overwrite_newer, yes=yes, job=job, bucket=bucket, format=format)


@drill_app.command("run")
def drill_run(
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Ephemeral stack up, newest snapshot imported, checks, report, stack destroyed (always)."""
    _dispatch("drill", action="run", config=config, bucket=bucket, format=format)


@drill_app.command("list")
def drill_list(
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Drills and their results, from the bucket and the stack backend."""
    _dispatch("drill", action="list", config=config, bucket=bucket, format=format)


@drill_app.command("reap")
def drill_reap(
    config: Path = ConfigOpt,
    bucket: str | None = BucketOpt,
    format: Format = FormatOpt,
) -> None:
    """Destroy drill stacks past their TTL (runs that were killed hard)."""
    _dispatch("drill", action="reap", config=config, bucket=bucket, format=format)


@notify_app.command("test")
def notify_test(
    config: Path = ConfigOpt,
    format: Format = FormatOpt,
) -> None:
    """Send a test message to every configured channel. Exit 0 all sent, 1 one failed, 2 none configured."""
    _dispatch("notify", action="test", config=config, format=format)


@app.command()
def workflows(
    config: Path = ConfigOpt,
    output: Path = typer.Option(Path(".github/workflows"), "--output", "-o", help="Directory to write the workflows into."),
) -> None:
    """Write the scheduled GitHub Actions workflows (export, media sync, secrets verify, status)."""
    _dispatch("workflows", config=config, output=output)


@app.command()
def init(
    directory: Path = typer.Option(Path("."), "--dir", "-d", help="The repository to write into (created when missing)."),
    force: bool = typer.Option(False, "--force", help="Overwrite the files that exist (backup.yaml too)."),
    format: Format = FormatOpt,
) -> None:
    """Write a deedbox project's top level: backup.yaml, the Pulumi programs, the policy pack, CI and the hook."""
    _dispatch("init", directory=directory, force=force, format=format)


def main() -> None:
    """Console-script entry point."""
    sys.exit(_run_app(sys.argv[1:]))


def _run_app(args: list[str]) -> int:
    """Run typer without its boxed error panels: a usage error is one line, exit 2."""
    if TYPE_CHECKING:  # type against the vendored click of the typer installed here
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
    else:
        try:  # typer >= 0.22 vendors click; older releases (pyproject allows >= 0.15) use click itself
            from typer._click.exceptions import ClickException, NoArgsIsHelpError
        except ImportError:  # pragma: no cover
            from click.exceptions import ClickException, NoArgsIsHelpError

    try:
        code = app(args=args, prog_name="deedbox", standalone_mode=False)
    except NoArgsIsHelpError as err:  # `deedbox` alone: the help, as a usage error
        typer.echo(err.ctx.get_help(), err=True)
        return 2
    except ClickException as err:  # bad option, missing option, bad value
        ctx = getattr(err, "ctx", None)  # only UsageError and its subclasses carry one
        hint = f" (see `{ctx.command_path} --help`)" if ctx else ""
        typer.echo(f"deedbox: error: {err.format_message()}{hint}", err=True)
        return err.exit_code
    except typer.Abort:
        typer.echo("deedbox: interrupted", err=True)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    main()
