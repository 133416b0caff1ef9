"""Media sync: copy each media class into the backup bucket, incrementally and in parallel.

``sync`` mode copies ``<prefix>…`` of the source store into ``media/<class>/<source key>``.
When one set of credentials reaches both stores (the source is AWS S3, no ``endpoint_url``) the
copy is server-side (``CopyObject``, the bytes never pass through the runner); for another S3
API (R2, MinIO: ``endpoint_url`` + credential env refs) the object is streamed (GET → upload)
and its MD5 is checked against the source ETag on the way when that ETag is a plain MD5. Both
paths pin the source version they planned for (``If-Match`` / ``CopySourceIfMatch``). A server-side
copy is one ``CopyObject`` with ``MetadataDirective=COPY`` (content type and user metadata kept by
S3, no HeadObject); the source ETag it came from is kept in the run record's index. Streamed
copies (and copies above 5 GiB) also store it as ``source-etag`` metadata. Nothing in the
destination is ever deleted.

``replicate`` mode (S3 replication does the copying) only reports: objects per class in source
and destination, objects missing (older than ``REPLICATION_GRACE``) or still lagging, and a
sample of ``ReplicationStatus``; ``--backfill`` copies the missing ones (server-side), or, when they
reach ``backups.media.batch_threshold_*``, submits one S3 Batch Replication job for them (a manifest
S3 generates from the replication configuration: objects never replicated or failed, ``NONE`` /
``FAILED``), which replicates with the configuration's own rules (keys, re-encryption, owner).
Every run writes a record ``records/media-sync/<ts>.json`` (see ``deedbox.bucket.records``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from deedbox.bucket.client import TRANSFER, BucketClient
from deedbox.bucket.records import newest_record, write_record
from deedbox.bucket.snapshots import format_ts
from deedbox.config.model import Config, MediaSource
from deedbox.errors import EnvironmentProblem, StorageError, UsageError
from deedbox.media.batch import BACKFILL_ROLE_PURPOSE, BatchJobs, replication_job_request, role_arn, token
from deedbox.media.plan import META_SOURCE_ETAG, ClassPlan, SourceObject, decide_checked, new_index, plan_class

WORKERS = 16
SMALL = 1024 * 1024  # bodies up to this size are read whole and PUT (16 workers: 16 MiB)
COPY_LIMIT = 5 * 1024 ** 3  # CopyObject's limit; above it the managed (multipart) copy
REPLICATION_GRACE = timedelta(hours=1)
SAMPLE = 10


class Source:
    """The media source store: a client, its bucket, and whether server-side copy is possible."""

    def __init__(self, config: Config, client: Any = None) -> None:
        media = config.source.media
        if media is None or not media.bucket:
            raise UsageError("config has no source.media.bucket: nothing to sync")
        self.bucket, self.server_side = media.bucket, media.endpoint_url is None
        self.region = media.region or config.source.region
        self.client = client or _client(media, config.source.region)


def _client(media: MediaSource, region: str) -> Any:
    cfg = BotoConfig(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=WORKERS * 2)
    if media.endpoint_url is None:
        return boto3.client("s3", region_name=media.region or region, config=cfg)
    creds: dict[str, str] = {}
    for arg, ref in (("aws_access_key_id", media.access_key_id),
                     ("aws_secret_access_key", media.secret_access_key)):
        if ref is not None:
            if not os.environ.get(ref.env):
                raise EnvironmentProblem(f"environment variable {ref.env} is not set (media source credentials)")
            creds[arg] = os.environ[ref.env]
    return boto3.client("s3", endpoint_url=media.endpoint_url, config=cfg,
                        region_name=media.region or region,
                        aws_access_key_id=creds.get("aws_access_key_id"),
                        aws_secret_access_key=creds.get("aws_secret_access_key"))


def list_source(source: Source, cls: str, prefix: str) -> list[SourceObject]:
    pages = source.client.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=prefix)
    try:
        return [SourceObject(cls, o["Key"], o["Size"], o["ETag"].strip('"'), o["LastModified"])
                for page in pages for o in page.get("Contents", ())]
    except (ClientError, BotoCoreError) as err:
        raise StorageError(f"media source s3://{source.bucket}/{prefix}: {_describe(err)}") from None


class Copier:
    """Copies one object (thread-safe: boto3 clients are) and returns the destination ETag."""

    def __init__(self, source: Source, store: BucketClient) -> None:
        self.source, self.store = source, store
        store.s3.meta.events.register("before-sign.s3.CopyObject", _empty_body_md5,
                                      unique_id="deedbox-copy-md5")

    def copy(self, obj: SourceObject, key: str) -> str:
        if self.source.server_side:
            return self._server_side(obj, key)
        return self._streamed(obj, key)

    def _server_side(self, obj: SourceObject, key: str) -> str:
        """One ``CopyObject`` (``MetadataDirective=COPY``: S3 keeps the content type and user
        metadata); the source ETag goes into the run's record index, not onto the object."""
        copy_source = {"Bucket": self.source.bucket, "Key": obj.key}
        s3, bucket = self.store.s3, self.store.bucket
        if obj.size > COPY_LIMIT:  # a multipart copy does not carry metadata over by itself
            src = self.source.client.head_object(Bucket=self.source.bucket, Key=obj.key,
                                                 IfMatch=_quoted(obj.etag))
            meta = {**src.get("Metadata", {}), META_SOURCE_ETAG: obj.etag}
            s3.copy(copy_source, bucket, key, Config=TRANSFER, ExtraArgs={
                "Metadata": meta, "MetadataDirective": "REPLACE", "CopySourceIfMatch": _quoted(obj.etag),
                "ContentType": src.get("ContentType", "binary/octet-stream")})
            return self.store.head(key).etag
        resp = s3.copy_object(CopySource=copy_source, CopySourceIfMatch=_quoted(obj.etag), Bucket=bucket,
                              Key=key, MetadataDirective="COPY", ChecksumAlgorithm="SHA256")
        return resp["CopyObjectResult"]["ETag"].strip('"')

    def _streamed(self, obj: SourceObject, key: str) -> str:
        resp = self.source.client.get_object(Bucket=self.source.bucket, Key=obj.key, IfMatch=_quoted(obj.etag))
        meta = {**resp.get("Metadata", {}), META_SOURCE_ETAG: obj.etag}
        ctype = resp.get("ContentType", "binary/octet-stream")
        body = _Md5Reader(resp["Body"])
        s3, bucket = self.store.s3, self.store.bucket
        if obj.size <= SMALL:
            data = body.read()
            _check_md5(obj, body.md5.hexdigest())
            out = s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata=meta, ContentType=ctype,
                                ChecksumAlgorithm="SHA256")
            return out["ETag"].strip('"')
        s3.upload_fileobj(body, bucket, key, Config=TRANSFER, ExtraArgs={
            "Metadata": meta, "ContentType": ctype, "ChecksumAlgorithm": "SHA256"})
        _check_md5(obj, body.md5.hexdigest())
        return self.store.head(key).etag


