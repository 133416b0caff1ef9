"""Backend snapshots in the backup bucket: naming, listing, resolving, manifests.

Layout (written once, never rewritten)::

    backend/<deployment>/<YYYYmmddTHHMMSSZ>-<reason>/snapshot.zip
    backend/<deployment>/<YYYYmmddTHHMMSSZ>-<reason>/manifest.json   (last, after verification)

A folder without ``manifest.json`` is *incomplete* (a run that died part-way): it is listed with
``complete=False``, never chosen as ``latest`` and refused by ``resolve_snapshot``. Reads go the
other way round from writes: manifest first, then the object version it names.

"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from deedbox.bucket.client import BucketClient
from deedbox.bucket.layout import PREFIXES
from deedbox.bucket.manifest import Manifest, parse_manifest
from deedbox.config.model import Config
from deedbox.errors import CheckFailed

SNAPSHOT_FILE = "snapshot.zip"
MANIFEST_FILE = "manifest.json"
TS_FORMAT = "%Y%m%dT%H%M%SZ"
_FOLDER = re.compile(r"^(\d{8}T\d{6}Z)-([a-z][a-z0-9-]*)$")


@dataclass(frozen=True)
class SnapshotRef:
    """One snapshot folder; ``complete`` means both its snapshot and its manifest exist."""

    prefix: str  # "backend/<deployment>/<ts>-<reason>/"
    deployment: str
    timestamp: datetime
    reason: str
    complete: bool
    missing: tuple[str, ...] = ()  # which of snapshot.zip / manifest.json the folder lacks

    @property
    def snapshot_key(self) -> str:
        return self.prefix + SNAPSHOT_FILE

    @property
    def manifest_key(self) -> str:
        return self.prefix + MANIFEST_FILE

    @property
    def name(self) -> str:
        return self.prefix.rstrip("/").rsplit("/", 1)[-1]


def format_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TS_FORMAT)


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


def backend_root(deployment: str) -> str:
    return f"{PREFIXES['backend']}{deployment}/"


def folder_prefix(deployment: str, moment: datetime, reason: str) -> str:
    return f"{backend_root(deployment)}{format_ts(moment)}-{reason}/"


def parse_folder(prefix: str, deployment: str, complete: bool,
                 missing: tuple[str, ...] = ()) -> SnapshotRef | None:
    """A ``SnapshotRef`` for ``backend/<deployment>/<ts>-<reason>/``, None for foreign names."""
    match = _FOLDER.match(prefix.rstrip("/").rsplit("/", 1)[-1])
    if not match:
        return None
    return SnapshotRef(prefix if prefix.endswith("/") else prefix + "/", deployment,
                       parse_ts(match.group(1)), match.group(2), complete, missing)


def group_folders(keys: list[str], deployment: str) -> list[SnapshotRef]:
    """Pure: turn object keys under ``backend/<deployment>/`` into refs, newest first."""
    root = backend_root(deployment)
    files: dict[str, set[str]] = {}
    for key in keys:
        rest = key[len(root):] if key.startswith(root) else None
        if rest and rest.count("/") == 1:
            folder, name = rest.split("/")
            files.setdefault(folder, set()).add(name)
    refs = [parse_folder(root + folder + "/", deployment, {SNAPSHOT_FILE, MANIFEST_FILE} <= names,
                         tuple(f for f in (SNAPSHOT_FILE, MANIFEST_FILE) if f not in names))
            for folder, names in files.items()]
    return sorted((r for r in refs if r), key=lambda r: (r.timestamp, r.name), reverse=True)


def list_snapshots(store: BucketClient, deployment: str) -> list[SnapshotRef]:
    """Every snapshot folder of ``deployment``, complete or not, newest first."""
    keys = [o.key for o in store.list(backend_root(deployment))]
    return group_folders(keys, deployment)


def latest_complete(store: BucketClient, deployment: str) -> SnapshotRef | None:
    return next((r for r in list_snapshots(store, deployment) if r.complete), None)


def _normalise_key(key: str, deployment: str) -> str:
    key = key.strip().removeprefix("s3://")
    for suffix in (SNAPSHOT_FILE, MANIFEST_FILE):
        key = key.removesuffix(suffix)
    key = key.rstrip("/")
    if "/" not in key:  # just "<ts>-<reason>"
        key = backend_root(deployment) + key
    return key + "/"


def resolve_snapshot(store: BucketClient, config: Config, key_or_latest: str) -> SnapshotRef:
    """``latest`` or a folder/``snapshot.zip``/``manifest.json`` key → a complete ``SnapshotRef``."""
    deployment = config.source.convex.deployment
    refs = list_snapshots(store, deployment)
    if key_or_latest in ("", "latest"):
        ref = next((r for r in refs if r.complete), None)
        if ref is None:
            raise CheckFailed(f"no complete snapshot of {deployment} in s3://{store.bucket}/{backend_root(deployment)}")
        return ref
    prefix = _normalise_key(key_or_latest, deployment)
    if prefix.startswith(store.bucket + "/"):
        prefix = prefix[len(store.bucket) + 1:]
    ref = next((r for r in refs if r.prefix == prefix), None)
    if ref is None:
        raise CheckFailed(f"no snapshot at s3://{store.bucket}/{prefix}")
    if not ref.complete:
        if MANIFEST_FILE in ref.missing:
            raise CheckFailed(f"snapshot {prefix} is incomplete (no manifest): it was never verified; use another")
        raise CheckFailed(f"snapshot {prefix} has a manifest but no {SNAPSHOT_FILE}: its data is gone; use another")
    return ref


def load_manifest(store: BucketClient, ref: SnapshotRef) -> Manifest:
    """The parsed manifest of ``ref``; CheckFailed if it is not a manifest deedbox wrote."""
    return parse_manifest(store.get_bytes(ref.manifest_key), key=ref.manifest_key)
