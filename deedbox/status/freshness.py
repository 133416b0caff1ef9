"""Freshness against a limit, and multipart uploads left open: the pure judgements of ``status``.

A class is ``fresh`` when its newest good evidence is at most its limit old; no evidence at all
is ``missing`` (and stale). A multipart upload under deedbox's prefixes open for over an hour is
a killed write (a running export's own upload is younger); the lifecycle rule aborts it after
7 days, until then it costs storage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from deedbox.bucket.client import BucketClient
from deedbox.bucket.layout import PREFIXES
from deedbox.bucket.snapshots import format_ts

STALE_UPLOAD = timedelta(hours=1)


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


@dataclass(frozen=True)
class OpenUpload:
    key: str
    initiated: str
    age_hours: float

    def to_dict(self) -> dict:
        return asdict(self)


def open_uploads(store: BucketClient, now: datetime | None = None) -> list[OpenUpload]:
    """Multipart uploads under deedbox's prefixes started more than an hour ago."""
    found = [(k, when) for prefix in PREFIXES.values() for k, _, when in store.multipart_uploads(prefix)]
    return stale_uploads(found, now or datetime.now(UTC))


def stale_uploads(found: list[tuple[str, datetime]], now: datetime) -> list[OpenUpload]:
    """Pure: the uploads older than ``STALE_UPLOAD`` (a running export's own upload is younger)."""
    return [OpenUpload(k, format_ts(when), round((now - when).total_seconds() / 3600, 2))
            for k, when in sorted(found) if now - when > STALE_UPLOAD]
