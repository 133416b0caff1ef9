"""A backup bucket with a known history, and ``status`` pinned to one moment.

``history`` fills the moto bucket (``tests/support/ops_fixtures.py``) relative to ``NOW``: real
snapshots (``export_snapshot`` of a ZIP from ``tests/support/snapshots.py``), incomplete folders,
media-sync and secrets-verify records as the commands write them, drill reports built with the
drill's own ``DrillReport``, one multipart upload left open, and hostile text in a key and in a
drill's detail. ``status`` reads ``deedbox.status.report.clock`` for its moment: pinned here, so
two runs (JSON, then HTML) describe the same moment and their numbers can be compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.bucket.records import write_record
from deedbox.bucket.snapshots import folder_prefix, format_ts
from deedbox.drill.report import FAILED, PASSED, DrillReport, Step

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert('owned')</script>"
HOSTILE_UPLOAD = f"backend/happy-otter-123/{HOSTILE}/snapshot.zip"
DEPLOYMENT = "happy-otter-123"


@dataclass
class History:
    """What ``history`` put in the bucket, as a reader of the page expects it."""

    now: datetime
    marks: dict[str, list[str]] = field(default_factory=dict)  # class -> timestamps in the window, oldest first
    outside: list[str] = field(default_factory=list)  # keys older than the window


@pytest.fixture
def pinned(monkeypatch):
    """``status`` at ``NOW`` (deedbox's own clock seam, not the system's)."""
    monkeypatch.setattr("deedbox.status.report.clock", lambda: NOW)
    return NOW


def hours(n: float) -> datetime:
    return NOW - timedelta(hours=n)


def drill_report(started: datetime, *, failed_step: str | None = None, detail: str = "",
                 rto_s: float | None = None, rpo_s: float = 7200.0) -> DrillReport:
    """A report as the drill writes it: its steps decide passed/failed and the stores' verdicts."""
    names = ["verify snapshot", "stack up", "import snapshot", "round trip", "restore secrets", "checks",
             "report upload", "teardown"]
    steps, failed = [], False
    for name in names:
        if failed:
            steps.append(Step(name))
        elif name == failed_step:
            steps.append(Step(name, FAILED, detail=detail))
            failed = True
        else:
            steps.append(Step(name, PASSED, detail="ok"))
    ts = format_ts(started)
    return DrillReport(drill_id=ts, stack=f"drill-{ts}", started_at=started.isoformat(),
                       snapshot=f"backend/{DEPLOYMENT}/x/", rpo_s=rpo_s, rto_s=rto_s, steps=steps,
                       report_keys=[f"drills/{ts}/report.json", f"drills/{ts}/report.md", f"drills/{ts}/report.html"])


def put_drill(store, report: DrillReport, key: str | None = None) -> str:
    key = key or f"drills/{report.drill_id}/report.json"
    store.put_new(key, json.dumps(report.to_dict()).encode(), content_type="application/json")
    return key


@pytest.fixture
def history(config, store, small_zip) -> History:
    h = History(NOW)
    complete = [hours(20), hours(14), hours(8), hours(2.25)]
    for moment in [NOW - timedelta(days=40), *complete]:
        export_snapshot(config, store, from_zip=small_zip, reason="scheduled", now=moment)
    h.outside.append(folder_prefix(DEPLOYMENT, NOW - timedelta(days=40), "scheduled"))
    for moment in (hours(5), hours(1.5)):  # a snapshot.zip whose manifest never came: incomplete
        store.put_new(folder_prefix(DEPLOYMENT, moment, "manual") + "snapshot.zip", b"partial")
    h.marks["backend"] = [format_ts(m) for m in sorted([*complete, hours(5), hours(1.5)])]

    media = {hours(50): True, hours(26): True, hours(2): False}
    for moment, ok in media.items():
        classes = {"images": {"source": 4, "missing": 0 if ok else 3}, "video": {"source": 1, "missing": 0}}
        write_record(store, "media-sync", {"ok": ok, "mode": "replicate", "classes": classes, "error_count": 0}, moment)
    h.marks["media"] = [format_ts(m) for m in sorted(media)]

    write_record(store, "secrets-verify", {"ok": True, "keys": {"SESSION_SECRET": "in-sync"}}, NOW - timedelta(days=36))
    secrets = {hours(30): ("in-sync", True), hours(6): ("in-sync", True), hours(1): ("drift", False)}
    for moment, (state, ok) in secrets.items():
        write_record(store, "secrets-verify", {"ok": ok, "keys": {"SESSION_SECRET": "in-sync",
                                                                  "STRIPE_SECRET_KEY": state}}, moment)
    h.marks["secrets"] = [format_ts(m) for m in sorted(secrets)]

    put_drill(store, drill_report(NOW - timedelta(days=30), rto_s=1500.25))
    put_drill(store, drill_report(NOW - timedelta(days=10), rto_s=1320.5, rpo_s=3600.0))
    put_drill(store, drill_report(NOW - timedelta(days=2), failed_step="checks", detail=f"open a course: {HOSTILE}"))
    store.s3.create_multipart_upload(Bucket=store.bucket, Key=HOSTILE_UPLOAD)  # moto: initiated in 2010
    return h
