"""The backup bucket: write-once objects, checksummed while streaming, read back to verify.

Every write goes through ``BucketClient.put_new``, which refuses to overwrite in two ways: a
``HeadObject`` first (a clear message in the common case) and ``If-None-Match: *`` on the final
request (``PutObject`` or ``CompleteMultipartUpload``), so a race between two writers cannot
replace an object either. Bodies stream through ``HashingReader``, which computes the SHA-256
and size of what is sent in the same single pass that feeds boto3's transfer manager, plus the
per-part digests S3 uses for its *composite* multipart checksum (``base64(sha256(part digests))
-N``). ``verify_stored`` compares what S3 reports (``HeadObject`` with ``ChecksumMode=ENABLED``)
with what was sent: the full-object SHA-256 for a single PUT, the composite for multipart.

Clients come from ``boto3.client("s3")`` with no explicit endpoint, so ``AWS_ENDPOINT_URL``
(moto, LocalStack, MinIO) and the standard credential chain apply unchanged.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import RetriesExceededError as S3TransferRetriesExceededError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, IncompleteReadError, ResponseStreamingError
from urllib3.exceptions import ProtocolError

from deedbox.bucket.locate import resolve_bucket
from deedbox.config.model import Config
from deedbox.errors import ObjectMissing, StorageError

MiB = 1024 * 1024
PART_SIZE = 8 * MiB
MAX_PARTS = 10_000  # S3's limit; bigger bodies get bigger parts
CONCURRENCY = 6  # parts in flight (the aws-cli uses 10 x 8 MiB; 6 keeps peak RSS well under 200 MiB while the summary runs beside the upload)
# A non-seekable body is read into memory chunk by chunk: at most ``max_in_memory_upload_chunks``
# parts are buffered, which bounds memory at about 10 x the part size whatever the object size.
def transfer_config(part: int = PART_SIZE, threshold: int = PART_SIZE) -> TransferConfig:
    cfg = TransferConfig(multipart_threshold=threshold, multipart_chunksize=part,
                         max_concurrency=CONCURRENCY, max_io_queue=CONCURRENCY,
                         preferred_transfer_client="classic")
    cfg.max_in_memory_upload_chunks = CONCURRENCY  # s3transfer's knob; boto3's constructor lacks it
    cfg.max_in_memory_download_chunks = CONCURRENCY
    return cfg


TRANSFER = transfer_config()


def transfer_for(size: int | None) -> TransferConfig:
    """``TRANSFER``, with parts grown (whole MiB) when ``size`` would need more than 10,000."""
    if size is None or size <= TRANSFER.multipart_chunksize * (MAX_PARTS - 1):
        return TRANSFER
    return transfer_config(-(-size // (MAX_PARTS - 1) // MiB) * MiB + MiB)


def make_s3_client(region: str | None = None, **kw: Any):
    """An S3 client honouring AWS_ENDPOINT_URL and the standard credential chain."""
    cfg = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)
    return boto3.client("s3", region_name=region, config=cfg, **kw)


@dataclass(frozen=True)
class PutResult:
    key: str
    size: int
    sha256: str  # hex of the whole body
    version_id: str | None
    checksum: str  # what S3 should report: base64 sha256, or "<base64 composite>-<parts>"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime
    etag: str


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a key's history: a version, or a delete marker."""

    version_id: str
    last_modified: datetime
    delete_marker: bool


@dataclass(frozen=True)
class StoredObject:
    """What ``HeadObject`` says about an object (``checksum`` None when S3 gives none)."""

    key: str
    size: int
    version_id: str | None
    checksum: str | None
    etag: str
    metadata: dict[str, str]


