"""The status report: one structure that the text, the JSON document and the HTML page all show.

``build_report`` does the reads (snapshot folders, records, drill reports, open multipart
uploads) once; ``StatusReport.to_dict`` is the JSON document (the keys ``status`` always had,
``bucket``, ``fresh``, ``classes``, ``incomplete_uploads``, plus the history); the page renders
the same dataclasses, so the numbers it shows are the document's by construction.

A finding is *open* while nothing newer supersedes it: failed runs and incomplete snapshots newer
than their class's newest good evidence, the newest vault check's drifted keys, drills that failed
after the last passing one, every stale class and every multipart upload left open. Findings
inform; the exit code is still freshness alone (1 when a class is stale).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from deedbox.bucket.client import BucketClient
from deedbox.bucket.drills import UNREADABLE, DrillRecord, read_drill_reports
from deedbox.bucket.layout import PREFIXES
from deedbox.bucket.snapshots import format_ts
from deedbox.config.model import Config
from deedbox.status.freshness import ClassStatus, OpenUpload, open_uploads
from deedbox.status.history import Evidence, Lane, Window, evidence

FORMAT_VERSION = 2  # 1: bucket, fresh, classes, incomplete_uploads; 2: + the history (additive)
_FAILED_RUN = {"backend": "incomplete-snapshot", "media": "media-sync-failed", "secrets": "secrets-verify-failed"}


@dataclass(frozen=True)
class Finding:
    """Something open that a person should look at; ``key`` is the evidence in the bucket."""

    kind: str  # stale | incomplete-snapshot | media-sync-failed | secrets-verify-failed | vault-drift
    #            | incomplete-upload | drill-failed | drill-unreadable
    subject: str
    detail: str
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DrillSummary:
    """The drill history in numbers; RTOs over passed drills (as ``drill list`` shows them)."""

    count: int
    passed: int
    failed: int
    rto_newest_s: float | None
    rto_worst_s: float | None
    rto_best_s: float | None

    @classmethod
    def of(cls, drills: tuple[DrillRecord, ...]) -> DrillSummary:
        rtos = [d.rto_s for d in drills if d.passed and d.rto_s is not None]
        return cls(len(drills), sum(1 for d in drills if d.passed), sum(1 for d in drills if not d.passed),
                   rtos[0] if rtos else None, max(rtos, default=None), min(rtos, default=None))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StatusReport:
    bucket: str
    window: Window
    classes: tuple[ClassStatus, ...]
    timeline: tuple[Lane, ...]
    incomplete_uploads: tuple[OpenUpload, ...]
    drills: tuple[DrillRecord, ...]  # newest first
    findings: tuple[Finding, ...]

    @property
    def generated_at(self) -> datetime:
        return self.window.end

    @property
    def fresh(self) -> bool:
        return all(c.fresh for c in self.classes)

    @property
    def stale(self) -> list[ClassStatus]:
        return [c for c in self.classes if not c.fresh]

    @property
    def drill_summary(self) -> DrillSummary:
        return DrillSummary.of(self.drills)

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "fresh": self.fresh, "classes": [c.to_dict() for c in self.classes],
                "incomplete_uploads": [u.to_dict() for u in self.incomplete_uploads],
                "format_version": FORMAT_VERSION, "generated_at": format_ts(self.generated_at),
                "window": self.window.to_dict(), "timeline": [lane.to_dict() for lane in self.timeline],
                "drills": [d.to_dict() for d in self.drills], "drill_summary": self.drill_summary.to_dict(),
                "findings": [f.to_dict() for f in self.findings]}


def collect(config: Config, store: BucketClient, now: datetime | None = None) -> list[ClassStatus]:
    """Each class's freshness (the classes of ``build_report``, without drills and uploads)."""
    return [e.status for e in evidence(config, store, _window(config, now))]


def build_report(config: Config, store: BucketClient, now: datetime | None = None) -> StatusReport:
    """Read everything ``status`` shows, once."""
    window = _window(config, now)
    found = evidence(config, store, window)
    uploads = tuple(open_uploads(store, window.end))
    drills = tuple(read_drill_reports(store))
    return StatusReport(store.bucket, window, tuple(e.status for e in found), tuple(e.lane for e in found),
                        uploads, drills, tuple(findings(found, uploads, drills)))


def clock() -> datetime:
    """The moment a status describes when none is given (tests replace it to compare two runs)."""
    return datetime.now(UTC).replace(microsecond=0)


def _window(config: Config, now: datetime | None) -> Window:
    return Window.ending(now or clock(), config.destination.immutability.days)


def findings(found: list[Evidence], uploads: tuple[OpenUpload, ...], drills: tuple[DrillRecord, ...]) -> list[Finding]:
    """Pure: the open findings, stale classes first, then failed runs, uploads and drills."""
    out = [_stale(e.status) for e in found if not e.status.fresh]
    for e in found:
        out += _failed_runs(e)
    out += [Finding("incomplete-upload", u.key, f"multipart upload open for {u.age_hours} h (since {u.initiated}): "
                    "a killed write; the lifecycle rule aborts it after 7 days", u.key) for u in uploads]
    return out + drill_findings(drills)


def _stale(c: ClassStatus) -> Finding:
    age = "no good evidence" if c.age_hours is None else f"newest good evidence {c.age_hours} h old"
    return Finding("stale", c.data_class, f"{age}, RPO {c.limit_hours} h: {c.detail}")


def _failed_runs(e: Evidence) -> list[Finding]:
    if not e.open_failures:
        return []
    newest, count = e.open_failures[0], len(e.open_failures)
    since = f"{count} since the newest good one" if count > 1 else "newer than the newest good one"
    kind = _FAILED_RUN.get(e.status.data_class, "failed-run")
    if e.status.data_class == "secrets" and newest.problems:
        kind = "vault-drift"
    return [Finding(kind, e.status.data_class, f"{format_ts(newest.at)} ({since}): {newest.detail}", newest.key)]


def drill_findings(drills: tuple[DrillRecord, ...]) -> list[Finding]:
    """Pure: drills that failed after the newest passed one (newest first), and unreadable reports."""
    out = []
    for d in drills:  # newest first
        if d.passed:
            break
        if d.status == UNREADABLE:
            out.append(Finding("drill-unreadable", d.key, d.detail or "the report does not parse", d.key))
        else:
            where = f"failed at {d.failed_step!r}" if d.failed_step else f"status {d.status}"
            out.append(Finding("drill-failed", d.drill_id or d.key,
                               where + (f": {d.failed_detail}" if d.failed_detail else ""), d.html or d.key))
    return out


def status_key(moment: datetime) -> str:
    """Where ``--publish`` puts the page: ``status/<UTC ts>.html``."""
    return f"{PREFIXES['status']}{format_ts(moment)}.html"


def publish(store: BucketClient, report: StatusReport, page: str) -> str:
    """Write ``page`` once under ``status/``, dated by the report; never overwrites (``put_new``)."""
    key = status_key(report.generated_at)
    store.put_new(key, page.encode(), content_type="text/html; charset=utf-8")
    return key
