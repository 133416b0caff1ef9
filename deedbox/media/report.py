"""A finished S3 Batch Operations job, verified from its completion report.

Where the report is, and its shape (AWS S3 User Guide, "Examples: S3 Batch Operations completion
reports"): under ``<report prefix>/job-<id>/``, a ``manifest.json`` (``Format``
``Report_CSV_20180820``, ``ReportCreationDate``, ``Results``: each results CSV's bucket, key and
MD5, and ``ReportSchema``) and the ``results/*.csv`` it lists. The documented schema string
("Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage") and the
documented example rows disagree on the column order, so columns are read by the report's own
``ReportSchema``. Whether the service names keys URL-encoded (as the manifest has them) or decoded
is not documented: both are accepted.

``check_job`` passes a job when its status is ``Complete``, every results CSV has the MD5
``manifest.json`` states, every task ``succeeded``, and the tasks are exactly the manifest's rows:
the same count and the same order-free digest of (key, version id), so memory stays flat for any
size (reports and manifests are downloaded to temporary files, never read whole). A job with a
generated manifest (Batch Replication) has no manifest of ours: its own task total is the count.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from deedbox.bucket.client import BucketClient
from deedbox.errors import CheckFailed, StorageError

SHOWN = 10


@dataclass
class JobCheck:
    """What a finished job's completion report shows, against what it was asked to do."""

    job_id: str
    status: str
    operation: str
    expected: int | None  # manifest rows (copy) or the job's own task total (generated manifest)
    tasks: int = 0
    succeeded: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # up to SHOWN "key: code message"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "operation": self.operation, "expected": self.expected,
                "tasks": self.tasks, "succeeded": self.succeeded, "failed": self.failed,
                "failures": self.failures, "problems": self.problems, "ok": self.ok}


def operation_of(job: Mapping[str, Any]) -> str:
    return next(iter(job.get("Operation") or {"unknown": {}}))


def check_job(store: BucketClient, job: Mapping[str, Any]) -> JobCheck:
    """Verify a finished job from its completion report (see the module docstring)."""
    summary = job.get("ProgressSummary") or {}
    check = JobCheck(str(job["JobId"]), str(job.get("Status")), operation_of(job), None)
    if check.status != "Complete":
        reasons = "; ".join(f"{r.get('FailureCode')}: {r.get('FailureReason')}" for r in job.get("FailureReasons", ()))
        check.problems.append(f"job status is {check.status}" + (f" ({reasons})" if reasons else ""))
    expected = Digest()
    location = (job.get("Manifest") or {}).get("Location")
    if location:
        _digest_manifest(store, location, expected)
        check.expected = expected.count
    else:
        check.expected = int(summary.get("TotalNumberOfTasks", 0))
    got, reencoded = Digest(), Digest()
    for row in _report_rows(store, job, check):
        _tally(check, row, got, reencoded)
    _compare(check, expected if location else None, got, reencoded)
    return check


class Digest:
    """Count and order-free digest of (key, version id) pairs: equal sets give equal digests."""

    def __init__(self) -> None:
        self.count, self.value = 0, 0

    def add(self, key: str, version: str) -> None:
        self.count += 1
        h = hashlib.sha256(f"{key}\n{version}".encode()).digest()
        self.value = (self.value + int.from_bytes(h[:16], "big")) % (1 << 128)


def _digest_manifest(store: BucketClient, location: Mapping[str, Any], digest: Digest) -> None:
    bucket, key = _split_arn(str(location["ObjectArn"]))
    if bucket != store.bucket:
        raise CheckFailed(f"the job's manifest is in s3://{bucket}, not in the backup bucket: not a deedbox job")
    with _local(store, key, location.get("ObjectVersionId")) as path:
        for row in _csv_rows(path):
            digest.add(row[1], row[2] if len(row) > 2 else "")


def _report_rows(store: BucketClient, job: Mapping[str, Any], check: JobCheck) -> Iterator[dict[str, str]]:
    report = job.get("Report") or {}
    bucket = _split_arn(str(report.get("Bucket", "")))[0] if report.get("Bucket") else ""
    if not report.get("Enabled") or bucket != store.bucket:
        check.problems.append("the job wrote no completion report into the backup bucket")
        return
    prefix = str(report.get("Prefix", "")).rstrip("/")
    top_key = f"{prefix + '/' if prefix else ''}job-{check.job_id}/manifest.json"
    try:
        top = json.loads(store.get_bytes(top_key))
    except (StorageError, ValueError) as err:
        check.problems.append(f"no readable completion report at {top_key} ({err})")
        return
    columns = [c.strip() for c in str(top.get("ReportSchema", "")).split(",")]
    for result in top.get("Results", ()):
        yield from _result_file(store, result, columns, check)


def _result_file(store: BucketClient, result: Mapping[str, Any], columns: list[str],
                 check: JobCheck) -> Iterator[dict[str, str]]:
    with _local(store, str(result["Key"])) as path:
        md5 = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                md5.update(chunk)
        if result.get("MD5Checksum") and md5.hexdigest() != result["MD5Checksum"]:
            check.problems.append(f"{result['Key']}: its MD5 is not the one the report's manifest.json states")
        for row in _csv_rows(path):
            yield dict(zip(columns, row, strict=False))


@contextmanager
def _local(store: BucketClient, key: str, version_id: str | None = None) -> Iterator[Path]:
    """A downloaded copy of ``key`` (reports and manifests can be large: never read whole)."""
    with tempfile.TemporaryDirectory(prefix="deedbox-batch-") as tmp:
        yield store.download(key, Path(tmp) / "object.csv", version_id=version_id)


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open(newline="") as fh:
        yield from (row for row in csv.reader(fh) if row)


def _tally(check: JobCheck, row: Mapping[str, str], got: Digest, reencoded: Digest) -> None:
    check.tasks += 1
    key, version = row.get("Key", ""), row.get("VersionId", "")
    if row.get("TaskStatus") == "succeeded":
        check.succeeded += 1
        got.add(key, version)
        reencoded.add(quote(key, safe="/~"), version)  # a report that names keys decoded
    else:
        check.failed += 1
        if len(check.failures) < SHOWN:
            check.failures.append(f"{key}: {row.get('ErrorCode') or row.get('TaskStatus')} "
                                  f"{row.get('ResultMessage', '')}".strip())


def _compare(check: JobCheck, expected: Digest | None, got: Digest, reencoded: Digest) -> None:
    if check.failed:
        check.problems.append(f"{check.failed} of {check.tasks} tasks failed")
    if check.expected is not None and check.succeeded != check.expected:
        check.problems.append(f"{check.succeeded} tasks succeeded, the job was to do {check.expected}")
    elif expected is not None and expected.value not in (got.value, reencoded.value):
        check.problems.append("the report's tasks are not the manifest's objects (same count, other keys or versions)")


def _split_arn(arn: str) -> tuple[str, str]:
    """``arn:aws:s3:::bucket/key`` -> (bucket, key)."""
    rest = arn.split(":::", 1)[-1]
    bucket, _, key = rest.partition("/")
    return bucket, key