class HashingReader(io.RawIOBase):
    """A non-seekable reader that hashes what passes through it (whole body and per part).

    Being non-seekable makes the transfer manager read it once, in order, in bounded chunks.
    """

    def __init__(self, raw: BinaryIO, *, config: TransferConfig | None = None,
                 progress: Callable[[int], None] | None = None,
                 gate: Callable[[bool], None] | None = None) -> None:
        self._raw, self._progress, self._gate = raw, progress, gate
        self.config = config or TRANSFER
        self._part_size = self.config.multipart_chunksize
        self.sha256, self.size = hashlib.sha256(), 0
        self._part, self._part_fill = hashlib.sha256(), 0
        self.part_digests: list[bytes] = []

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if self._gate is not None:
            # gate(False) may stop the upload early; gate(True) runs on a short read (the end of
            # a file; s3transfer sends a body shorter than the threshold without reading on to
            # b""), so the final request (PUT / CompleteMultipartUpload) waits for it
            self._gate(n is None or n < 0 or len(data) < n)
        self._consume(data)
        if n is not None and 0 <= len(data) < n and self._part_fill:
            self._close_part()  # a file's short read is its end: the last part is complete
        return data

    def part_checksum(self, number: int) -> str | None:
        """The base64 SHA-256 of part ``number`` (from 1) once it has been read whole, else None.
        Handed to ``UploadPart`` as ``ChecksumSHA256``, so botocore need not hash the part again
        (it computes no checksum when the request carries one: botocore/httpchecksum.py,
        ``resolve_request_checksum_algorithm``); S3 still checks it against the bytes it receives."""
        if 1 <= number <= len(self.part_digests):
            return base64.b64encode(self.part_digests[number - 1]).decode()
        return None

    def readinto(self, buf) -> int:  # pragma: no cover - read() is what s3transfer calls
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def _consume(self, data: bytes) -> None:
        self.sha256.update(data)
        self.size += len(data)
        view = memoryview(data)
        while view:
            take = min(len(view), self._part_size - self._part_fill)
            self._part.update(view[:take])
            self._part_fill += take
            view = view[take:]
            if self._part_fill == self._part_size:
                self._close_part()
        if self._progress and data:
            self._progress(len(data))

    def _close_part(self) -> None:
        self.part_digests.append(self._part.digest())
        self._part, self._part_fill = hashlib.sha256(), 0

    def expected_checksum(self) -> str:
        """The checksum S3 reports: full SHA-256 for one PUT, composite for multipart."""
        if self.size < self.config.multipart_threshold:
            return base64.b64encode(self.sha256.digest()).decode()
        digests = self.part_digests + ([self._part.digest()] if self._part_fill else [])
        combined = hashlib.sha256(b"".join(digests)).digest()
        return f"{base64.b64encode(combined).decode()}-{len(digests)}"


def checksums_match(reported: str | None, expected: str) -> bool:
    """Compare S3's checksum with ours. Real S3 reports a composite as ``<b64>-<parts>``;
    moto 5.2 drops the ``-<parts>`` suffix in HeadObject, so a missing suffix is tolerated
    (the digest itself, which covers every part's SHA-256 in order, must still be equal)."""
    if reported is None:
        return False
    if reported == expected:
        return True
    return "-" not in reported and expected.split("-", 1)[0] == reported