class _Md5Reader:
    """Non-seekable pass-through that hashes (MD5, to compare with a plain source ETag)."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.md5 = raw, hashlib.md5(usedforsecurity=False)

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read() if n is None or n < 0 else self.raw.read(n)
        self.md5.update(data)
        return data


def _empty_body_md5(request: Any, **_: Any) -> None:
    """CopyObject has an empty body; saying so with its Content-MD5 is true on any S3 and lets
    moto (which demands an integrity header on every write into an object-lock bucket) accept
    server-side copies into the backup bucket."""
    if "Content-MD5" not in request.headers:
        request.headers["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg=="  # base64(md5(b""))


def _quoted(etag: str) -> str:
    return f'"{etag}"'


def _check_md5(obj: SourceObject, got: str) -> None:
    if len(obj.etag) == 32 and "-" not in obj.etag and got != obj.etag:
        raise StorageError(f"{obj.key}: bytes read do not match the source ETag (changed or corrupted in transit)")


def _describe(err: Exception) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", "error"))
    return type(err).__name__


def _run_copies(copier: Copier, items: list[tuple[SourceObject, str]]) -> tuple[list, list[str]]:
    """Copy in parallel; returns ([(dest key, source etag, dest etag)], [error lines])."""
    def one(item):
        obj, key = item
        try:
            return (key, obj.etag, copier.copy(obj, key)), None
        except (ClientError, BotoCoreError, StorageError) as err:
            return None, f"{obj.key}: {_describe(err) if not isinstance(err, StorageError) else err}"

    done, errors = [], []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for ok, error in pool.map(one, items):
            (done.append(ok) if ok else errors.append(error))
    return done, errors


def _resolve_checks(store: BucketClient, plan: ClassPlan) -> list[tuple[str, str, str]]:
    """HEAD the same-size objects of unknown origin; move them to copy or up to date."""
    def head(item):
        return item, store.head(item[1])

    confirmed = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for (obj, key), stored in pool.map(head, plan.check):
            if decide_checked(obj, stored.metadata):
                plan.up_to_date.append((obj, key))
                confirmed.append((key, obj.etag, stored.etag))
            else:
                plan.copy.append((obj, key))
    plan.check = []
    return confirmed


def sync_media(config: Config, store: BucketClient, *, backfill: bool = False, source: Source | None = None,
               now: datetime | None = None, jobs: Callable[[str], BatchJobs] | None = None) -> dict:
    """Run one sync (or replication report) over every configured class; returns the record.

    Replicate mode with ``backfill``: when what is missing reaches ``backups.media.batch_threshold_*``
    one S3 Batch Replication job (``deedbox.media.batch``) is submitted instead of copying each object
    (``jobs(region)`` gives its client); objects stay ``missing`` in this record until the job has run.
    """
    if config.backups.media is None or not config.media_classes():
        raise UsageError("config backs up no media (backups.media / source.media.classes)")
    mode = config.backups.media.mode
    source = source or Source(config)
    now = now or datetime.now(UTC)
    last = newest_record(store, "media-sync", where=lambda d: d.get("mode") == mode)
    index = last[1].get("index", {}) if last else {}
    planned = []
    with ThreadPoolExecutor(max_workers=2) as pool:  # each class's two listings at once; classes in turn
        for c in config.media_classes():  # (a listing that fails stops the run before the next class)
            objs, dest = pool.submit(list_source, source, c.name, c.prefix), pool.submit(_dest_listing, store, mode, c)
            planned.append((c, *_plan_one(c, mode, objs.result(), dest.result(), source, store, index, now)))
    job = _backfill_job(config, store, source, [p for _, _, p, _ in planned], now, jobs) \
        if mode == "replicate" and backfill else None
    copier, classes, entries, errors = Copier(source, store), {}, [], []
    for media_class, result, plan, checked in planned:
        entries += checked
        if mode == "replicate" and (not backfill or job):
            if job:
                result["backfill_job"] = job["job_id"]
            classes[media_class.name] = result
            continue
        if mode == "replicate":
            result["missing"] = 0
        done, errs = _run_copies(copier, plan.copy)
        sizes = {key: obj.size for obj, key in plan.copy}
        result.update(copied=len(done), failed=len(errs), bytes_copied=sum(sizes[d[0]] for d in done))
        classes[media_class.name] = result
        entries += done
        errors += errs
    ok = not errors and all(c.get("missing", 0) == 0 for c in classes.values())
    record = {"mode": mode, "ok": ok, "backfill": backfill, "bucket": store.bucket,
              "source_bucket": source.bucket,
              "method": "batch replication job" if job else "server-side copy" if source.server_side else "streamed",
              "classes": classes, "errors": errors[:50], "error_count": len(errors),
              "index": new_index(index, entries)}
    if job:
        record["backfill_job"] = job
    record["record_key"] = write_record(store, "media-sync", record, now)
    return record


def _dest_listing(store: BucketClient, mode: str, media_class: Any) -> dict[str, Any]:
    prefix = media_class.prefix if mode == "replicate" else f"media/{media_class.name}/{media_class.prefix}"
    return {o.key: o for o in store.list(prefix)}


def _plan_one(media_class: Any, mode: str, objs: list[SourceObject], dest: dict[str, Any], source: Source,
              store: BucketClient, index: dict, now: datetime) -> tuple[dict, ClassPlan, list]:
    plan = plan_class(media_class.name, mode, objs, dest, index)
    entries = _resolve_checks(store, plan)
    result = {"source": len(objs), "destination": len(dest), "up_to_date": len(plan.up_to_date)}
    if mode == "replicate":
        result.update(_replication_state(source, plan, objs, now))
    return result, plan, entries


def _backfill_job(config: Config, store: BucketClient, source: Source, plans: list[ClassPlan], now: datetime,
                  jobs: Callable[[str], BatchJobs] | None) -> dict | None:
    """At or above the threshold: one S3 Batch Replication job over the classes' prefixes."""
    media = config.backups.media
    missing = [obj for plan in plans for obj, _ in plan.copy]
    size = sum(o.size for o in missing)
    if media is None or not missing or (len(missing) < media.batch_threshold_objects
                                        and size < media.batch_threshold_bytes):
        return None
    account = config.destination.account
    prefixes = [c.prefix for c in config.media_classes()]
    request = replication_job_request(
        account=account, source_bucket=source.bucket, source_account=config.source.account, prefixes=prefixes,
        report_bucket=store.bucket, role=role_arn(account, config.name, BACKFILL_ROLE_PURPOSE),
        request_token=token("backfill", source.bucket, *prefixes, format_ts(now)),
        description=f"deedbox media sync --backfill of s3://{source.bucket} ({len(missing)} objects missing)")
    client = (jobs or (lambda region: BatchJobs.connect(account, region)))(source.region)
    return {"job_id": client.create(request), "objects": len(missing), "bytes": size, "region": source.region}


def _replication_state(source: Source, plan: ClassPlan, objs: list[SourceObject], now: datetime) -> dict:
    lagging = [o for o, _ in plan.copy if o.modified and now - o.modified < REPLICATION_GRACE]
    statuses: dict[str, int] = {}
    for obj in sorted(objs, key=lambda o: o.modified or now, reverse=True)[:SAMPLE]:
        try:
            head = source.client.head_object(Bucket=source.bucket, Key=obj.key)
        except (ClientError, BotoCoreError):
            continue
        state = head.get("ReplicationStatus", "NONE")
        statuses[state] = statuses.get(state, 0) + 1
    return {"missing": len(plan.copy) - len(lagging), "lagging": len(lagging),
            "replication_status_sample": statuses}
