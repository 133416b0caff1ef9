"""Copy one backup *version* back into the live media store (or another bucket): ``restore media``.

The same two paths as ``media sync``'s ``Copier``, in the other direction, decided the same way
(``Source.server_side``: the media store is AWS S3, reached by the same credential chain as the
backup bucket):

- **server-side**: one ``CopyObject`` on the live bucket with ``CopySource={Bucket, Key,
  VersionId}``: the bytes never pass through the runner, S3 keeps the content type and user
  metadata (``MetadataDirective=COPY``) and computes a SHA-256 (``ChecksumAlgorithm``). Above 5 GiB
  (CopyObject's limit) the managed multipart copy, which does not carry metadata over by itself:
  a ``HeadObject`` of the version first, its metadata and content type passed explicitly.
- **streamed** (an ``endpoint_url`` store: R2, MinIO…): ``GetObject`` of the version → boto3's
  transfer manager into the store, hashed on the way (``HashingReader``); then the bytes read are
  checked against the backup version's stored SHA-256 (when S3 has a whole-object one) and what
  the store reports (``HeadObject(ChecksumMode=ENABLED)``) against what was sent, size included.
  The write is conditional: ``If-None-Match: *`` where nothing was live when planned, ``If-Match``
  of the planned live ETag otherwise, so an object written meanwhile is never overwritten.
  (CopyObject cannot be conditional on its *target*; see ``docs/restore.md`` for that window.)

``source-etag``, the metadata ``media sync`` adds to streamed copies, is deedbox's own note and
is not put back on the live object; everything else in the user metadata is.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deedbox.bucket.client import TRANSFER, BucketClient, HashingReader, checksums_match, transfer_for
from deedbox.errors import StorageError
from deedbox.media.history import Version
from deedbox.media.plan import META_SOURCE_ETAG
from deedbox.media.sync import COPY_LIMIT, WORKERS, Source, _describe, _empty_body_md5


@dataclass(frozen=True)
class Item:
    """One object to put back: the backup version, where it goes, and what was live there."""

    version: Version  # key in the backup bucket, its version id, size
    live_key: str
    live_etag: str | None  # None: nothing was live at live_key when planned
    reason: str  # missing | older | newer (with --overwrite-newer)


class CopyBack:
    """Restores items into ``bucket`` (the media store's, or ``--to``); thread-safe like boto3's clients."""

    def __init__(self, store: BucketClient, source: Source, bucket: str) -> None:
        self.store, self.source, self.bucket = store, source, bucket
        self.client = source.client
        self._conditions: dict[str, dict[str, str]] = {}
        events = self.client.meta.events
        events.register("before-sign.s3.CopyObject", _empty_body_md5, unique_id="deedbox-copy-md5")
        for op in ("PutObject", "CompleteMultipartUpload"):
            events.register(f"before-parameter-build.s3.{op}", self._conditional,
                            unique_id=f"deedbox-restore-condition-{op}")

    def copy(self, item: Item) -> str:
        """Put ``item`` back; returns the live object's new ETag."""
        if not self.source.server_side:
            return self._streamed(item)
        if item.version.size > COPY_LIMIT:
            return self._large(item)
        resp = self.client.copy_object(
            Bucket=self.bucket, Key=item.live_key, CopySource=self._copy_source(item.version),
            MetadataDirective="COPY", ChecksumAlgorithm="SHA256")
        return str(resp["CopyObjectResult"]["ETag"]).strip('"')

    def _copy_source(self, version: Version) -> dict[str, str]:
        return {"Bucket": self.store.bucket, "Key": version.key, "VersionId": version.version_id}

    def _large(self, item: Item) -> str:
        head = self.store.s3.head_object(Bucket=self.store.bucket, Key=item.version.key,
                                         VersionId=item.version.version_id)
        self.client.copy(self._copy_source(item.version), self.bucket, item.live_key, Config=TRANSFER,
                         SourceClient=self.store.s3, ExtraArgs={
                             "Metadata": _user_metadata(head), "MetadataDirective": "REPLACE",
                             "ContentType": head.get("ContentType", "binary/octet-stream"),
                             "ChecksumAlgorithm": "SHA256"})
        return str(self.client.head_object(Bucket=self.bucket, Key=item.live_key)["ETag"]).strip('"')

    def _streamed(self, item: Item) -> str:
        version = item.version
        resp = self.store.s3.get_object(Bucket=self.store.bucket, Key=version.key, VersionId=version.version_id,
                                        ChecksumMode="ENABLED")
        config = transfer_for(version.size)
        reader = HashingReader(resp["Body"], config=config)
        self._conditions[item.live_key] = ({"IfMatch": f'"{item.live_etag}"'} if item.live_etag
                                           else {"IfNoneMatch": "*"})
        try:
            self.client.upload_fileobj(reader, self.bucket, item.live_key, Config=config, ExtraArgs={
                "Metadata": _user_metadata(resp), "ChecksumAlgorithm": "SHA256",
                "ContentType": resp.get("ContentType", "binary/octet-stream")})
        finally:
            self._conditions.pop(item.live_key, None)
        return self._verify(item, reader, resp.get("ChecksumSHA256"))

    def _verify(self, item: Item, reader: HashingReader, stored: str | None) -> str:
        """Bytes read = the backup version (size, its SHA-256); what landed = what was sent."""
        ours = base64.b64encode(reader.sha256.digest()).decode()
        if reader.size != item.version.size or (stored and "-" not in stored and stored != ours):
            raise StorageError(f"{item.version.key}: the bytes read differ from the backup version "
                               f"{item.version.version_id} (size {reader.size} of {item.version.size})")
        head = self.client.head_object(Bucket=self.bucket, Key=item.live_key, ChecksumMode="ENABLED")
        if head["ContentLength"] != reader.size or (
                head.get("ChecksumSHA256") and not checksums_match(head["ChecksumSHA256"], reader.expected_checksum())):
            raise StorageError(f"{item.live_key}: the store reports other bytes than were sent")
        return str(head["ETag"]).strip('"')

    def _conditional(self, params: dict, **_: Any) -> None:
        """The planned condition of the final write (PUT or CompleteMultipartUpload) of a key."""
        params.update(self._conditions.get(params.get("Key", ""), {}))


def _user_metadata(resp: dict) -> dict[str, str]:
    return {k: v for k, v in resp.get("Metadata", {}).items() if k != META_SOURCE_ETAG}


@dataclass
class CopyRun:
    """Runs ``copier.copy`` over items as they come: ``WORKERS`` in flight, at most twice that queued,
    so a run fed by a streamed plan holds a bounded number of items; keeps every copy's outcome."""

    copier: CopyBack
    progress: Callable[[str, int, int | None], None] | None = None
    phase: str = "restore"
    total: int | None = None  # bytes, when known (for the progress bar)
    index: dict[str, list[str]] = field(default_factory=dict)  # live key -> [new ETag, backup version id]
    errors: list[str] = field(default_factory=list)  # the first 50
    error_count: int = 0

    def __enter__(self) -> CopyRun:
        self._pool = ThreadPoolExecutor(max_workers=WORKERS)
        self._pending: set[Future] = set()
        return self

    def submit(self, item: Item) -> None:
        self._pending.add(self._pool.submit(self._one, item))
        if len(self._pending) >= 2 * WORKERS:
            done, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
            self._collect(done)

    def __exit__(self, *exc: object) -> None:
        try:
            self._collect(wait(self._pending).done)
        finally:
            self._pool.shutdown(cancel_futures=True)

    def _one(self, item: Item) -> tuple[Item, str | None, str | None]:
        try:
            return item, self.copier.copy(item), None
        except (ClientError, BotoCoreError, StorageError) as err:
            return item, None, f"{item.live_key}: {err if isinstance(err, StorageError) else _describe(err)}"

    def _collect(self, done: set[Future]) -> None:
        for future in done:
            item, etag, error = future.result()
            if etag is not None:
                self.index[item.live_key] = [etag, item.version.version_id]
            else:
                self.error_count += 1
                if len(self.errors) < 50:
                    self.errors.append(str(error))
            if self.progress:
                self.progress(self.phase, item.version.size, self.total)
