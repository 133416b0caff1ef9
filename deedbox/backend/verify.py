"""Verify a stored snapshot against its manifest (restic's ``check``, structure vs read-data).

Structure (default, cheap): **every key of the folder was written exactly once** (a second version
or a delete marker on ``snapshot.zip``, ``manifest.json`` or anything else there is tampering:
deedbox writes each once, conditionally, and the bucket policy denies the runner anything else);
the manifest is read by its *first* version; the snapshot version it names is the first; its size
and the checksum S3 reports match the manifest. A forgery written as new versions of both objects,
however consistent, is therefore refused. This is the one routine ``verify``, ``restore record``,
``restore full`` and the drill use (``deedbox.restore.common.verified_snapshot``).

``read_data``: stream the object (that version) and recompute its SHA-256: that alone proves the
stored bytes are the bytes exported. Then re-read the ZIP as the manifest's format recorded it
(format 2: ``summarize``, every entry inflated and its CRC checked, every table digested as
stored; format 1: ``content_summary``) and compare the whole summary per table and per field,
which says *where* stored bytes differ and that this deedbox still reads them. Every difference
becomes one line in ``problems``; nothing here raises for a mismatch.

``compare_content`` is the drill's check, a different job: the restored deployment's re-export
holds the same data as the stored snapshot, whatever bytes a newer backend writes for it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from deedbox.bucket.client import BucketClient, VersionInfo
from deedbox.bucket.manifest import Manifest, parse_manifest
from deedbox.bucket.snapshots import SnapshotRef
from deedbox.convex.snapshot import content_summary, summarize
from deedbox.errors import CheckFailed, ObjectMissing, SnapshotError


@dataclass
class VerifyResult:
    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: Manifest | None = None


def verify_snapshot(store: BucketClient, ref: SnapshotRef, *, read_data: bool) -> VerifyResult:
    """Check ``ref``; ``ok`` is True only if nothing differs."""
    history = store.history(ref.prefix)  # an outage is an environment problem (exit 2), not a finding
    problems = tampering(history)
    first = _first_version(history.get(ref.manifest_key, []))
    try:
        manifest = parse_manifest(store.get_bytes(ref.manifest_key, first), key=ref.manifest_key)
    except (CheckFailed, ObjectMissing) as err:
        return VerifyResult(False, [*problems, str(err)], None)
    key = manifest.object.key
    if key != ref.snapshot_key:  # a manifest copied into another folder vouches for nothing
        problems.append(f"manifest of {ref.prefix} describes {key}, not this folder's {ref.snapshot_key}")
    snapshot_first = _first_version(history.get(ref.snapshot_key, []))
    if snapshot_first and manifest.object.version_id and manifest.object.version_id not in (snapshot_first, "null"):
        problems.append(f"{ref.snapshot_key}: the manifest names version {manifest.object.version_id}, not the "
                        f"first one written ({snapshot_first})")
    problems += structure_problems(store, manifest)
    if read_data and not any(p.startswith("missing") for p in problems):
        problems += data_problems(store, manifest)
    return VerifyResult(not problems, problems, manifest)


def tampering(history: dict[str, list[VersionInfo]]) -> list[str]:
    """Pure: one line per key of a snapshot folder that was written more than once or deleted."""
    problems = []
    for key, entries in sorted(history.items()):
        markers = [e.version_id for e in entries if e.delete_marker]
        versions = [e.version_id for e in entries if not e.delete_marker]
        if markers:
            problems.append(f"tampering: {key} has a delete marker ({', '.join(markers)})")
        if len(versions) > 1:
            problems.append(f"tampering: {key} was written {len(versions)} times (versions {', '.join(versions)}); "
                            "deedbox writes it once")
    return problems


def _first_version(entries: list[VersionInfo]) -> str | None:
    return next((e.version_id for e in entries if not e.delete_marker), None)


def structure_problems(store: BucketClient, manifest: Manifest) -> list[str]:
    obj = manifest.object
    key, version = obj.key, obj.version_id
    try:
        head = store.head(key, version)
    except ObjectMissing:
        return [f"missing: {key} (version {version}) is not in the bucket"]
    problems = []
    if head.size != obj.size:
        problems.append(f"{key}: size {head.size} != manifest {obj.size}")
    if head.checksum != obj.s3_checksum_sha256:
        problems.append(f"{key}: stored checksum {head.checksum or 'none'} != manifest's")
    if version and head.version_id != version:
        problems.append(f"{key}: version {head.version_id} != manifest {version}")
    return problems


def data_problems(store: BucketClient, manifest: Manifest) -> list[str]:
    """Download (streaming, to a temporary file), re-hash, re-read, compare."""
    obj = manifest.object
    with tempfile.TemporaryDirectory(prefix="deedbox-verify-") as tmp:
        path = Path(tmp) / "snapshot.zip"
        digest = _download_hashing(store, obj.key, obj.version_id, path)
        problems = []
        if digest != obj.sha256:
            problems.append(f"{obj.key}: sha256 of the stored bytes differs from the manifest")
        try:
            read = summarize if manifest.byte_digests else content_summary
            summary = read(path).to_dict()
        except SnapshotError as err:
            return [*problems, f"{obj.key}: unreadable snapshot: {err}"]
    return problems + compare_summaries(manifest.snapshot, summary)


def download_verified(store: BucketClient, manifest: Manifest, path: Path) -> Path:
    """The manifest's version of the snapshot at ``path``, hashed on the way; CheckFailed unless
    its SHA-256 is the manifest's (so what is read from ``path`` is what was exported)."""
    obj = manifest.object
    if _download_hashing(store, obj.key, obj.version_id, path) != obj.sha256:
        raise CheckFailed(f"{obj.key}: sha256 of the stored bytes differs from the manifest")
    return path