class BucketClient:
    """One backup bucket. Objects are written once (``put_new``) and only read afterwards."""

    def __init__(self, bucket: str, *, s3_client: Any = None, region: str | None = None) -> None:
        self.bucket = bucket
        self.s3 = s3_client if s3_client is not None else make_s3_client(region)
        self._guarded: set[str] = set()
        self._uploading: dict[str, HashingReader] = {}
        self.s3.meta.events.register("before-parameter-build.s3.PutObject", self._if_none_match)
        self.s3.meta.events.register("before-parameter-build.s3.UploadPart", self._part_checksum)
        self.s3.meta.events.register(
            "before-parameter-build.s3.CompleteMultipartUpload", self._if_none_match)

    @classmethod
    def resolve(cls, config: Config, bucket: str | None) -> BucketClient:
        """--bucket / $DEEDBOX_BUCKET, else the stack's ``deedbox`` output (see ``locate``)."""
        return cls(resolve_bucket(bucket), region=config.destination.region)

    # ----------------------------------------------------------------- writing

    def _if_none_match(self, params: dict, **_: Any) -> None:
        """Make the final write conditional: S3 answers 412 if the key appeared meanwhile."""
        if params.get("Key") in self._guarded:
            params["IfNoneMatch"] = "*"

    def _part_checksum(self, params: dict, **_: Any) -> None:
        """Each part's SHA-256, already computed while it was read (``HashingReader``)."""
        reader = self._uploading.get(params.get("Key", ""))
        checksum = reader.part_checksum(params.get("PartNumber", 0)) if reader is not None else None
        if checksum is not None:
            params["ChecksumSHA256"] = checksum

    def put_new(self, key: str, body: bytes | BinaryIO | Path, *,
                content_type: str = "application/octet-stream",
                metadata: dict[str, str] | None = None,
                progress: Callable[[int], None] | None = None,
                gate: Callable[[bool], None] | None = None) -> PutResult:
        """Store ``body`` at ``key`` unless something is there already; never overwrites.

        ``gate(at_end)`` (streamed bodies only) is called on every read of the body; whatever it
        raises fails the upload before it completes (a multipart upload is aborted, a single PUT
        never sent). ``at_end`` is True on the read that ends the body: a gate can wait there.
        """
        if self.exists(key):
            raise StorageError(f"refusing to overwrite s3://{self.bucket}/{key}: it already exists")
        if isinstance(body, (bytes, bytearray)):
            return self._put_small(key, bytes(body), content_type, metadata or {})
        if isinstance(body, Path):
            with body.open("rb") as fh:
                return self._put_stream(key, fh, content_type, metadata or {}, progress,
                                        transfer_for(body.stat().st_size), gate)
        return self._put_stream(key, body, content_type, metadata or {}, progress, TRANSFER, gate)

    def _put_small(self, key: str, data: bytes, content_type: str, metadata: dict) -> PutResult:
        digest = hashlib.sha256(data)
        checksum = base64.b64encode(digest.digest()).decode()
        self._guarded.add(key)
        try:
            resp = self._call(self.s3.put_object, key, Bucket=self.bucket, Key=key, Body=data,
                              ContentType=content_type, Metadata=metadata,
                              ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
        except StorageError as err:
            ours = self._if_ours(key, err, len(data), checksum)  # a retry after a lost answer
            return PutResult(key, len(data), digest.hexdigest(), ours, checksum)
        finally:
            self._guarded.discard(key)
        return PutResult(key, len(data), digest.hexdigest(), resp.get("VersionId"), checksum)

    def _if_ours(self, key: str, err: StorageError, size: int, checksum: str) -> str | None:
        """After a 412 on our own conditional write: botocore retried a request whose answer was
        lost, and the first attempt stored the object. If the one version there is exactly what we
        sent (size and SHA-256), the write succeeded: its version id. Otherwise re-raise ``err``."""
        if "appeared during the upload" not in str(err):
            raise err
        if len(self.versions(key)) > 1:
            raise err
        head = self.head(key)
        if head.size != size or not checksums_match(head.checksum, checksum):
            raise err
        return head.version_id

    def _put_stream(self, key: str, raw: BinaryIO, content_type: str, metadata: dict,
                    progress: Callable[[int], None] | None, config: TransferConfig,
                    gate: Callable[[bool], None] | None = None) -> PutResult:
        reader = HashingReader(raw, config=config, progress=progress, gate=gate)
        extra = {"ContentType": content_type, "Metadata": metadata, "ChecksumAlgorithm": "SHA256"}
        self._guarded.add(key)
        self._uploading[key] = reader
        try:
            self._call(self.s3.upload_fileobj, key, reader, self.bucket, key,
                       ExtraArgs=extra, Config=config)
        except StorageError as err:
            self.abort_uploads(key)
            self._if_ours(key, err, reader.size, reader.expected_checksum())
        except BaseException:  # a failure, Ctrl-C or SIGTERM: leave no upload of ours open
            self.abort_uploads(key)
            raise
        finally:
            self._guarded.discard(key)
            self._uploading.pop(key, None)
        head = self.head(key)
        return PutResult(key, reader.size, reader.sha256.hexdigest(), head.version_id,
                         reader.expected_checksum())

    # ----------------------------------------------------------------- reading

    def head(self, key: str, version_id: str | None = None) -> StoredObject:
        kw = {"VersionId": version_id} if version_id and version_id != "null" else {}
        resp = self._call(self.s3.head_object, key, Bucket=self.bucket, Key=key,
                          ChecksumMode="ENABLED", **kw)
        return StoredObject(key, resp["ContentLength"], resp.get("VersionId"),
                            resp.get("ChecksumSHA256"), resp.get("ETag", "").strip('"'),
                            resp.get("Metadata", {}))

    def protection_warnings(self) -> list[str]:
        """What makes this bucket a weak home for backups; best effort (no permission, no warning).

        The topology declares versioning and a default object-lock retention; an export into a
        bucket without them still works (a bucket named by hand, a first trial), but says so.
        """
        return weak_protection(self._read_setting(self.s3.get_bucket_versioning),
                               self._read_setting(self.s3.get_object_lock_configuration))

    def _read_setting(self, call: Callable[..., dict]) -> dict | None:
        try:
            return call(Bucket=self.bucket)
        except ClientError as err:
            return {} if _code(err) == "ObjectLockConfigurationNotFoundError" else None
        except BotoCoreError:
            return None

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as err:
            if _code(err) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise _storage_error(err, self.bucket, key) from None
        except BotoCoreError as err:
            raise StorageError(f"s3://{self.bucket}/{key}: {err}") from None

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        chunks: builtins.list[bytes] = []
        self.read_into(key, version_id, chunks.append, chunks.clear)
        return b"".join(chunks)

    def read_into(self, key: str, version_id: str | None, sink: Callable[[bytes], object],
                  restart: Callable[[], object], *, attempts: int = 3) -> None:
        """Stream the object into ``sink``; a body cut short is retried from the start (``restart``).

        Through ``StreamingBody.read``, which checks the length S3 announced and raises
        ``IncompleteReadError`` when the body ends early (its ``with`` form hands out the raw
        urllib3 stream, which does not: a cut body would read as a short, "complete" one).
        """
        for attempt in range(1, attempts + 1):
            body = self.open(key, version_id=version_id)
            try:
                while chunk := body.read(1024 * 1024):
                    sink(chunk)
                return
            except (IncompleteReadError, ResponseStreamingError, ProtocolError) as err:
                if attempt == attempts:
                    raise StorageError(f"s3://{self.bucket}/{key}: the body was cut short {attempts} times "
                                       f"({type(err).__name__})") from None
                restart()
            finally:
                body.close()

    def open(self, key: str, version_id: str | None = None, *, first: int | None = None,
             last: int | None = None) -> BinaryIO:
        """A streaming body (close it); reads the given version when one is named, and only bytes
        ``first``..``last`` (inclusive, as HTTP ranges count) when they are given."""
        kw: dict[str, str] = {"VersionId": version_id} if version_id and version_id != "null" else {}
        if first is not None:
            kw["Range"] = f"bytes={first}-{'' if last is None else last}"
        return self._call(self.s3.get_object, key, Bucket=self.bucket, Key=key, **kw)["Body"]

    def open_ranged(self, key: str, version_id: str | None, size: int) -> RangedReader:
        """A seekable read-only file over one object version of ``size`` bytes, read by ranged GETs."""
        return RangedReader(self, key, version_id, size)

    def download(self, key: str, path: Path, version_id: str | None = None) -> Path:
        extra = {"VersionId": version_id} if version_id and version_id != "null" else {}
        try:
            self._call(self.s3.download_file, key, self.bucket, key, str(path), ExtraArgs=extra,
                       Config=TRANSFER)
        except S3TransferRetriesExceededError as err:  # s3transfer's own retries of cut bodies ran out
            raise StorageError(f"s3://{self.bucket}/{key}: download failed after retries ({err})") from None
        return Path(path)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for obj in page.get("Contents", ()):
                    yield ObjectInfo(obj["Key"], obj["Size"], obj["LastModified"],
                                     obj.get("ETag", "").strip('"'))
        except ClientError as err:
            raise _storage_error(err, self.bucket, prefix) from None
        except BotoCoreError as err:
            raise StorageError(f"s3://{self.bucket}/{prefix}: {err}") from None

    def multipart_uploads(self, prefix: str = "") -> builtins.list[tuple[str, str, datetime]]:
        """Open multipart uploads under ``prefix``: ``(key, upload id, initiated)``."""
        out: builtins.list[tuple[str, str, datetime]] = []
        pages = self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                out += [(u["Key"], u["UploadId"], u["Initiated"]) for u in page.get("Uploads", ())]
        except ClientError as err:
            raise _storage_error(err, self.bucket, prefix) from None
        except BotoCoreError as err:
            raise StorageError(f"s3://{self.bucket}/{prefix}: {err}") from None
        return out

    def abort_uploads(self, key: str) -> int:
        """Abort every open multipart upload of exactly ``key`` (ours: the write failed); best effort."""
        aborted = 0
        try:
            for found, upload_id, _ in self.multipart_uploads(key):
                if found == key:
                    self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                    aborted += 1
        except (StorageError, ClientError, BotoCoreError):
            pass  # the lifecycle rule aborts what is left after 7 days; status reports it meanwhile
        return aborted

    def history(self, prefix: str) -> dict[str, builtins.list[VersionInfo]]:
        """Every version and delete marker of every key under ``prefix``, oldest first per key."""
        out: dict[str, builtins.list[VersionInfo]] = {}
        pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for v in page.get("Versions", ()):
                    out.setdefault(v["Key"], []).append(VersionInfo(v["VersionId"], v["LastModified"], False))
                for m in page.get("DeleteMarkers", ()):
                    out.setdefault(m["Key"], []).append(VersionInfo(m["VersionId"], m["LastModified"], True))
        except ClientError as err:
            raise _storage_error(err, self.bucket, prefix) from None
        except BotoCoreError as err:
            raise StorageError(f"s3://{self.bucket}/{prefix}: {err}") from None
        # S3 lists newest first; a stable sort by time keeps that order reversed for equal times
        return {k: sorted(reversed(vs), key=lambda v: v.last_modified) for k, vs in out.items()}

    def versions(self, key: str) -> builtins.list[str]:
        """Version ids of exactly ``key``, newest first (empty if the bucket is unversioned)."""
        resp = self._call(self.s3.list_object_versions, key, Bucket=self.bucket, Prefix=key)
        return [v["VersionId"] for v in resp.get("Versions", ()) if v["Key"] == key]

    def _call(self, fn: Callable, key: str, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except ClientError as err:
            raise _storage_error(err, self.bucket, key) from None
        except BotoCoreError as err:
            raise StorageError(f"s3://{self.bucket}/{key}: {err}") from None


RANGE_BLOCK = 256 * 1024  # a read outside any advised range fetches at least this much
RANGE_TAIL = 1024 * 1024  # a read in the last MiB fetches all of it (a ZIP's directory is there)
_CUT = (IncompleteReadError, ResponseStreamingError, ProtocolError)


class RangedReader(io.RawIOBase):
    """A seekable, read-only file over one object version, read with ranged GETs.

    For reading a small part of a big object (``restore record``: a ZIP's central directory and
    one table) without downloading it. A read inside a range the caller ``advise``d is served from
    one streamed GET of exactly that range (a read a little further on, up to ``RANGE_BLOCK``, reads
    on through the gap instead of asking again); any other read fetches a block around it (``RANGE_TAIL``
    for a read near the end, where a ZIP keeps its directory; else ``RANGE_BLOCK`` on). Bodies are
    read through ``StreamingBody.read``, which checks the announced length: a body cut short is
    requested again from where it was cut, three times at most, then it is a StorageError.
    ``requests`` counts the GETs. Not thread-safe.
    """

    def __init__(self, client: BucketClient, key: str, version_id: str | None, size: int) -> None:
        super().__init__()
        self._client, self._key, self._version, self.size = client, key, version_id, size
        self._pos = 0
        self._block, self._block_at = b"", 0
        self._advised: tuple[int, int] | None = None
        self._body: Any = None
        self._body_at = 0  # the position of the body's next byte
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def advise(self, start: int, end: int) -> None:
        """Bytes ``start``..``end`` (exclusive) are read next, in order: one GET will serve them."""
        self._advised = (start, min(end, self.size))
        if self._body is not None and self._body_at != start:
            self._drop_body()

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        want = self.size - self._pos if size is None or size < 0 else min(size, self.size - self._pos)
        parts: builtins.list[bytes] = []
        while want > 0:
            piece = self._read_at(self._pos, want)
            parts.append(piece)
            self._pos += len(piece)
            want -= len(piece)
        return b"".join(parts)

    def _read_at(self, pos: int, n: int) -> bytes:
        if self._block_at <= pos < self._block_at + len(self._block):
            return self._block[pos - self._block_at: pos - self._block_at + n]
        if self._advised is not None and self._advised[0] <= pos < self._advised[1]:
            return self._from_body(pos, min(n, self._advised[1] - pos))
        start = max(0, self.size - RANGE_TAIL) if pos >= self.size - RANGE_TAIL else pos
        end = self.size if pos >= self.size - RANGE_TAIL else min(self.size, pos + max(n, RANGE_BLOCK))
        self._block, self._block_at = self._fetch(start, end), start
        return self._block[pos - start: pos - start + n]

    def _fetch(self, start: int, end: int) -> bytes:
        for attempt in range(1, 4):
            body = self._get(start, end)
            try:
                data: bytes = body.read()
            except _CUT as err:
                if attempt == 3:
                    raise self._cut(err) from None
                continue
            finally:
                body.close()
            return data
        raise AssertionError("unreachable")

    def _from_body(self, pos: int, n: int) -> bytes:
        assert self._advised is not None
        if self._body is not None and self._body_at < pos <= self._body_at + RANGE_BLOCK:
            self._skip(pos - self._body_at)  # a short gap of the advised range: read on, not a new GET
        if self._body is not None and self._body_at != pos:
            self._drop_body()
        for attempt in range(1, 4):
            if self._body is None:
                self._body, self._body_at = self._get(pos, self._advised[1]), pos
            try:
                data: bytes = self._body.read(n)
            except _CUT as err:
                self._drop_body()
                if attempt == 3:
                    raise self._cut(err) from None
                continue
            if data:
                self._body_at += len(data)
                return data
            self._drop_body()  # an empty read before the range's end: StreamingBody raised if cut
        raise self._cut(None)

    def _skip(self, n: int) -> None:
        try:
            while n > 0 and (data := self._body.read(min(n, RANGE_BLOCK))):
                self._body_at += len(data)
                n -= len(data)
        except _CUT:
            self._drop_body()  # the read that needs it GETs again from its position

    def _get(self, start: int, end: int) -> Any:
        self.requests += 1
        return self._client.open(self._key, self._version, first=start, last=end - 1)

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
        self._body = None

    def _cut(self, err: BaseException | None) -> StorageError:
        why = type(err).__name__ if err is not None else "no data"
        return StorageError(f"s3://{self._client.bucket}/{self._key}: a ranged read was cut short 3 times ({why})")

    def close(self) -> None:
        self._drop_body()
        super().close()


def weak_protection(versioning: dict | None, lock: dict | None) -> list[str]:
    """Pure: warnings from GetBucketVersioning / GetObjectLockConfiguration answers (None: unknown)."""
    warnings = []
    if versioning is not None and versioning.get("Status") != "Enabled":
        warnings.append("versioning is not enabled: a snapshot version could be replaced or deleted")
    if lock is not None:
        config = lock.get("ObjectLockConfiguration") or {}
        if config.get("ObjectLockEnabled") != "Enabled":
            warnings.append("object lock is not enabled: whoever can write a backup can delete it")
        elif not (config.get("Rule") or {}).get("DefaultRetention"):
            warnings.append("object lock has no default retention: new snapshots are not locked")
    return warnings


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _storage_error(err: ClientError, bucket: str, key: str) -> StorageError:
    code = _code(err)
    if code in ("PreconditionFailed", "412"):
        return StorageError(f"refusing to overwrite s3://{bucket}/{key}: it appeared during the upload")
    if code in ("NoSuchBucket",):
        return StorageError(f"bucket {bucket!r} does not exist (check --bucket / DEEDBOX_BUCKET)")
    if code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
        return ObjectMissing(f"s3://{bucket}/{key} does not exist")
    message = err.response.get("Error", {}).get("Message", "")
    return StorageError(f"s3://{bucket}/{key}: {code} {message}".strip())
