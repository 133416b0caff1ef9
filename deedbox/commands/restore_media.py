"""``deedbox restore media``: put a media class back from the versioned backup (dry run by default).

``--class C [--prefix P] [--as-of TIME] [--to BUCKET] [--overwrite-newer] [--yes]`` plans (and
with ``--yes`` does) the restore; ``--job ID`` follows an S3 Batch Operations job deedbox created
(a restore, or a replicate-mode backfill) and verifies its completion report.

Exit 0: planned, restored, job submitted or job verified; 1: some copies failed, or the job's
report shows failed or missing tasks; 2: usage (unknown class, a time without a zone) or environment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deedbox.errors import UsageError


def run(*, config: Path, media_class: str | None, prefix: str | None, as_of: str | None, to: str | None,
        overwrite_newer: bool, yes: bool, job: str | None, bucket: str | None, format: str) -> int:
    from deedbox.bucket.client import BucketClient
    from deedbox.commands.output import load_config

    if job is None and not media_class:
        raise UsageError("give --class (the media class to restore) or --job (a job to follow)")
    moment = parse_time(as_of) if as_of else None
    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    if job is not None:
        return _follow(cfg, store, job, to, format)
    return _restore(cfg, store, str(media_class), prefix, moment, to, overwrite_newer, yes, format)


def parse_time(text: str) -> datetime:
    """ISO 8601 with a zone (``2026-11-27T03:00:00Z``), as UTC; a time without a zone is refused."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not an ISO 8601 time (e.g. 2026-11-27T03:00:00Z)") from None
    if moment.tzinfo is None:
        raise UsageError(f"--as-of {text!r} has no time zone: write it in UTC, e.g. {text}Z")
    return moment.astimezone(UTC)


def _restore(cfg: Any, store: Any, media_class: str, prefix: str | None, as_of: datetime | None,
             to: str | None, overwrite_newer: bool, yes: bool, format: str) -> int:
    from deedbox.commands.output import emit, progress_bar, sigterm_interrupts
    from deedbox.restore.media import restore_media

    with progress_bar() as progress, sigterm_interrupts():
        r = restore_media(cfg, store, media_class=media_class, prefix=prefix, as_of=as_of, to=to,
                          overwrite_newer=overwrite_newer, yes=yes, progress=progress)
    emit(format, r.to_dict(), _lines(r))
    return 0 if r.ok else 1


def _lines(r: Any) -> list[str]:
    when = f"as of {r.as_of}" if r.as_of else "as of now"
    c = r.counts
    lines = [f"media class {r.media_class} ({r.prefix}…), backup {when}, into s3://{r.target}:",
             f"  missing {c['missing']}, older {c['older']}, newer {c['newer']} "
             f"({'overwritten' if r.overwrite_newer else 'kept: --overwrite-newer to replace them'}), "
             f"same {c['same']}",
             f"  to restore: {r.to_restore} objects, {r.bytes} bytes, by {r.method}"]
    if r.batch_note:
        lines.append(f"  note: {r.batch_note}")
    for kind, keys in r.sample.items():
        lines += [f"  {kind}: {k}" for k in keys]
    if not r.applied:
        return lines + ["nothing was changed; run again with --yes to do it" if r.to_restore else "nothing to restore"]
    if r.job_id:
        lines += [f"submitted S3 Batch Operations job {r.job_id} (manifest {r.manifest})",
                  f"follow it: deedbox restore media --job {r.job_id}"]
    lines.append(f"copied {r.copied} from the runner" + (f", {r.error_count} FAILED" if r.error_count else ""))
    lines += [f"  error: {e}" for e in r.errors]
    return lines + [f"logged: {r.log_key}" if r.log_key else "nothing to log"]


def _follow(cfg: Any, store: Any, job: str, to: str | None, format: str) -> int:
    from deedbox.commands.output import emit, progress_bar
    from deedbox.restore.media import follow_job

    with progress_bar() as progress:
        check, log = follow_job(cfg, store, job_id=job, to=to, progress=progress)
    lines = [f"job {check.job_id} ({check.operation}): {check.status}",
             f"  report: {check.succeeded} succeeded, {check.failed} failed of {check.tasks} tasks; "
             f"expected {check.expected}"]
    lines += [f"  failed: {f}" for f in check.failures] + [f"  PROBLEM: {p}" for p in check.problems]
    lines += ["verified" if check.ok else "NOT verified", f"logged: {log}"]
    emit(format, {**check.to_dict(), "log": log}, lines)
    return 0 if check.ok else 1
