"""S3 Batch Operations for media at scale: manifests, job requests, following a job, its report.

Two jobs, both created by the runner in the backup (destination) account through ``s3control``
(``s3:CreateJob``, and ``iam:PassRole`` of exactly the role the job runs as):

- **restore** (``restore media`` above ``backups.media.batch_threshold_*``): ``S3PutObjectCopy``
  of the object *versions* a CSV manifest lists, from the backup bucket into the live store, with
  ``MetadataDirective=COPY`` and a SHA-256 checksum. Run as ``<name>-deedbox-batch-restore``.
- **backfill** (replicate mode, ``media sync --backfill`` above the threshold): S3 Batch
  Replication, ``S3ReplicateObject`` over a manifest S3 generates from the media bucket's
  replication configuration (``S3JobManifestGenerator``, ``EligibleForReplication``, statuses
  ``NONE`` and ``FAILED``, the class prefixes). Run as ``<name>-deedbox-batch-backfill``.

What the AWS documentation says, and what follows here (S3 User Guide, "Creating an S3 Batch
Operations job", "Copy objects", "Examples: S3 Batch Operations completion reports", "Replicating
existing objects with S3 Batch Replication"; the API reference of ``CreateJob``):

- A CSV manifest row is ``bucket,key[,versionId]``; "Object keys must be URL-encoded", and either
  every row has a version id or none does. ``manifest_row`` percent-encodes every byte outside
  ``A-Za-z0-9_.-~/`` (a ``+`` or ``,`` in a key becomes ``%2B``/``%2C``: the result reads the same
  whether the service decodes ``+`` as a space or not). Rows are always versioned: a restore copies
  the version chosen at ``--as-of``, never whatever is newest when the job runs.
- The job names its manifest by ARN, version id **and ETag**. "S3 Batch Operations does not
  support CSV manifest files that are AWS KMS-encrypted": the backup bucket encrypts with SSE-KMS by
  default, so the manifest is written with ``ServerSideEncryption=AES256`` (and ``If-None-Match``:
  ``restores/`` is write-once).
- Copy jobs "must be created in the destination Region"; objects "can be up to 5 GB"; "all Copy
  options are supported except for conditional checks on ETags"; the copy keeps the key
  (``TargetKeyPrefix`` can only prepend). So a job restores only where the backup key *is* the live
  key (replicate mode); ``restore media`` copies bigger objects, and sync-mode restores
  (``media/<class>/<key>``), from the runner.

A finished job is verified from its report by ``deedbox.media.report``.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from deedbox.bucket.client import BucketClient
from deedbox.bucket.layout import PREFIXES
from deedbox.errors import EnvironmentProblem, StorageError

RESTORE_ROLE_PURPOSE = "batch-restore"  # topology.batch names the roles with the same purposes
BACKFILL_ROLE_PURPOSE = "batch-backfill"
MANIFEST_PREFIX = f"{PREFIXES['restores']}manifests/"
RESTORE_REPORT_PREFIX = f"{PREFIXES['restores']}jobs"
BACKFILL_REPORT_PREFIX = f"{PREFIXES['records']}media-backfill"
MANIFEST_FORMAT = "S3BatchOperations_CSV_20180820"
REPORT_FORMAT = "Report_CSV_20180820"
COPY_JOB_LIMIT = 5 * 1000 ** 3  # "Objects to be copied can be up to 5 GB in size"
DONE = ("Complete", "Failed", "Cancelled")


def role_arn(account: str, name: str, purpose: str) -> str:
    """``arn:aws:iam::<account>:role/<name>-deedbox-<purpose>`` (``topology.names.role_name``)."""
    return f"arn:aws:iam::{account}:role/{name}-deedbox-{purpose}"


def manifest_row(bucket: str, key: str, version_id: str) -> str:
    return f"{bucket},{quote(key, safe='/~')},{version_id}\n"


def token(*parts: str) -> str:
    """A ``ClientRequestToken`` (1-64 characters): the same request twice is the same job."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:64]


