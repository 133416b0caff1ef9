"""The media drill (``deedbox media verify``): restore a sample of each class and compare it.

The backup bucket is write-once and locked, so the sample is restored into a scratch location the
runner may write: a local temporary directory, removed afterwards. Per class, up to ``sample``
current backup objects are drawn uniformly from a streamed listing (reservoir sampling: memory
flat in the class's size), and each one is

1. **restored**: its current version is downloaded, hashed (SHA-256 and MD5) while it is written;
   the size must be the listing's and the SHA-256 the one S3 stored (when it holds a whole-object
   checksum), else the object is ``corrupt``;
2. **compared** with the live object (``HeadObject``): ``verified`` when the size matches and
   the live ETag is a plain MD5 equal to ours, or the live whole-object SHA-256 equals ours, or (an
   ETag that is not an MD5: multipart, SSE-KMS) the live bytes, downloaded too, hash the same;
   and, in sync mode, ``media sync``'s record must agree: where its index names the source ETag
   this backup version was copied from and that ETag is a plain MD5, the restored bytes must have it.

Not failures: ``live-newer`` (the live object was written after the backup copy; the next sync or
replication takes it) and ``live-missing`` (deleted live since, with no recorded ETag to compare).
``mismatch`` (the live object is older than the backup copy, or the record disagrees) and
``corrupt`` fail the drill: exit 1. Each run writes ``records/media-verify/<ts>.json``.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deedbox.bucket.client import BucketClient, ObjectInfo
from deedbox.bucket.records import newest_record, write_record
from deedbox.config.model import Config, MediaClass
from deedbox.errors import StorageError, UsageError
from deedbox.media.plan import dest_key
from deedbox.media.sync import Source

VERIFIED, MISMATCH, CORRUPT, LIVE_NEWER, LIVE_MISSING = "verified", "mismatch", "corrupt", "live-newer", "live-missing"
FAILING = (MISMATCH, CORRUPT)
_MD5 = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Restored:
    """One sampled backup object, restored locally: what its bytes hash to."""

    key: str
    live_key: str
    size: int
    sha256: str  # base64, as S3 reports checksums
    md5: str  # hex
    etag: str
    modified: datetime


@dataclass
class ClassResult:
    media_class: str
    objects: int = 0  # backup objects seen in the listing
    results: dict[str, list[str]] = field(default_factory=dict)  # verdict -> live keys

    def to_dict(self) -> dict[str, Any]:
        counts = {k: len(v) for k, v in self.results.items()}
        return {"class": self.media_class, "objects": self.objects, "sampled": sum(counts.values()),
                "counts": counts, "failing": {k: v for k, v in self.results.items() if k in FAILING}}

    @property
    def ok(self) -> bool:
        return not any(self.results.get(k) for k in FAILING)


def verify_media(config: Config, store: BucketClient, *, media_class: str | None = None, sample: int = 20,
                 source: Source | None = None, seed: int | None = None, now: datetime | None = None) -> dict:
    """Run the drill over one class or all; returns the record (with ``ok``) it wrote."""
    if config.backups.media is None or not config.media_classes():
        raise UsageError("config backs up no media (backups.media / source.media.classes)")
    classes = [c for c in config.media_classes() if media_class in (None, c.name)]
    if not classes:
        raise UsageError(f"no media class {media_class!r} is backed up")
    mode = config.backups.media.mode
    source = source or Source(config)
    last = newest_record(store, "media-sync", where=lambda d: d.get("mode") == "sync") if mode == "sync" else None
    index = last[1].get("index", {}) if last else {}
    rng = random.Random(seed)
    results = [_one_class(store, source, c, mode, sample, rng, index) for c in classes]
    record = {"mode": mode, "ok": all(r.ok for r in results), "sample": sample,
              "source_bucket": source.bucket, "classes": [r.to_dict() for r in results]}
    record["record_key"] = write_record(store, "media-verify", record, now)
    return record


def _one_class(store: BucketClient, source: Source, cls: MediaClass, mode: str, sample: int,
               rng: random.Random, index: dict[str, list[str]]) -> ClassResult:
    prefix = dest_key(mode, cls.name, cls.prefix)
    result = ClassResult(cls.name)
    chosen = _reservoir(store.list(prefix), sample, rng, result)
    with tempfile.TemporaryDirectory(prefix="deedbox-media-verify-") as tmp:
        for i, obj in enumerate(sorted(chosen, key=lambda o: o.key)):
            live_key = cls.prefix + obj.key[len(prefix):]
            restored = _restore(store, obj, live_key, Path(tmp) / f"{i}.bin")
            verdict = _verdict(store, source, restored, index.get(obj.key))
            result.results.setdefault(verdict, []).append(live_key)
    return result


def _reservoir(objects: Iterable[ObjectInfo], n: int, rng: random.Random, result: ClassResult) -> list[ObjectInfo]:
    """A uniform sample of at most ``n`` from a stream (Algorithm R)."""
    chosen: list[ObjectInfo] = []
    for i, obj in enumerate(objects):
        result.objects += 1
        if i < n:
            chosen.append(obj)
        elif (j := rng.randrange(i + 1)) < n:
            chosen[j] = obj
    return chosen


def _restore(store: BucketClient, obj: ObjectInfo, live_key: str, path: Path) -> Restored | None:
    """Download the current version into ``path``; None when it is not what S3 says it is."""
    head = store.head(obj.key)
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("wb") as fh:
        def sink(chunk: bytes) -> None:
            fh.write(chunk)
            sha.update(chunk)
            md5.update(chunk)

        def restart() -> None:
            nonlocal sha, md5
            fh.seek(0)
            fh.truncate()
            sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)

        store.read_into(obj.key, head.version_id, sink, restart)
        size = fh.tell()
    ours = base64.b64encode(sha.digest()).decode()
    if size != head.size or (head.checksum and "-" not in head.checksum and head.checksum != ours):
        return None
    return Restored(obj.key, live_key, size, ours, md5.hexdigest(), head.etag, obj.last_modified)


def _verdict(store: BucketClient, source: Source, restored: Restored | None, recorded: list[str] | None) -> str:
    if restored is None:
        return CORRUPT
    if recorded and recorded[1] == restored.etag and _MD5.match(recorded[0]) and recorded[0] != restored.md5:
        return MISMATCH  # the backup does not hold the bytes media sync copied into it
    try:
        live = source.client.head_object(Bucket=source.bucket, Key=restored.live_key, ChecksumMode="ENABLED")
    except ClientError as err:
        if str(err.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
            return VERIFIED if recorded and recorded[1] == restored.etag and _MD5.match(recorded[0]) else LIVE_MISSING
        raise StorageError(f"s3://{source.bucket}/{restored.live_key}: {err}") from None
    if _same_bytes(source, restored, live):
        return VERIFIED
    return LIVE_NEWER if live["LastModified"] > restored.modified else MISMATCH


def _same_bytes(source: Source, restored: Restored, live: dict) -> bool:
    if live["ContentLength"] != restored.size:
        return False
    etag = str(live.get("ETag", "")).strip('"')
    if _MD5.match(etag):
        return etag == restored.md5
    checksum = live.get("ChecksumSHA256")
    if checksum and "-" not in checksum:
        return bool(checksum == restored.sha256)
    sha = hashlib.sha256()  # neither tells: read the live bytes too
    try:
        body = source.client.get_object(Bucket=source.bucket, Key=restored.live_key)["Body"]
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            sha.update(chunk)
    except (ClientError, BotoCoreError) as err:
        raise StorageError(f"s3://{source.bucket}/{restored.live_key}: {err}") from None
    return base64.b64encode(sha.digest()).decode() == restored.sha256
