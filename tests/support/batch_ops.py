"""A local stand-in for S3 Batch Operations (``s3control`` ``CreateJob`` / ``DescribeJob``).

moto stores no Batch Operations jobs and runs none, and no AWS account is reachable here, so the
manifest and report handling of ``deedbox.media.batch`` is tested against this stand-in, which runs
a job the way the AWS documentation describes it, against moto's S3 over HTTP:

- every request is first validated by botocore against the ``s3control`` service model
  (``botocore.validate.validate_parameters`` on ``CreateJob``'s and ``DescribeJob``'s input
  shapes: the check a real client makes before it sends anything);
- ``ClientRequestToken`` is an idempotency token ("ensure that you don't accidentally submit the
  same request twice"): the same token returns the same job;
- **S3PutObjectCopy** (User Guide, "Specifying a manifest", "Copy objects"): the manifest object is
  read at the version the request names and must have the ETag it names; CSV rows are read by
  ``Spec.Fields``, keys URL-decoded (``unquote_plus``: the strictest reading, under which an
  unencoded ``+`` would become a space); "the manifest must either include version IDs for all
  objects or omit version IDs for all objects"; each row is one CopyObject of that version into
  ``TargetResource`` under the same key, with the operation's ``MetadataDirective`` and
  ``ChecksumAlgorithm``; objects over 5 GB fail ("Objects to be copied can be up to 5 GB");
  ``TargetKeyPrefix`` is refused (deedbox never sets it, and the stand-in does not guess how AWS
  joins it to a key);
- **S3ReplicateObject** with ``S3JobManifestGenerator`` ("Replicating existing objects with S3
  Batch Replication"): the source bucket's versions eligible under its replication configuration
  (an Enabled rule's prefix), whose replication status (``HeadObject``; moto sets none: ``NONE``)
  is in ``ObjectReplicationStatuses``, and whose key matches ``KeyNameConstraint.MatchAnyPrefix``,
  every eligible version, oldest first, copied into the rule's destination under the same key
  (moto cannot keep version ids across buckets as replication does: a known gap);
- the completion report ("Examples: S3 Batch Operations completion reports"): under
  ``<Prefix>/job-<id>/``, ``results/<sha1>.csv`` per task status and a ``manifest.json`` with
  ``Format`` ``Report_CSV_20180820``, ``ReportCreationDate``, ``Results`` (each CSV's bucket, key
  and MD5) and the ``ReportSchema`` it writes its columns in. Keys appear as the manifest gave them.

Jobs run synchronously inside ``create_job``; ``describe_job`` then answers ``Complete`` with the
``ProgressSummary`` (or ``Failed`` with ``FailureReasons`` when the manifest cannot be read).
``fail`` maps a key to an error code to make that task fail, as an access problem would.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import botocore.session
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import validate_parameters

from deedbox.media.sync import _empty_body_md5

SCHEMA = ["Bucket", "Key", "VersionId", "TaskStatus", "ErrorCode", "HTTPStatusCode", "ResultMessage"]
COPY_LIMIT = 5 * 1000 ** 3
MODEL = botocore.session.get_session().get_service_model("s3control")


def validate(operation: str, params: dict[str, Any]) -> None:
    """Raise botocore's ``ParamValidationError`` where a real client would refuse to send, and
    also for what the service would refuse by the same model: botocore checks a shape's ``min``
    but not its ``max`` (``ClientRequestToken`` 1-64 characters, ``Description`` 1-256)."""
    shape = MODEL.operation_model(operation).input_shape
    validate_parameters(params, shape)
    too_long = list(_over_max(params, shape, operation))
    if too_long:
        raise ParamValidationError(report="\n".join(too_long))


def _over_max(value: Any, shape: Any, path: str) -> Iterator[str]:
    limit = shape.metadata.get("max")
    if shape.type_name in ("string", "list") and limit is not None and len(value) > limit:
        yield f"Invalid length for parameter {path}, value: {len(value)}, valid max length: {limit}"
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                yield from _over_max(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            yield from _over_max(item, shape.member, f"{path}[{i}]")


class BatchOperationsStandIn:
    """``create_job`` / ``describe_job`` like boto3's s3control client, executed against ``s3``."""

    def __init__(self, s3: Any, *, fail: dict[str, str] | None = None) -> None:
        self.s3, self.fail = s3, dict(fail or {})
        self.s3.meta.events.register("before-sign.s3.CopyObject", _empty_body_md5, unique_id="standin-md5")
        self.jobs: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ the API
    def create_job(self, **params: Any) -> dict[str, Any]:
        validate("CreateJob", params)
        self.requests.append(params)
        token = params["ClientRequestToken"]
        if token in self.tokens:
            return {"JobId": self.tokens[token]}
        job_id = str(uuid.uuid4())
        self.tokens[token] = job_id
        self.jobs[job_id] = self._run(job_id, params)
        return {"JobId": job_id}

    def describe_job(self, **params: Any) -> dict[str, Any]:
        validate("DescribeJob", params)
        if params["JobId"] not in self.jobs:
            raise ClientError({"Error": {"Code": "NotFoundException", "Message": "job not found"}}, "DescribeJob")
        return {"Job": self.jobs[params["JobId"]]}

    # ------------------------------------------------------------------ running a job
    def _run(self, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
        job = {k: params[k] for k in ("Operation", "Priority", "RoleArn", "Report", "ConfirmationRequired",
                                      "Description", "Manifest", "ManifestGenerator") if k in params}
        job.update(JobId=job_id, CreationTime=datetime.now(UTC), Status="Complete")
        try:
            rows = list(self._tasks(params))
        except ValueError as err:
            job.update(Status="Failed", FailureReasons=[{"FailureCode": "ManifestError", "FailureReason": str(err)}],
                       ProgressSummary={"TotalNumberOfTasks": 0, "NumberOfTasksSucceeded": 0, "NumberOfTasksFailed": 0})
            return job
        results = [self._execute(params["Operation"], row) for row in rows]
        ok = sum(1 for r in results if r[3] == "succeeded")
        job["ProgressSummary"] = {"TotalNumberOfTasks": len(results), "NumberOfTasksSucceeded": ok,
                                  "NumberOfTasksFailed": len(results) - ok}
        if params["Report"].get("Enabled"):
            self._report(job_id, params["Report"], results)
        return job

    def _tasks(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if "Manifest" in params:
            yield from self._manifest_rows(params["Manifest"])
        else:
            yield from self._generated_rows(params["ManifestGenerator"]["S3JobManifestGenerator"])

    def _manifest_rows(self, manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
        spec, location = manifest["Spec"], manifest["Location"]
        if spec["Format"] != "S3BatchOperations_CSV_20180820":
            raise ValueError(f"unsupported manifest format {spec['Format']}")
        bucket, key = location["ObjectArn"].split(":::", 1)[1].split("/", 1)
        kw = {"VersionId": location["ObjectVersionId"]} if location.get("ObjectVersionId") else {}
        obj = self.s3.get_object(Bucket=bucket, Key=key, **kw)
        if obj["ETag"].strip('"') != location["ETag"].strip('"'):
            raise ValueError("the manifest's ETag is not the one given")
        if obj.get("ServerSideEncryption") == "aws:kms":
            raise ValueError("CSV manifests encrypted with SSE-KMS are not supported")
        fields = spec.get("Fields") or ["Bucket", "Key"]
        rows = [dict(zip(fields, r, strict=True)) for r in csv.reader(io.StringIO(obj["Body"].read().decode())) if r]
        if len({bool(r.get("VersionId")) for r in rows}) > 1:
            raise ValueError("the manifest must include version IDs for all objects or for none")
        for r in rows:
            yield {"bucket": r["Bucket"], "raw_key": r["Key"], "key": unquote_plus(r["Key"]),
                   "version": r.get("VersionId") or None}

    def _generated_rows(self, gen: dict[str, Any]) -> Iterator[dict[str, Any]]:
        bucket = gen["SourceBucket"].split(":::", 1)[1]
        rules = self.s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
        filt = gen.get("Filter") or {}
        wanted = filt.get("ObjectReplicationStatuses")
        prefixes = (filt.get("KeyNameConstraint") or {}).get("MatchAnyPrefix")
        pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        versions = sorted((v for p in pages for v in p.get("Versions", ())), key=lambda v: v["LastModified"])
        for v in versions:
            rule = _rule_for(rules, v["Key"])
            if filt.get("EligibleForReplication") and rule is None:
                continue
            if prefixes and not any(v["Key"].startswith(p) for p in prefixes):
                continue
            status = self.s3.head_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"]).get(
                "ReplicationStatus", "NONE")
            if wanted and status not in wanted:
                continue
            yield {"bucket": bucket, "raw_key": v["Key"], "key": v["Key"], "version": v["VersionId"],
                   "destination": rule["Destination"]["Bucket"].split(":::", 1)[1] if rule else None}

    def _execute(self, operation: dict[str, Any], row: dict[str, Any]) -> list[str]:
        (name, args), = operation.items()
        try:
            if row["key"] in self.fail:
                raise ClientError({"Error": {"Code": self.fail[row["key"]], "Message": "refused"},
                                   "ResponseMetadata": {"HTTPStatusCode": 403}}, "CopyObject")
            message = self._copy(name, args, row)
            return [row["bucket"], row["raw_key"], row["version"] or "", "succeeded", "", "200", message]
        except ClientError as err:
            error = err.response.get("Error", {})
            status = str(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return [row["bucket"], row["raw_key"], row["version"] or "", "failed", error.get("Code", ""), status,
                    error.get("Message", "")]

    def _copy(self, name: str, args: dict[str, Any], row: dict[str, Any]) -> str:
        source = {"Bucket": row["bucket"], "Key": row["key"], **({"VersionId": row["version"]} if row["version"] else {})}
        if name == "S3PutObjectCopy":
            if args.get("TargetKeyPrefix"):
                raise NotImplementedError("TargetKeyPrefix")
            head = self.s3.head_object(**source)
            if head["ContentLength"] > COPY_LIMIT:
                raise ClientError({"Error": {"Code": "InvalidRequest", "Message": "object larger than 5 GB"},
                                   "ResponseMetadata": {"HTTPStatusCode": 400}}, "CopyObject")
            target = args["TargetResource"].split(":::", 1)[1]
            extra = {k: args[k] for k in ("MetadataDirective", "ChecksumAlgorithm") if k in args}
        elif name == "S3ReplicateObject":
            target, extra = row["destination"], {"MetadataDirective": "COPY"}
        else:
            raise NotImplementedError(name)
        resp = self.s3.copy_object(Bucket=target, Key=row["key"], CopySource=source, **extra)
        return json.dumps({"ETag": resp["CopyObjectResult"]["ETag"]})

    def _report(self, job_id: str, report: dict[str, Any], results: list[list[str]]) -> None:
        bucket = report["Bucket"].split(":::", 1)[1]
        folder = f"{report['Prefix'].rstrip('/')}/job-{job_id}/" if report.get("Prefix") else f"job-{job_id}/"
        entries = []
        for status in ("succeeded", "failed"):
            rows = [r for r in results if r[3] == status]
            if not rows or (status == "succeeded" and report.get("ReportScope") == "FailedTasksOnly"):
                continue
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            body = out.getvalue().encode()
            key = f"{folder}results/{hashlib.sha1(body).hexdigest()}.csv"
            self._put(bucket, key, body)
            entries.append({"TaskExecutionStatus": status, "Bucket": bucket, "Key": key,
                            "MD5Checksum": hashlib.md5(body).hexdigest()})
        top = {"Format": "Report_CSV_20180820", "ReportCreationDate": datetime.now(UTC).isoformat(),
               "Results": entries, "ReportSchema": ", ".join(SCHEMA)}
        self._put(bucket, f"{folder}manifest.json", json.dumps(top).encode())

    def _put(self, bucket: str, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256")


def _rule_for(rules: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    for rule in rules:
        prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
        if rule.get("Status") == "Enabled" and key.startswith(prefix or ""):
            return rule
    return None
