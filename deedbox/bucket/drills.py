"""Drill evidence as readers see it: one ``DrillRecord`` per ``drills/<UTC ts>/report.json``.

The drill (``deedbox.drill``) writes the reports; ``status`` and ``drill list`` read them. The
reading lives here, below both, so ``status`` (a lower layer than ``drill``) need not import the
drill. A report is data from the bucket, never trusted: every field is coerced to its type (a
number that is not a number is None, a text that is not a text is its ``str``) and a report that
does not parse is a record with status ``unreadable`` and the reason, not an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from deedbox.bucket.client import BucketClient
from deedbox.bucket.layout import PREFIXES
from deedbox.errors import DeedboxError

REPORT_FILE = "report.json"
UNREADABLE = "unreadable"
READERS = 8  # reports read in parallel (boto3 clients are thread-safe)


@dataclass(frozen=True)
class DrillRecord:
    """What one drill report says: its verdict, where it failed, RPO/RTO and the stores' verdicts."""

    key: str
    status: str  # passed | failed | unreadable (or whatever a foreign report says, as text)
    drill_id: str | None = None
    failed_step: str | None = None
    failed_detail: str | None = None  # the failed step's own detail line
    snapshot: str | None = None
    rpo_s: float | None = None
    rto_s: float | None = None
    started_at: str | None = None
    stores: dict[str, str] = field(default_factory=dict)
    html: str | None = None  # the report.html key, when the drill wrote one
    detail: str = ""  # why an unreadable report is unreadable

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_drill_reports(store: BucketClient) -> list[DrillRecord]:
    """Every ``drills/<ts>/report.json`` in the bucket, newest first (by key)."""
    keys = sorted((o.key for o in store.list(PREFIXES["drills"]) if o.key.endswith("/" + REPORT_FILE)),
                  reverse=True)
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return list(pool.map(lambda key: _read(store, key), keys))


def _read(store: BucketClient, key: str) -> DrillRecord:
    try:
        doc = json.loads(store.get_bytes(key))
    except (ValueError, DeedboxError) as err:
        return DrillRecord(key, UNREADABLE, detail=str(err))
    if not isinstance(doc, dict):
        return DrillRecord(key, UNREADABLE, detail=f"not a JSON object but {type(doc).__name__}")
    return parse_report(key, doc)


def parse_report(key: str, doc: Mapping[str, Any]) -> DrillRecord:
    """Pure: a ``DrillRecord`` from a parsed ``report.json`` (``DrillReport.to_dict()``'s shape)."""
    failed = _text(doc.get("failed_step"))
    steps = _list(doc.get("steps"))
    failed_detail = next((_text(s.get("detail")) for s in steps
                          if isinstance(s, dict) and failed is not None and _text(s.get("name")) == failed), None)
    stores = _dict(doc.get("stores"))
    keys = _list(doc.get("report_keys"))
    return DrillRecord(
        key, _text(doc.get("status")) or UNREADABLE, drill_id=_text(doc.get("drill_id")),
        failed_step=failed, failed_detail=failed_detail, snapshot=_text(doc.get("snapshot")),
        rpo_s=_number(doc.get("rpo_s")), rto_s=_number(doc.get("rto_s")),
        started_at=_text(doc.get("started_at")),
        stores={str(k): str(v) for k, v in stores.items()},
        html=next((str(k) for k in keys if str(k).endswith(".html")), None),
        detail="" if _text(doc.get("status")) else "the report has no status")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None
