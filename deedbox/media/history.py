"""What the backup held at a moment, key by key, streamed: the input of ``restore media``.

``list_history`` streams ``ListObjectVersions`` page by page (versions and delete markers), in
S3's order: by key (UTF-8 binary order, which is Python's ``str`` order), newest first within a
key. ``at(entries, as_of)`` keeps, per key, the newest entry written at or before ``as_of``; a key
whose entry there is a delete marker, or that has no entry that old, did not exist then and is
skipped. ``pair`` walks that stream beside a listing of the live store (same order) and yields
``(backup version, live object or None)``, so planning a restore of a million objects holds one
page of each listing in memory, never the whole set.

Both listings are *checked* to be in order: a merge join over an out-of-order listing would call a
live object missing and overwrite it, so disorder is an error (``StorageError``), never a guess.

``classify`` decides what a restore does with one pair:

- ``missing``: nothing live at that key: restore;
- ``same``: the live object is the backup's version (same ETag and size, as replicas and plain
  copies keep; or the ``media sync`` index / an earlier restore's log says so): nothing to do;
- ``older``: the live object differs and was written before the backup version: restore;
- ``newer``: the live object differs and was written after it: kept, unless ``--overwrite-newer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from queue import Full, Queue
from threading import Event, Thread
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deedbox.bucket.client import ObjectInfo
from deedbox.errors import StorageError

MISSING, SAME, OLDER, NEWER = "missing", "same", "older", "newer"


@dataclass(frozen=True)
class Version:
    """One entry of ``ListObjectVersions``: a version (with size and ETag) or a delete marker."""

    key: str
    version_id: str
    last_modified: datetime
    size: int
    etag: str
    delete_marker: bool = False
    is_latest: bool = False


def list_history(client: Any, bucket: str, prefix: str) -> Iterator[Version]:
    """Every version and delete marker under ``prefix``, by key, newest first within a key."""
    pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    try:
        for page in pages:
            yield from _page_entries(page)
    except (ClientError, BotoCoreError) as err:
        raise StorageError(f"s3://{bucket}/{prefix}: listing versions failed ({_describe(err)})") from None


def _page_entries(page: Mapping[str, Any]) -> list[Version]:
    """One page, its two lists merged in S3's order (a page holds both kinds for its key range)."""
    entries = [Version(v["Key"], v["VersionId"], v["LastModified"], v.get("Size", 0),
                       v.get("ETag", "").strip('"'), False, bool(v.get("IsLatest")))
               for v in page.get("Versions", ())]
    entries += [Version(m["Key"], m["VersionId"], m["LastModified"], 0, "", True, bool(m.get("IsLatest")))
                for m in page.get("DeleteMarkers", ())]
    # newest first within a key; for two entries of the same second the one S3 marks latest wins
    return sorted(entries, key=lambda e: (e.key, -e.last_modified.timestamp(), not e.is_latest))


def list_live(client: Any, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
    """The live store's current objects under ``prefix``, in key order (``ListObjectsV2``)."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    try:
        for page in pages:
            for o in page.get("Contents", ()):
                yield ObjectInfo(o["Key"], o["Size"], o["LastModified"], o.get("ETag", "").strip('"'))
    except (ClientError, BotoCoreError) as err:
        raise StorageError(f"s3://{bucket}/{prefix}: listing failed ({_describe(err)})") from None


def ahead(items: Iterable[Any], *, depth: int = 2000) -> Iterator[Any]:
    """``items``, produced by a thread up to ``depth`` ahead: two listings then run side by side
    (a merge join waits on both), memory stays bounded, an error in the thread is raised here."""
    done = object()
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put(item, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put((done, None))
        except BaseException as err:  # noqa: BLE001  (handed to the consumer, raised there)
            queue.put((done, err))

    thread = Thread(target=produce, name="deedbox-listing", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if isinstance(item, tuple) and len(item) == 2 and item[0] is done:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()


def ordered(items: Iterable[Any], what: str, *, strict: bool = False) -> Iterator[Any]:
    """``items`` unchanged, checked to come in key order (``strict``: no key twice)."""
    last: str | None = None
    for item in items:
        if last is not None and (item.key < last or (strict and item.key == last)):
            raise StorageError(f"{what} listing is out of key order at {item.key!r} (after {last!r}): "
                               "refusing to compare it with the other store")
        last = item.key
        yield item


def at(entries: Iterable[Version], as_of: datetime | None) -> Iterator[Version]:
    """Per key, the version current at ``as_of`` (None: now); keys that did not exist then are left out."""
    for _, group in groupby(ordered(entries, "backup"), key=lambda e: e.key):
        for entry in group:  # newest first
            if as_of is None or entry.last_modified <= as_of:
                if not entry.delete_marker:
                    yield entry
                break


def pair(backup: Iterable[Version], live: Iterable[ObjectInfo],
         live_key: Callable[[str], str]) -> Iterator[tuple[Version, str, ObjectInfo | None]]:
    """``(backup version, live key, live object or None)`` for every backup version, by merge join."""
    live_iter = iter(ordered(live, "live store", strict=True))
    current = next(live_iter, None)
    last: str | None = None
    for version in backup:
        key = live_key(version.key)
        if last is not None and key <= last:
            raise StorageError(f"backup keys map out of order onto the live store at {key!r}")
        last = key
        while current is not None and current.key < key:
            current = next(live_iter, None)
        yield version, key, current if current is not None and current.key == key else None


def classify(version: Version, live: ObjectInfo | None, *, same: Callable[[Version, ObjectInfo], bool]) -> str:
    """``missing`` / ``same`` / ``older`` / ``newer`` (see the module docstring)."""
    if live is None:
        return MISSING
    if (live.etag == version.etag and live.size == version.size) or same(version, live):
        return SAME
    return OLDER if live.last_modified < version.last_modified else NEWER


def _describe(err: Exception) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", "error"))
    return type(err).__name__
