"""``media sync --backfill`` (replicate mode) above the threshold: one S3 Batch Replication job.

The request is validated against botocore's ``s3control`` model and executed by the stand-in
(``tests.support.batch_ops``), which replicates what the bucket's replication configuration
makes eligible, as the AWS documentation describes Batch Replication with a generated manifest.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from deedbox.media import batch
from deedbox.media.sync import sync_media
from deedbox.restore.media import follow_job
from tests.support.batch_ops import BatchOperationsStandIn

SRC = "guild-media-prod"
FILES = {f"uploads/{i:03d}.png": b"p" * (10 + i) for i in range(12)} | {"courses/intro.mp4": b"v" * 500,
                                                                        "other/x.txt": b"x"}


def _source_with_replication(s3, store_bucket):
    s3.create_bucket(Bucket=SRC)
    s3.put_bucket_versioning(Bucket=SRC, VersioningConfiguration={"Status": "Enabled"})
    for key, body in FILES.items():
        s3.put_object(Bucket=SRC, Key=key, Body=body, ContentType="image/png")
    s3.put_bucket_replication(Bucket=SRC, ReplicationConfiguration={
        "Role": "arn:aws:iam::111111111111:role/guild-deedbox-media-replication",
        "Rules": [{"ID": f"media-{name}", "Priority": i + 1, "Status": "Enabled", "Filter": {"Prefix": prefix},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{store_bucket}", "Account": "222222222222"}}
                  for i, (name, prefix) in enumerate([("images", "uploads/"), ("video", "courses/"),
                                                      ("recordings", "recordings/")])]})


def _threshold(config, objects):
    media = replace(config.backups.media, batch_threshold_objects=objects)
    return replace(config, backups=replace(config.backups, media=media))


def test_a_large_backfill_is_one_batch_replication_job(config, store, aws):
    src = aws.client("s3", "us-east-1")
    _source_with_replication(src, store.bucket)
    standin = BatchOperationsStandIn(aws.client("s3", "us-east-1"))
    regions: list[str] = []

    def jobs(region):
        regions.append(region)
        return batch.BatchJobs(standin, "222222222222")

    later = datetime.now(UTC) + timedelta(hours=2)
    record = sync_media(_threshold(config, 10), store, backfill=True, now=later, jobs=jobs)
    assert record["method"] == "batch replication job" and regions == ["us-east-1"]
    assert record["backfill_job"]["objects"] == 13 and not record["ok"]  # missing until the job has run
    assert record["classes"]["images"]["backfill_job"] == record["backfill_job"]["job_id"]
    (request,) = standin.requests
    generator = request["ManifestGenerator"]["S3JobManifestGenerator"]
    assert request["Operation"] == {"S3ReplicateObject": {}}
    assert request["RoleArn"] == "arn:aws:iam::222222222222:role/guild-deedbox-batch-backfill"
    assert generator["SourceBucket"] == f"arn:aws:s3:::{SRC}" and generator["ExpectedBucketOwner"] == "111111111111"
    assert generator["Filter"] == {"EligibleForReplication": True, "ObjectReplicationStatuses": ["NONE", "FAILED"],
                                   "KeyNameConstraint": {"MatchAnyPrefix": ["uploads/", "courses/", "recordings/"]}}
    assert request["Report"]["Prefix"] == "records/media-backfill"

    assert store.get_bytes("uploads/011.png") == FILES["uploads/011.png"]  # the stand-in replicated
    assert not store.exists("other/x.txt")  # not eligible: no rule covers it
    after = sync_media(config, store, now=later + timedelta(seconds=5))
    assert after["ok"] and all(c["missing"] == 0 for c in after["classes"].values())
    check, _ = follow_job(config, store, job_id=record["backfill_job"]["job_id"], jobs=jobs)
    assert check.ok and check.operation == "S3ReplicateObject" and check.expected == check.succeeded == 13


def test_a_small_backfill_is_still_copied_from_the_runner(config, store, aws):
    src = aws.client("s3", "us-east-1")
    _source_with_replication(src, store.bucket)
    standin = BatchOperationsStandIn(aws.client("s3", "us-east-1"))
    later = datetime.now(UTC) + timedelta(hours=2)
    record = sync_media(config, store, backfill=True, now=later, jobs=lambda r: batch.BatchJobs(standin, "2"))
    assert record["ok"] and record["method"] == "server-side copy" and not standin.requests
    assert sum(c["copied"] for c in record["classes"].values()) == 13
