"""Undo a bulk media delete: put back, from the versioned backup, a class as it was at a moment.

Order, and what a crash at each step leaves:

1. **plan** (always): stream the backup's version history of the class (the version current at
   ``as_of`` per key, ``media.history.at``) beside a listing of the live store, and sort each key
   into missing / same / older / newer (``media.history.classify``). The chosen objects go to a
   local temporary file (or straight to the copies: step 3), so memory stays flat whatever the
   count. Nothing is written anywhere.
2. **dry run** (without ``yes``): counts, bytes and a sample; stop.
3. **copy**: below ``backups.media.batch_threshold_*`` (or where a job cannot do it: sync mode,
   whose backup keys are ``media/<class>/<key>``; an ``endpoint_url`` store; objects over 5 GB) the
   runner copies (``media.copyback``), 16 at a time; where no job could be used at all (sync mode,
   an ``endpoint_url`` store) the copies start while the plan is still streaming. A crash leaves
   some objects back: a rerun sees them as the same (or newer) and skips them. At or above the threshold: the manifest of the
   chosen versions is written once to ``restores/manifests/`` and an S3 Batch Operations copy job
   is created (``media.batch``); a crash between the two leaves an unused manifest, and a rerun
   writes a new one (the job's ``ClientRequestToken`` is derived from the manifest, so a retried
   request never creates a second job).
4. **log** ``restores/<ts>-media-<class>.json`` (``write_log``: write-once): what was chosen, what
   was copied (each key's new ETag and the version it came from: the next run's "same"), errors,
   the job id. ``follow_job`` (``--job``) waits for a job, checks its completion report and logs
   that too.

A live object written after the version chosen is *newer*: kept unless ``overwrite_newer``. Keys
only the live store has are never touched; nothing is ever deleted.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deedbox.bucket.client import BucketClient
from deedbox.bucket.records import newest_record
from deedbox.bucket.snapshots import format_ts
from deedbox.config.model import Config, MediaClass
from deedbox.errors import StorageError, UsageError
from deedbox.media import batch, report
from deedbox.media.copyback import CopyBack, CopyRun, Item
from deedbox.media.history import (
    MISSING,
    NEWER,
    OLDER,
    SAME,
    Version,
    ahead,
    at,
    classify,
    list_history,
    list_live,
    pair,
)
from deedbox.media.plan import dest_key
from deedbox.media.sync import Source
from deedbox.restore.common import RESTORES_PREFIX, write_log

Progress = Callable[[str, int, int | None], None]
SHOWN = 10
_FIELDS = ("backup_key", "version_id", "size", "etag", "modified", "live_key", "live_etag", "reason")


@dataclass
class MediaRestoreResult:
    media_class: str
    prefix: str
    as_of: str | None
    target: str
    mode: str
    method: str  # "runner (server-side copy)" | "runner (streamed)" | "batch operations job"
    applied: bool
    counts: dict[str, int]  # missing / older / newer / same, as found
    to_restore: int
    bytes: int
    sample: dict[str, list[str]]
    overwrite_newer: bool = False
    copied: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    job_id: str | None = None
    manifest: str | None = None
    batch_note: str | None = None  # why a job was not used above the threshold
    log_key: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()} | {"ok": self.ok}


@dataclass
class _Plan:
    path: Path
    counts: dict[str, int] = field(default_factory=lambda: {MISSING: 0, OLDER: 0, NEWER: 0, SAME: 0})
    chosen: int = 0
    bytes: int = 0
    sample: dict[str, list[str]] = field(default_factory=dict)


def restore_media(config: Config, store: BucketClient, *, media_class: str, prefix: str | None = None,
                  as_of: datetime | None = None, to: str | None = None, overwrite_newer: bool = False,
                  yes: bool = False, source: Source | None = None,
                  jobs: Callable[[str], batch.BatchJobs] | None = None,
                  progress: Progress | None = None, now: datetime | None = None) -> MediaRestoreResult:
    """Plan (and with ``yes`` do) the restore of ``media_class`` (see the module docstring)."""
    cls, mode = _media_class(config, media_class), _mode(config)
    live_prefix = _prefix(cls, prefix)
    source = source or Source(config)
    target = to or source.bucket
    # the backup key is the live key, on AWS, and the restore role may write there (topology/batch.py)
    batchable = mode == "replicate" and source.server_side and target == source.bucket
    r = MediaRestoreResult(cls.name, live_prefix, as_of.isoformat() if as_of else None, target, mode,
                           f"runner ({'server-side copy' if source.server_side else 'streamed'})", yes, {}, 0, 0, {},
                           overwrite_newer)
    phase = f"restore {cls.name}"
    with tempfile.TemporaryDirectory(prefix="deedbox-media-restore-") as tmp:
        path = Path(tmp) / "plan.csv"
        if yes and not batchable:  # no job can do it: copy while the plan streams
            with CopyRun(CopyBack(store, source, target), progress, phase) as run:
                plan = _plan(store, source, cls, mode, live_prefix, target, as_of, overwrite_newer, path, run.submit)
            _counted(r, plan, config, batchable)
        else:
            plan = _plan(store, source, cls, mode, live_prefix, target, as_of, overwrite_newer, path)
            use_batch = _counted(r, plan, config, batchable) and batchable
            r.method = "batch operations job" if use_batch else r.method
            if not yes or plan.chosen == 0:
                return r
            if use_batch:
                _submit(config, store, source, r, plan, jobs, now)
            with CopyRun(CopyBack(store, source, target), progress, phase, None if use_batch else r.bytes) as run:
                for item in _items(path, only_large=use_batch):
                    run.submit(item)
        r.copied, r.errors, r.error_count = len(run.index), run.errors, run.error_count
        if plan.chosen:
            r.log_key = write_log(store, "media", cls.name, _log(r, run.index), now=now)
    return r


def _counted(r: MediaRestoreResult, plan: _Plan, config: Config, batchable: bool) -> bool:
    """Copy the plan's counts into ``r``; True when they reach ``backups.media.batch_threshold_*``."""
    r.counts, r.to_restore, r.bytes, r.sample = plan.counts, plan.chosen, plan.bytes, plan.sample
    media = config.backups.media
    big = media is not None and plan.chosen > 0 and (plan.chosen >= media.batch_threshold_objects
                                                     or plan.bytes >= media.batch_threshold_bytes)
    if big and not batchable:
        r.batch_note = _why_not_batch(r.mode, r.method)
    return big