def _download_hashing(store: BucketClient, key: str, version: str | None, path: Path) -> str:
    state = {"sha": hashlib.sha256()}
    with path.open("wb") as out:
        def sink(chunk: bytes) -> None:
            state["sha"].update(chunk)
            out.write(chunk)

        def restart() -> None:  # a cut body: start again, from nothing
            out.seek(0)
            out.truncate()
            state["sha"] = hashlib.sha256()

        store.read_into(key, version, sink, restart)
    return state["sha"].hexdigest()


class Sides(NamedTuple):
    """How the two summaries ``compare_summaries`` holds against each other are named."""

    expected: str
    actual: str
    expected_short: str
    actual_short: str


MANIFEST_SIDES = Sides("the manifest", "the stored snapshot", "manifest", "stored")
ROUND_TRIP_SIDES = Sides("the snapshot", "the restored deployment", "snapshot", "restored")


def compare_summaries(expected: dict[str, Any], actual: dict[str, Any], *,
                      sides: Sides = MANIFEST_SIDES) -> list[str]:
    """Pure: one line per difference; tables are matched by (component, name)."""
    problems: list[str] = []
    _compare(expected, actual, "snapshot", problems, sides)
    return problems


def _table_key(item: dict) -> str:
    component = item.get("component") or ""
    return f"{component}/{item['name']}" if component else str(item["name"])


def _compare(exp: Any, act: Any, where: str, out: list[str], sides: Sides) -> None:
    if isinstance(exp, dict) and isinstance(act, dict):
        for key in sorted(set(exp) | set(act), key=str):
            if key not in act:
                out.append(f"{where}.{key}: missing from {sides.actual}")
            elif key not in exp:
                out.append(f"{where}.{key}: not in {sides.expected}")
            else:
                _compare(exp[key], act[key], f"{where}.{key}", out, sides)
    elif _named_list(exp) and _named_list(act):
        _compare({_table_key(i): i for i in exp}, {_table_key(i): i for i in act}, where, out, sides)
    elif exp != act:
        out.append(f"{where}: {sides.expected_short} {_short(exp)} != {sides.actual_short} {_short(act)}")


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class ContentComparison:
    """The drill's round trip: both snapshots' content summaries and what differs between them."""

    problems: list[str]
    stored: dict[str, Any]  # content_summary(...).to_dict() of the stored snapshot
    restored: dict[str, Any]  # ... of the restored deployment's re-export


def compare_content(stored: Path, restored: Path) -> ContentComparison:
    """Whether ``restored`` (a re-export of the deployment ``stored`` was imported into) holds the
    same data as ``stored``, table by table: same documents, however encoded and ordered.

    Bytes cannot tell: a newer backend may write the same values with other key orders, float
    spellings or value encodings (docs/export.md). So both are read with ``content_summary``, at
    the same time: the stored snapshot in a second process (the reading is pure Python, so a thread
    would wait on the GIL), the re-export in this one. ``stored`` must be the verified bytes
    (``download_verified``). A snapshot whose documents the reader refuses is a SnapshotError.
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        theirs = pool.submit(content_summary, stored)
        ours = content_summary(restored).to_dict()
        expected = theirs.result().to_dict()
    problems = compare_summaries({"tables": expected["tables"]}, {"tables": ours["tables"]},
                                 sides=ROUND_TRIP_SIDES)
    return ContentComparison(problems, expected, ours)
