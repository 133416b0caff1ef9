"""Small JSON evidence records in the backup bucket: ``records/<kind>/<YYYYmmddTHHMMSSZ>.json``.

``media sync`` writes ``records/media-sync/…`` and ``secrets verify`` writes
``records/secrets-verify/…``; ``status`` reads the newest of each to judge freshness. Records
are write-once like everything else in the bucket and never contain secret values.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from deedbox.bucket.client import BucketClient
from deedbox.bucket.layout import PREFIXES
from deedbox.bucket.snapshots import format_ts, parse_ts

ROOT = PREFIXES["records"]


def record_key(kind: str, moment: datetime) -> str:
    return f"{ROOT}{kind}/{format_ts(moment)}.json"


def write_record(store: BucketClient, kind: str, document: dict[str, Any],
                 now: datetime | None = None) -> str:
    """Write ``document`` (plus ``kind``/``recorded_at``) under a fresh timestamped key."""
    moment = now or datetime.now(UTC)
    for step in range(120):
        key = record_key(kind, moment + timedelta(seconds=step))
        if not store.exists(key):
            break
    body = {"kind": kind, "recorded_at": format_ts(moment + timedelta(seconds=step)), **document}
    store.put_new(key, json.dumps(body, indent=2, sort_keys=True).encode(),
                  content_type="application/json")
    return key


def newest_record(store: BucketClient, kind: str, *, where: Any = None) -> tuple[datetime, dict] | None:
    """The newest record of ``kind`` (optionally the newest satisfying ``where(doc)``)."""
    keys = sorted((o.key for o in store.list(f"{ROOT}{kind}/") if o.key.endswith(".json")),
                  reverse=True)
    for key in keys:
        try:
            moment = parse_ts(key.rsplit("/", 1)[-1].removesuffix(".json"))
            doc = json.loads(store.get_bytes(key))
        except ValueError:
            continue
        if where is None or where(doc):
            return moment, doc
    return None
