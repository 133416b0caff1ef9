"""Each data class's evidence over the window: the events, and the class's freshness from them.

One lane per class, one ``Event`` per piece of evidence whose timestamp is in the window:

- backend: every snapshot folder of the deployment (complete = ok, incomplete = not ok);
- media: every ``records/media-sync`` record; secrets: every ``records/secrets-verify`` record
  (ok as the record says; a record that does not parse is a failed event).

The window is the object lock's retention (``destination.immutability.days``): everything in it
is still locked, so still restorable. The class's status is judged from the same events (its
newest good one); only when the window holds no good record is the older history read, newest
first, so a class stale for longer than the window still shows how old its evidence is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from deedbox.bucket.client import BucketClient
from deedbox.bucket.records import ROOT as RECORDS
from deedbox.bucket.records import newest_record
from deedbox.bucket.snapshots import MANIFEST_FILE, SnapshotRef, format_ts, list_snapshots, parse_ts
from deedbox.config.model import Config
from deedbox.errors import DeedboxError
from deedbox.secrets.vault import PASSING
from deedbox.status.freshness import STALE_UPLOAD, ClassStatus, assess

READERS = 8  # records read in parallel (boto3 clients are thread-safe)


@dataclass(frozen=True)
class Window:
    """``[start, end]``: the span the timeline draws (``end`` is the moment of the status)."""

    start: datetime
    end: datetime
    days: int
    basis: str = "destination.immutability.days"

    @classmethod
    def ending(cls, now: datetime, days: int) -> Window:
        return cls(now - timedelta(days=days), now, days)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end

    def to_dict(self) -> dict[str, Any]:
        return {"days": self.days, "start": format_ts(self.start), "end": format_ts(self.end),
                "basis": self.basis}


@dataclass(frozen=True)
class Event:
    """One mark on the timeline: a snapshot folder or a record, good or not."""

    at: datetime
    ok: bool
    key: str
    detail: str = ""
    problems: tuple[str, ...] = ()  # what was wrong (incomplete, drifted keys, missing media)

    def to_dict(self) -> dict[str, Any]:
        return {"at": format_ts(self.at), "ok": self.ok, "key": self.key, "detail": self.detail,
                "problems": list(self.problems)}


@dataclass(frozen=True)
class Lane:
    data_class: str
    limit_hours: int
    events: tuple[Event, ...]  # in the window, oldest first

    @property
    def ok_count(self) -> int:
        return sum(1 for e in self.events if e.ok)

    @property
    def failed_count(self) -> int:
        return len(self.events) - self.ok_count

    def to_dict(self) -> dict[str, Any]:
        return {"data_class": self.data_class, "limit_hours": self.limit_hours,
                "counts": {"ok": self.ok_count, "failed": self.failed_count},
                "events": [e.to_dict() for e in self.events]}


@dataclass(frozen=True)
class Evidence:
    """One class: its status, its lane, and the failures newer than its newest good event."""

    status: ClassStatus
    lane: Lane
    open_failures: tuple[Event, ...]  # newest first


def evidence(config: Config, store: BucketClient, window: Window) -> list[Evidence]:
    """Every class the config backs up, in the order ``status`` has always listed them."""
    out = [backend_evidence(config, store, window)]
    if config.backups.media is not None and config.media_classes():
        out.append(record_evidence(store, "media", "media-sync", config.backups.media.rpo_hours,
                                   window, describe_media))
    if config.backups.secrets is not None:
        out.append(record_evidence(store, "secrets", "secrets-verify",
                                   config.backups.secrets.max_verify_age_hours, window, describe_secrets))
    return out


# --------------------------------------------------------------------------- backend

def backend_evidence(config: Config, store: BucketClient, window: Window) -> Evidence:
    deployment = config.source.convex.deployment
    refs = list_snapshots(store, deployment)  # newest first
    good = next((r for r in refs if r.complete), None)
    newer = [r for r in refs if not r.complete and (good is None or r.timestamp > good.timestamp)]
    detail = good.prefix if good else f"no complete snapshot under backend/{deployment}/"
    if newer:
        detail += f"; {len(newer)} newer incomplete (no manifest)"
    limit = config.backups.backend.rpo_hours
    status = assess("backend", good.timestamp if good else None, limit, window.end, detail)
    lane = Lane("backend", limit, tuple(_snapshot_event(r) for r in reversed(refs) if window.contains(r.timestamp)))
    # a folder younger than an hour may be an export still running: not a failure yet
    failures = tuple(_snapshot_event(r) for r in newer if window.end - r.timestamp > STALE_UPLOAD)
    return Evidence(status, lane, failures)


def _snapshot_event(ref: SnapshotRef) -> Event:
    if ref.complete:
        return Event(ref.timestamp, True, ref.prefix, f"complete ({ref.reason})")
    what = "no manifest: never verified" if MANIFEST_FILE in ref.missing else "manifest without its snapshot.zip"
    return Event(ref.timestamp, False, ref.prefix, f"incomplete ({ref.reason}): {what}",
                 tuple(f"{name} missing" for name in ref.missing))


# --------------------------------------------------------------------------- records

Describe = Callable[[Mapping[str, Any]], tuple[str, tuple[str, ...]]]


def record_evidence(store: BucketClient, data_class: str, kind: str, limit: int, window: Window,
                    describe: Describe) -> Evidence:
    # records dated after the window's end (a skewed clock) count as evidence, as they always
    # did, but are not drawn: the timeline ends at the status's moment
    recent = [(moment, key) for moment, key in _record_keys(store, kind) if moment >= window.start]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        events = list(pool.map(lambda mk: _record_event(store, mk[0], mk[1], describe), recent))
    lane = Lane(data_class, limit, tuple(e for e in events if window.contains(e.at)))
    good = next((e for e in reversed(events) if e.ok), None)
    if good is None:  # none in the window: the older history, newest first
        older = newest_record(store, kind, where=lambda d: d.get("ok") is True)
        good_at = older[0] if older else None
    else:
        good_at = good.at
    last_at = events[-1].at if events else (newest_record(store, kind) or (None,))[0]
    failures = tuple(e for e in reversed(events) if not e.ok and (good_at is None or e.at > good_at))
    if good_at is None:
        return Evidence(assess(data_class, None, limit, window.end, f"no successful run in {RECORDS}{kind}/"),
                        lane, failures)
    detail = f"{RECORDS}{kind}/"
    if last_at is not None and last_at > good_at:
        detail += f"; last run {format_ts(last_at)} NOT ok"
    return Evidence(assess(data_class, good_at, limit, window.end, detail), lane, failures)


def _record_keys(store: BucketClient, kind: str) -> list[tuple[datetime, str]]:
    """``(moment, key)`` of every record of ``kind`` whose name is a timestamp, oldest first."""
    out = []
    for obj in store.list(f"{RECORDS}{kind}/"):
        name = obj.key.rsplit("/", 1)[-1]
        if not name.endswith(".json"):
            continue
        try:
            out.append((parse_ts(name.removesuffix(".json")), obj.key))
        except ValueError:
            continue
    return sorted(out)


def _record_event(store: BucketClient, moment: datetime, key: str, describe: Describe) -> Event:
    try:
        doc = json.loads(store.get_bytes(key))
    except (ValueError, DeedboxError) as err:
        return Event(moment, False, key, "unreadable record", (f"unreadable: {err}",))
    if not isinstance(doc, dict):
        return Event(moment, False, key, "unreadable record", ("not a JSON object",))
    detail, problems = describe(doc)
    return Event(moment, doc.get("ok") is True, key, detail, problems)


def describe_media(doc: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Pure: a media-sync record's summary and its problems (missing objects, failed copies, errors)."""
    classes = _dict(doc.get("classes"))
    problems = []
    for name, result in sorted(classes.items()):
        result = _dict(result)
        for field, what in (("missing", "missing"), ("failed", "copies failed")):
            if isinstance(result.get(field), int) and result[field] > 0:
                problems.append(f"{name}: {result[field]} {what}")
    errors = doc.get("error_count")
    if isinstance(errors, int) and errors > 0:
        problems.append(f"{errors} errors")
    mode = str(doc.get("mode") or "media")
    if doc.get("ok") is not True and not problems:
        problems.append("the run is not ok")
    return (f"{mode}: " + ("; ".join(problems) if problems else f"{len(classes)} classes ok")), tuple(problems)


def describe_secrets(doc: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Pure: a secrets-verify record's summary and the keys not in sync with the vault."""
    keys = _dict(doc.get("keys"))
    problems = tuple(f"{k}: {state}" for k, state in sorted(keys.items()) if state not in PASSING)
    if problems:
        return "; ".join(problems), problems
    if doc.get("ok") is not True:
        return "the verification is not ok (a replica?)", ()
    return f"{len(keys)} keys in sync", ()


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}
