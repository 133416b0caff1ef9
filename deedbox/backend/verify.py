"""Verify a stored snapshot against its manifest (restic's ``check``, structure vs read-data).

Structure (default, cheap): the manifest parses; the object exists in the version the manifest
names; its size and the checksum S3 reports match the manifest; no newer version of the object
hides behind it. ``read_data``: stream the object (that version) and recompute its SHA-256, then
re-read the ZIP and compare the whole summary per table (count, digest, number) and per field.
Every difference becomes one line in ``problems``; nothing here raises for a mismatch.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deedbox.bucket.client import BucketClient
from deedbox.bucket.manifest import Manifest
from deedbox.bucket.snapshots import SnapshotRef, load_manifest
from deedbox.convex.snapshot import summarize
from deedbox.errors import CheckFailed, SnapshotError, StorageError


@dataclass
class VerifyResult:
    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: Manifest | None = None


def verify_snapshot(store: BucketClient, ref: SnapshotRef, *, read_data: bool) -> VerifyResult:
    """Check ``ref``; ``ok`` is True only if nothing differs."""
    try:
        manifest = load_manifest(store, ref)
    except (CheckFailed, StorageError) as err:
        return VerifyResult(False, [str(err)], None)
    problems = structure_problems(store, manifest)
    key = manifest.object.key
    if key != ref.snapshot_key:  # a manifest copied into another folder vouches for nothing
        problems.append(f"manifest of {ref.prefix} describes {key}, not this folder's {ref.snapshot_key}")
    if read_data and not any(p.startswith("missing") for p in problems):
        problems += data_problems(store, manifest)
    return VerifyResult(not problems, problems, manifest)


def structure_problems(store: BucketClient, manifest: Manifest) -> list[str]:
    obj = manifest.object
    key, version = obj.key, obj.version_id
    try:
        head = store.head(key, version)
    except StorageError:
        return [f"missing: {key} (version {version}) is not in the bucket"]
    problems = []
    if head.size != obj.size:
        problems.append(f"{key}: size {head.size} != manifest {obj.size}")
    if head.checksum != obj.s3_checksum_sha256:
        problems.append(f"{key}: stored checksum {head.checksum or 'none'} != manifest's")
    if version and head.version_id != version:
        problems.append(f"{key}: version {head.version_id} != manifest {version}")
    newest = store.versions(key)
    if version and version != "null" and newest and newest[0] != version:
        problems.append(f"{key}: a newer version ({newest[0]}) was written after the manifest's")
    return problems


def data_problems(store: BucketClient, manifest: Manifest) -> list[str]:
    """Download (streaming, to a temporary file), re-hash, re-summarize, compare."""
    obj = manifest.object
    with tempfile.TemporaryDirectory(prefix="deedbox-verify-") as tmp:
        path = Path(tmp) / "snapshot.zip"
        digest = _download_hashing(store, obj.key, obj.version_id, path)
        problems = []
        if digest != obj.sha256:
            problems.append(f"{obj.key}: sha256 of the stored bytes differs from the manifest")
        try:
            summary = summarize(path).to_dict()
        except SnapshotError as err:
            return [*problems, f"{obj.key}: unreadable snapshot: {err}"]
    return problems + compare_summaries(manifest.snapshot, summary)


def _download_hashing(store: BucketClient, key: str, version: str | None, path: Path) -> str:
    sha = hashlib.sha256()
    with store.open(key, version) as body, path.open("wb") as out:
        while chunk := body.read(1024 * 1024):
            sha.update(chunk)
            out.write(chunk)
    return sha.hexdigest()


def compare_summaries(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Pure: one line per difference; tables are matched by (component, name)."""
    problems: list[str] = []
    _compare(expected, actual, "snapshot", problems)
    return problems


def _table_key(item: dict) -> str:
    component = item.get("component") or ""
    return f"{component}/{item['name']}" if component else str(item["name"])


def _compare(exp: Any, act: Any, where: str, out: list[str]) -> None:
    if isinstance(exp, dict) and isinstance(act, dict):
        for key in sorted(set(exp) | set(act), key=str):
            if key not in act:
                out.append(f"{where}.{key}: missing from the stored snapshot")
            elif key not in exp:
                out.append(f"{where}.{key}: not in the manifest")
            else:
                _compare(exp[key], act[key], f"{where}.{key}", out)
    elif _named_list(exp) and _named_list(act):
        _compare({_table_key(i): i for i in exp}, {_table_key(i): i for i in act}, where, out)
    elif exp != act:
        out.append(f"{where}: manifest {_short(exp)} != stored {_short(act)}")


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
