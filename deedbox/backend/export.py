"""Take a backend export and store it off-platform: data first, verify, manifest last.

The order is the whole point (restic's): (1) get the ZIP (a given file, or a live Convex export
spooled to a temporary file so memory stays bounded), (2) read it once with the snapshot reader
to build the summary (tables, counts, digests) while (3) streaming it into
``backend/<deployment>/<ts>-<reason>/snapshot.zip``, hashing as it goes, (4) ask S3 what it
stored (size, checksum, version) and compare, (5) only then write ``manifest.json``.

(2) and (3) run at the same time (the summary in a worker thread; ISA-L and hashlib release the
GIL), but the upload cannot *complete* before the summary has succeeded: the body's last read
waits for it (``put_new(gate=...)``), and a failed summary fails the upload, so a corrupt ZIP
leaves nothing stored (a multipart upload is aborted; a single PUT is never sent). A run killed
anywhere before (5) leaves at most a folder without a manifest, which every reader treats as
incomplete; the next run picks a new timestamp and completes.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import deedbox
from deedbox.bucket.client import BucketClient, PutResult, checksums_match
from deedbox.bucket.manifest import Manifest, Origin, StoredObject
from deedbox.bucket.snapshots import MANIFEST_FILE, SNAPSHOT_FILE, folder_prefix, format_ts
from deedbox.config.model import Config
from deedbox.convex.api import ConvexApi
from deedbox.convex.client import ConvexClient
from deedbox.convex.snapshot import summarize
from deedbox.errors import CheckFailed, ConvexError, UsageError

REASONS = ("scheduled", "pre-change", "manual", "safety")
LIVE_EXPORT_DEADLINE_S = 3600.0
LIVE_EXPORT_POLL_S = 2.0
Progress = Callable[[str, int, "int | None"], None]  # (phase, bytes advanced, phase total)


@dataclass(frozen=True)
class LiveExport:
    """The Convex export a snapshot was downloaded from."""

    start_ts: int
    size: int | None


def export_snapshot(config: Config, store: BucketClient, *, from_zip: Path | None = None,
                    client: ConvexApi | None = None, reason: str, progress: Progress | None = None,
                    now: datetime | None = None, restore_point: dict[str, Any] | None = None) -> Manifest:
    """Store one snapshot and return the manifest written for it (the last object written)."""
    if reason not in REASONS:
        raise UsageError(f"--reason must be one of {', '.join(REASONS)}, not {reason!r}")
    deployment = config.source.convex.deployment
    with _snapshot_file(config, from_zip, client, progress) as (path, live):
        prefix = _free_prefix(store, deployment, reason, now or datetime.now(UTC))
        size = path.stat().st_size
        tick = (lambda n: progress("upload", n, size)) if progress else None
        with _Summary(path) as summarizing:
            put = store.put_new(prefix + SNAPSHOT_FILE, path, content_type="application/zip",
                                progress=tick, gate=summarizing.gate)
            summary = summarizing.result()
        stored = check_stored(store, put)
        manifest = build_manifest(deployment=deployment, prefix=prefix, reason=reason, put=put,
                                  stored_checksum=stored, summary=summary, live=live,
                                  convex_url=config.source.convex.url)
        if restore_point is not None:
            manifest = replace(manifest, restore_point=restore_point)
        store.put_new(prefix + MANIFEST_FILE, manifest.to_bytes(),
                      content_type="application/json")
    return manifest


def _summarize(path: Path, stop: threading.Event | None = None) -> dict[str, Any]:
    def check(_: int) -> None:
        if stop is not None and stop.is_set():
            raise _Stopped()

    return summarize(path, progress=check if stop is not None else None).to_dict()


class _Stopped(Exception):
    """The upload failed first: the summary is no longer needed."""


class _Summary:
    """``_summarize(path)`` in a worker thread, beside the upload of the same file.

    ``gate`` is the upload's gate: it raises the summary's error as soon as there is one, and
    at the end of the body it waits for the summary, so nothing completes before it succeeded.
    Leaving the block early (the upload failed) stops the summary at its next chunk.
    """

    def __init__(self, path: Path) -> None:
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="deedbox-summary")
        self._future = self._pool.submit(_summarize, path, self._stop)

    def __enter__(self) -> _Summary:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)

    def gate(self, at_end: bool) -> None:
        if at_end or self._future.done():
            self._future.result()

    def result(self) -> dict[str, Any]:
        return self._future.result()


@contextmanager
def _snapshot_file(config: Config, from_zip: Path | None, client: ConvexApi | None,
                   progress: Progress | None) -> Iterator[tuple[Path, LiveExport | None]]:
    """The ZIP to store: ``from_zip`` as is, or a live export spooled to a temporary file."""
    if from_zip is not None:
        if not Path(from_zip).is_file():
            raise UsageError(f"--from-zip {from_zip}: no such file")
        yield Path(from_zip), None
        return
    if client is None:
        client = ConvexClient.from_env(config.source.convex.url, key_env=config.source.convex.deploy_key.env)
    status = client.export(include_storage=config.backups.backend.include_file_storage,
                           deadline_s=LIVE_EXPORT_DEADLINE_S, poll_s=LIVE_EXPORT_POLL_S)
    if status.start_ts is None:
        raise ConvexError("Convex reported a completed export without its start_ts")
    with tempfile.TemporaryDirectory(prefix="deedbox-export-") as tmp:
        path = Path(tmp) / SNAPSHOT_FILE
        with client.download_export(status.start_ts) as stream, path.open("wb") as out:
            _copy(stream, out, progress, status.size)
        yield path, LiveExport(status.start_ts, status.size)


def _copy(stream: BinaryIO, out: BinaryIO, progress: Progress | None, total: int | None) -> None:
    if progress is None:
        shutil.copyfileobj(stream, out, 1024 * 1024)
        return
    while chunk := stream.read(1024 * 1024):
        out.write(chunk)
        progress("download", len(chunk), total)


def _free_prefix(store: BucketClient, deployment: str, reason: str, now: datetime) -> str:
    """The folder for this run; a later second if one with that name exists (never reuse)."""
    for step in range(600):
        prefix = folder_prefix(deployment, now + timedelta(seconds=step), reason)
        if next(iter(store.list(prefix)), None) is None:
            return prefix
    raise CheckFailed(f"no free snapshot folder for {deployment} near {format_ts(now)}")


def check_stored(store: BucketClient, put: PutResult) -> str:
    """Compare S3's account of the object with what was sent; returns S3's checksum string."""
    head = store.head(put.key, put.version_id)
    if head.size != put.size:
        raise CheckFailed(f"{put.key}: stored size {head.size} != uploaded {put.size}")
    if head.checksum is None:
        raise CheckFailed(f"{put.key}: the store reports no SHA-256 checksum; cannot verify the upload")
    if not checksums_match(head.checksum, put.checksum):
        raise CheckFailed(f"{put.key}: stored checksum differs from the bytes sent")
    return head.checksum


def build_manifest(*, deployment: str, prefix: str, reason: str, put: PutResult,
                   stored_checksum: str, summary: dict[str, Any], live: LiveExport | None,
                   convex_url: str) -> Manifest:
    """Pure: the manifest of one stored snapshot (see docs/export.md for every field)."""
    timestamp = prefix.rstrip("/").rsplit("/", 1)[-1].split("-", 1)[0]
    return Manifest(
        deployment=deployment, timestamp=timestamp, reason=reason, tool_version=deedbox.__version__,
        written_at=datetime.now(UTC).isoformat(timespec="seconds"),
        source=Origin("live" if live else "zip", convex_url, live.start_ts if live else None),
        object=StoredObject(key=put.key, size=put.size, sha256=put.sha256, version_id=put.version_id,
                            s3_checksum_sha256=stored_checksum, multipart="-" in stored_checksum),
        snapshot=summary,
    )
