"""Freshness of each data class against its RPO, from what is in the backup bucket.

- backend: the newest *complete* snapshot (incomplete folders are counted, never used);
- media: the newest successful ``records/media-sync`` record (a sync or a replication check);
- secrets: the newest successful ``records/secrets-verify`` record, against
  ``backups.secrets.max_verify_age_hours``;
- and, beside the classes, multipart uploads left open for over an hour under deedbox's prefixes
  (a killed export; the lifecycle rule aborts them after 7 days, until then they cost storage).

A class is ``fresh`` when its newest good evidence is at most its limit old; no evidence at all
is ``missing`` (and stale). ``assess`` is pure; ``collect`` does the reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from deedbox.bucket.client import BucketClient
from deedbox.bucket.layout import PREFIXES
from deedbox.bucket.records import newest_record
from deedbox.bucket.snapshots import format_ts, list_snapshots
from deedbox.config.model import Config


@dataclass(frozen=True)
class ClassStatus:
    data_class: str
    newest: str | None  # UTC timestamp of the newest good evidence
    age_hours: float | None
    limit_hours: int
    fresh: bool
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def assess(data_class: str, newest: datetime | None, limit_hours: int, now: datetime,
           detail: str = "") -> ClassStatus:
    """Pure: fresh iff evidence exists and is at most ``limit_hours`` old."""
    if newest is None:
        return ClassStatus(data_class, None, None, limit_hours, False, detail or "no backup found")
    age = (now - newest).total_seconds() / 3600
    return ClassStatus(data_class, format_ts(newest), round(age, 2), limit_hours,
                       age <= limit_hours, detail)


def collect(config: Config, store: BucketClient, now: datetime | None = None) -> list[ClassStatus]:
    now = now or datetime.now(UTC)
    out = [_backend(config, store, now)]
    if config.backups.media is not None and config.media_classes():
        out.append(_record_status(store, "media", "media-sync", config.backups.media.rpo_hours, now))
    if config.backups.secrets is not None:
        out.append(_record_status(store, "secrets", "secrets-verify",
                                  config.backups.secrets.max_verify_age_hours, now))
    return out


STALE_UPLOAD = timedelta(hours=1)


@dataclass(frozen=True)
class OpenUpload:
    key: str
    initiated: str
    age_hours: float


def open_uploads(store: BucketClient, now: datetime | None = None) -> list[OpenUpload]:
    """Multipart uploads under deedbox's prefixes started more than an hour ago."""
    found = [(k, when) for prefix in PREFIXES.values() for k, _, when in store.multipart_uploads(prefix)]
    return stale_uploads(found, now or datetime.now(UTC))


def stale_uploads(found: list[tuple[str, datetime]], now: datetime) -> list[OpenUpload]:
    """Pure: the uploads older than ``STALE_UPLOAD`` (a running export's own upload is younger)."""
    return [OpenUpload(k, format_ts(when), round((now - when).total_seconds() / 3600, 2))
            for k, when in sorted(found) if now - when > STALE_UPLOAD]


def _backend(config: Config, store: BucketClient, now: datetime) -> ClassStatus:
    deployment = config.source.convex.deployment
    refs = list_snapshots(store, deployment)
    good = next((r for r in refs if r.complete), None)
    newer_incomplete = sum(1 for r in refs if not r.complete and (good is None or r.timestamp > good.timestamp))
    detail = good.prefix if good else f"no complete snapshot under backend/{deployment}/"
    if newer_incomplete:
        detail += f"; {newer_incomplete} newer incomplete (no manifest)"
    return assess("backend", good.timestamp if good else None, config.backups.backend.rpo_hours, now, detail)


def _record_status(store: BucketClient, data_class: str, kind: str, limit: int, now: datetime) -> ClassStatus:
    good = newest_record(store, kind, where=lambda d: d.get("ok") is True)
    last = newest_record(store, kind)
    detail = f"records/{kind}/"
    if last and (good is None or last[0] > good[0]):
        detail += f"; last run {format_ts(last[0])} NOT ok"
    if good is None:
        return assess(data_class, None, limit, now, f"no successful run in records/{kind}/")
    return assess(data_class, good[0], limit, now, detail)