def _media_class(config: Config, name: str) -> MediaClass:
    classes = {c.name: c for c in config.media_classes()}
    if name not in classes:
        raise UsageError(f"no media class {name!r} is backed up; classes: {', '.join(sorted(classes)) or 'none'}")
    return classes[name]


def _mode(config: Config) -> str:
    if config.backups.media is None:
        raise UsageError("config backs up no media (backups.media)")
    return config.backups.media.mode


def _prefix(cls: MediaClass, prefix: str | None) -> str:
    if prefix is None:
        return cls.prefix
    if not prefix.startswith(cls.prefix):
        raise UsageError(f"--prefix {prefix!r} is outside class {cls.name!r}, whose keys start with {cls.prefix!r}")
    return prefix


def _why_not_batch(mode: str, method: str) -> str:
    if method == "runner (streamed)":
        return "the media store is another S3 API (endpoint_url): S3 Batch Operations cannot write to it"
    if mode == "replicate":
        return ("--to names another bucket, and the batch restore role may write only the media bucket's "
                "class prefixes (topology/batch.py): copied from the runner, server-side")
    return ("sync mode keeps media under media/<class>/ in the backup and an S3 Batch Operations copy "
            "keeps each key (TargetKeyPrefix can only prepend): copied from the runner, server-side")


def _plan(store: BucketClient, source: Source, cls: MediaClass, mode: str, live_prefix: str, target: str,
          as_of: datetime | None, overwrite_newer: bool, path: Path,
          sink: Callable[[Item], None] | None = None) -> _Plan:
    """Step 1: stream both listings, classify each key; the chosen ones go to ``path`` (or to ``sink``)."""
    backup_prefix = dest_key(mode, cls.name, live_prefix)
    strip = len(backup_prefix) - len(live_prefix)
    same = _knowledge(store, cls, mode, target, source.bucket)
    plan = _Plan(path)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        versions = at(list_history(store.s3, store.bucket, backup_prefix), as_of)
        live_objects = ahead(list_live(source.client, target, live_prefix))  # both listings at once
        for version, key, live in pair(versions, live_objects, lambda k: k[strip:]):
            kind = classify(version, live, same=same)
            plan.counts[kind] += 1
            if kind in (MISSING, OLDER) or (kind == NEWER and overwrite_newer):
                if sink is not None:
                    sink(Item(version, key, live.etag if live else None, kind))
                else:
                    out.writerow([version.key, version.version_id, version.size, version.etag,
                                  version.last_modified.isoformat(), key, live.etag if live else "", kind])
                plan.chosen += 1
                plan.bytes += version.size
            if kind != SAME and len(shown := plan.sample.setdefault(kind, [])) < SHOWN:
                shown.append(key)
    return plan