def copy_job_request(*, account: str, manifest_arn: str, manifest_etag: str, manifest_version: str | None,
                     target_bucket: str, report_bucket: str, role: str, request_token: str,
                     description: str) -> dict[str, Any]:
    """``CreateJob`` for an ``S3PutObjectCopy`` of the manifest's versions into ``target_bucket``."""
    location = {"ObjectArn": manifest_arn, "ETag": manifest_etag}
    if manifest_version and manifest_version != "null":
        location["ObjectVersionId"] = manifest_version
    return {
        "AccountId": account, "ConfirmationRequired": False, "Priority": 10, "RoleArn": role,
        "ClientRequestToken": request_token, "Description": description[:256],
        "Operation": {"S3PutObjectCopy": {"TargetResource": f"arn:aws:s3:::{target_bucket}",
                                          "MetadataDirective": "COPY", "ChecksumAlgorithm": "SHA256"}},
        "Manifest": {"Spec": {"Format": MANIFEST_FORMAT, "Fields": ["Bucket", "Key", "VersionId"]},
                     "Location": location},
        "Report": _report(report_bucket, RESTORE_REPORT_PREFIX),
    }


def replication_job_request(*, account: str, source_bucket: str, source_account: str, prefixes: Sequence[str],
                            report_bucket: str, role: str, request_token: str, description: str) -> dict[str, Any]:
    """``CreateJob`` for S3 Batch Replication of what live replication never copied (or failed)."""
    return {
        "AccountId": account, "ConfirmationRequired": False, "Priority": 10, "RoleArn": role,
        "ClientRequestToken": request_token, "Description": description[:256],
        "Operation": {"S3ReplicateObject": {}},
        "ManifestGenerator": {"S3JobManifestGenerator": {
            "ExpectedBucketOwner": source_account, "SourceBucket": f"arn:aws:s3:::{source_bucket}",
            "EnableManifestOutput": False,
            "Filter": {"EligibleForReplication": True, "ObjectReplicationStatuses": ["NONE", "FAILED"],
                       "KeyNameConstraint": {"MatchAnyPrefix": list(prefixes)}},
        }},
        "Report": _report(report_bucket, BACKFILL_REPORT_PREFIX),
    }


def _report(bucket: str, prefix: str) -> dict[str, Any]:
    return {"Bucket": f"arn:aws:s3:::{bucket}", "Format": REPORT_FORMAT, "Enabled": True,
            "Prefix": prefix, "ReportScope": "AllTasks"}


def put_manifest(store: BucketClient, key: str, path: Path) -> tuple[str, str | None]:
    """Write the CSV at ``path`` to ``key`` once, SSE-S3 (CSV manifests cannot be SSE-KMS); (ETag, version)."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).digest()
    try:
        resp = store.s3.put_object(Bucket=store.bucket, Key=key, Body=data, ContentType="text/csv",
                                   ServerSideEncryption="AES256", IfNoneMatch="*", ChecksumAlgorithm="SHA256",
                                   ChecksumSHA256=base64.b64encode(digest).decode())
    except ClientError as err:
        raise StorageError(f"s3://{store.bucket}/{key}: the manifest was not written "
                           f"({err.response.get('Error', {}).get('Code', 'error')})") from None
    return str(resp["ETag"]).strip('"'), resp.get("VersionId")


class BatchJobs:
    """``CreateJob`` / ``DescribeJob`` in one account and region (``client``: boto3's, or a stand-in)."""

    def __init__(self, client: Any, account: str) -> None:
        self.client, self.account = client, account

    @classmethod
    def connect(cls, account: str, region: str) -> BatchJobs:
        return cls(boto3.client("s3control", region_name=region), account)

    def create(self, request: Mapping[str, Any]) -> str:
        try:
            return str(self.client.create_job(**request)["JobId"])
        except (ClientError, BotoCoreError) as err:
            raise EnvironmentProblem(f"S3 Batch Operations refused the job: {_describe(err)}") from None

    def describe(self, job_id: str) -> dict[str, Any]:
        try:
            return dict(self.client.describe_job(AccountId=self.account, JobId=job_id)["Job"])
        except (ClientError, BotoCoreError) as err:
            raise EnvironmentProblem(f"job {job_id}: {_describe(err)}") from None

    def wait(self, job_id: str, *, poll: float = 15.0, progress: Callable[[str, int, int | None], None] | None = None,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
        """Describe ``job_id`` until it is Complete, Failed or Cancelled (Ctrl-C stops following, not the job)."""
        done = 0
        while True:
            job = self.describe(job_id)
            summary = job.get("ProgressSummary") or {}
            finished = int(summary.get("NumberOfTasksSucceeded", 0)) + int(summary.get("NumberOfTasksFailed", 0))
            if progress and finished > done:
                progress(f"job {job_id}", finished - done, summary.get("TotalNumberOfTasks"))
                done = finished
            if job.get("Status") in DONE:
                return job
            sleep(poll)


def _describe(err: Exception) -> str:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code', 'error')} {error.get('Message', '')}".strip()
    return str(err)
