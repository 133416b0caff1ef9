"""What record and full restores share: a verified snapshot on local disk, the restore log, targets.

Restores only ever read snapshots that have a manifest and pass verification (structure for a
one-record lookup, read-data before a full restore). What a restore did is written to the bucket
as ``restores/<UTC ts>-<kind>-….json`` with ``put_new``: never overwritten, so the log of who put
what back, from which snapshot, is as durable as the backups themselves.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import deedbox
from deedbox.backend.verify import verify_snapshot
from deedbox.bucket.client import BucketClient
from deedbox.bucket.layout import PREFIXES
from deedbox.bucket.manifest import Manifest
from deedbox.bucket.snapshots import SnapshotRef, format_ts, resolve_snapshot
from deedbox.config.model import Config
from deedbox.errors import CheckFailed

RESTORES_PREFIX = PREFIXES["restores"]


@dataclass(frozen=True)
class VerifiedSnapshot:
    """A snapshot that passed verification, with its manifest."""

    ref: SnapshotRef
    manifest: Manifest

    @property
    def version_id(self) -> str | None:
        return self.manifest.object.version_id

    @property
    def tables(self) -> list[dict[str, Any]]:
        return self.manifest.tables


def verified_snapshot(store: BucketClient, config: Config, key: str, *, read_data: bool) -> VerifiedSnapshot:
    """Resolve ``key`` (or ``latest``) and verify it; CheckFailed names the first problems."""
    ref = resolve_snapshot(store, config, key)
    result = verify_snapshot(store, ref, read_data=read_data)
    if not result.ok or result.manifest is None:
        shown = "; ".join(result.problems[:3]) or "no manifest"
        more = f" (+{len(result.problems) - 3} more)" if len(result.problems) > 3 else ""
        raise CheckFailed(f"snapshot {ref.prefix} failed verification: {shown}{more}")
    return VerifiedSnapshot(ref, result.manifest)


@contextmanager
def local_copy(store: BucketClient, snap: VerifiedSnapshot) -> Iterator[Path]:
    """Download the manifest's version of ``snapshot.zip`` into a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="deedbox-restore-") as tmp:
        path = Path(tmp) / "snapshot.zip"
        store.download(snap.ref.snapshot_key, path, version_id=snap.version_id)
        yield path


def safe_key_part(text: str) -> str:
    """Table names and ids are already key-safe in Convex; keep it so for anything else."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:120]


def write_log(store: BucketClient, kind: str, name: str, record: dict[str, Any], *,
              now: datetime | None = None) -> str:
    """Write one restore log object (never overwriting); returns its key.

    Two restores of the same target within one second get consecutive seconds, as records do.
    """
    moment = now or datetime.now(UTC)
    for step in range(120):
        key = f"{RESTORES_PREFIX}{format_ts(moment + timedelta(seconds=step))}-{kind}-{safe_key_part(name)}.json"
        if not store.exists(key):
            break
    body = {"tool": {"name": "deedbox", "version": deedbox.__version__},
            "at": moment.isoformat(timespec="seconds"), "kind": kind, **record}
    store.put_new(key, (json.dumps(body, indent=2, sort_keys=True, default=str) + "\n").encode(),
                  content_type="application/json")
    return key


def with_convex_url(config: Config, url: str) -> Config:
    """The config with ``source.convex.url`` replaced: safety exports of ``url`` then land under
    ``backend/<that deployment>/``, next to (never mixed with) the source's own snapshots."""
    convex = dataclasses.replace(config.source.convex, url=url.rstrip("/"),
                                 self_hosted=not url.rstrip("/").endswith(".convex.cloud"))
    return dataclasses.replace(config, source=dataclasses.replace(config.source, convex=convex))