def _knowledge(store: BucketClient, cls: MediaClass, mode: str, target: str,
               source_bucket: str) -> Callable[[Version, Any], bool]:
    """What earlier runs recorded: "this live object is that backup version"."""
    synced: dict[str, list[str]] = {}
    if mode == "sync" and target == source_bucket:
        last = newest_record(store, "media-sync", where=lambda d: d.get("mode") == "sync")
        synced = last[1].get("index", {}) if last else {}
    restored = _restored_index(store, cls.name, target)

    def same(version: Version, live: Any) -> bool:
        return (synced.get(version.key) == [live.etag, version.etag]
                or restored.get(live.key) == [live.etag, version.version_id])

    return same


def _restored_index(store: BucketClient, cls: str, target: str) -> dict[str, list[str]]:
    """``{live key: [ETag after the copy, backup version id]}`` from earlier media restore logs."""
    index: dict[str, list[str]] = {}
    for obj in sorted(store.list(RESTORES_PREFIX), key=lambda o: o.key):
        if not obj.key.endswith(f"-media-{cls}.json"):
            continue
        try:
            log = json.loads(store.get_bytes(obj.key))
        except (ValueError, StorageError):
            continue
        if log.get("class") == cls and log.get("target") == target:
            index.update(log.get("index") or {})
    return index


def _items(path: Path, *, only_large: bool) -> Iterator[Item]:
    with path.open(newline="") as fh:
        for row in csv.reader(fh):
            rec = dict(zip(_FIELDS, row, strict=True))
            size = int(rec["size"])
            if only_large and size <= batch.COPY_JOB_LIMIT:
                continue
            version = Version(rec["backup_key"], rec["version_id"], datetime.fromisoformat(rec["modified"]),
                              size, rec["etag"])
            yield Item(version, rec["live_key"], rec["live_etag"] or None, rec["reason"])


def _submit(config: Config, store: BucketClient, source: Source, result: MediaRestoreResult, plan: _Plan,
            jobs: Callable[[str], batch.BatchJobs] | None, now: datetime | None) -> None:
    """Step 3 at scale: the manifest (write-once, SSE-S3), then one S3PutObjectCopy job."""
    moment = now or datetime.now(UTC)
    key = f"{batch.MANIFEST_PREFIX}{format_ts(moment)}-media-{result.media_class}.csv"
    manifest = plan.path.with_name("manifest.csv")
    with manifest.open("w") as fh:
        for item in _items(plan.path, only_large=False):
            if item.version.size <= batch.COPY_JOB_LIMIT:
                fh.write(batch.manifest_row(store.bucket, item.version.key, item.version.version_id))
    etag, version = batch.put_manifest(store, key, manifest)
    account = config.destination.account
    request = batch.copy_job_request(
        account=account, manifest_arn=f"arn:aws:s3:::{store.bucket}/{key}", manifest_etag=etag,
        manifest_version=version, target_bucket=result.target, report_bucket=store.bucket,
        role=batch.role_arn(account, config.name, batch.RESTORE_ROLE_PURPOSE),
        request_token=batch.token(key, etag),
        description=f"deedbox restore media {result.media_class} into {result.target}")
    region = bucket_region(source, result.target)
    result.manifest = key
    result.job_id = (jobs or (lambda r: batch.BatchJobs.connect(account, r)))(region).create(request)


def bucket_region(source: Source, bucket: str) -> str:
    """Where ``bucket`` is (copy jobs are created in the destination's Region); the media region if unknown."""
    try:
        found = source.client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except (ClientError, BotoCoreError):
        return source.region
    return found or "us-east-1"  # S3 answers no LocationConstraint for us-east-1


def _log(result: MediaRestoreResult, index: dict[str, list[str]]) -> dict[str, Any]:
    doc = result.to_dict()
    doc.pop("applied", None)
    doc["class"] = doc.pop("media_class")
    doc["index"] = index
    return doc


def follow_job(config: Config, store: BucketClient, *, job_id: str, source: Source | None = None,
               to: str | None = None, jobs: Callable[[str], batch.BatchJobs] | None = None,
               progress: Progress | None = None, poll: float = 15.0,
               now: datetime | None = None) -> tuple[report.JobCheck, str]:
    """Wait for ``job_id`` (a restore or backfill job), verify its completion report, log it."""
    source = source or Source(config)
    region = bucket_region(source, to or source.bucket)
    account = config.destination.account
    client = (jobs or (lambda r: batch.BatchJobs.connect(account, r)))(region)
    job = client.wait(job_id, poll=poll, progress=progress)
    check = report.check_job(store, job)
    log = write_log(store, "media-job", job_id, check.to_dict(), now=now)
    return check, log
