"""``restore media`` above the threshold: an S3 Batch Operations copy job.

moto runs no Batch Operations, so the request is checked by botocore itself (a stubbed real
``s3control`` client serializes it; the stand-in validates every call against the service model)
and the manifest and the completion report by ``tests.support.batch_ops``, which executes the job
as the AWS documentation describes it. Proven here: the request is one botocore sends, the
manifest (URL-encoded keys, version ids, SSE-S3, written once) run by the stand-in gives the same
live store as the runner's copies, and ``--job`` verifies the report (and catches a bad one).
"""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber
from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.media import batch, report
from deedbox.restore.media import follow_job, restore_media
from tests.restore.test_media import FILES, IMAGES, SRC, assert_live_equals, delete_class, replicate
from tests.support.batch_ops import BatchOperationsStandIn, validate


def _batch(config, objects=1, size=1024 ** 4):
    media = replace(config.backups.media, batch_threshold_objects=objects, batch_threshold_bytes=size)
    return replace(config, backups=replace(config.backups, media=media))


@pytest.fixture
def live(aws):
    from tests.restore.test_media import seed_live

    src = aws.client("s3", "us-east-1")
    seed_live(src)
    return src


@pytest.fixture
def standin(aws):
    return BatchOperationsStandIn(aws.client("s3", "us-east-1"))


def _jobs(standin, seen=None):
    def connect(region):
        if seen is not None:
            seen.append(region)
        return batch.BatchJobs(standin, "222222222222")
    return connect


def test_above_the_threshold_a_copy_job_restores_the_same(config, store, live, standin):
    cfg = _batch(config, objects=3)
    replicate(store, live, FILES)
    delete_class(live, "uploads/")
    plan = restore_media(cfg, store, media_class="images")
    assert plan.method == "batch operations job" and plan.to_restore == 3 and plan.job_id is None
    regions: list[str] = []
    done = restore_media(cfg, store, media_class="images", yes=True, jobs=_jobs(standin, regions))
    assert done.ok and done.job_id and done.copied == 0 and regions == ["us-east-1"]  # the target's Region

    (request,) = standin.requests
    assert request["Operation"] == {"S3PutObjectCopy": {"TargetResource": f"arn:aws:s3:::{SRC}",
                                                        "MetadataDirective": "COPY", "ChecksumAlgorithm": "SHA256"}}
    assert request["RoleArn"] == "arn:aws:iam::222222222222:role/guild-deedbox-batch-restore"
    assert request["AccountId"] == "222222222222" and request["ConfirmationRequired"] is False
    assert request["Report"]["Bucket"] == f"arn:aws:s3:::{store.bucket}"
    location = request["Manifest"]["Location"]
    assert location["ObjectArn"] == f"arn:aws:s3:::{store.bucket}/{done.manifest}"
    head = store.s3.head_object(Bucket=store.bucket, Key=done.manifest, VersionId=location["ObjectVersionId"])
    assert head["ServerSideEncryption"] == "AES256" and head["ETag"].strip('"') == location["ETag"]
    rows = store.get_bytes(done.manifest).decode().splitlines()
    assert len(rows) == 3 and all(r.startswith(f"{store.bucket},uploads/") and r.count(",") == 2 for r in rows)
    assert f"{store.bucket},uploads/b%20c%2Bd%2Ce%25f.png," in "\n".join(rows)  # URL-encoded, never a raw + or ,

    assert_live_equals(live, {k: FILES[k] for k in IMAGES})  # the stand-in ran the manifest
    check, log = follow_job(cfg, store, job_id=done.job_id, jobs=_jobs(standin))
    assert check.ok and (check.expected, check.succeeded, check.failed) == (3, 3, 0), check.problems
    assert json.loads(store.get_bytes(log))["kind"] == "media-job"


def test_the_request_is_one_botocore_serializes(config, store, live):
    cfg = _batch(config)
    replicate(store, live, IMAGES)
    delete_class(live, "uploads/")
    client = boto3.client("s3control", region_name="us-east-1", endpoint_url="https://s3-control.example")
    stub = Stubber(client)
    stub.add_response("create_job", {"JobId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"})
    with stub:
        done = restore_media(cfg, store, media_class="images", yes=True,
                             jobs=lambda region: batch.BatchJobs(client, "222222222222"))
    stub.assert_no_pending_responses()
    assert done.job_id == "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def test_the_stand_in_refuses_what_botocore_refuses():
    request = batch.copy_job_request(
        account="222222222222", manifest_arn="arn:aws:s3:::b/restores/manifests/x.csv", manifest_etag="e",
        manifest_version="v", target_bucket="t", report_bucket="b", role="arn:aws:iam::222222222222:role/r",
        request_token=batch.token("x"), description="d")
    validate("CreateJob", request)
    with pytest.raises(ParamValidationError, match="Priority"):
        validate("CreateJob", {k: v for k, v in request.items() if k != "Priority"})
    with pytest.raises(ParamValidationError, match="ClientRequestToken"):
        validate("CreateJob", {**request, "ClientRequestToken": "x" * 65})
    backfill = batch.replication_job_request(
        account="222222222222", source_bucket="m", source_account="111111111111", prefixes=["uploads/"],
        report_bucket="b", role="arn:aws:iam::222222222222:role/r", request_token=batch.token("y"), description="d")
    validate("CreateJob", backfill)


def test_the_same_manifest_never_makes_two_jobs(config, store, live, standin):
    cfg = _batch(config)
    replicate(store, live, IMAGES)
    delete_class(live, "uploads/")
    done = restore_media(cfg, store, media_class="images", yes=True, jobs=_jobs(standin))
    again = batch.BatchJobs(standin, "222222222222").create(standin.requests[0])  # a retried request
    assert again == done.job_id and len(standin.jobs) == 1


def test_a_failed_task_and_a_tampered_report_fail_verification(config, store, live, aws):
    cfg = _batch(config)
    replicate(store, live, IMAGES)
    delete_class(live, "uploads/")
    standin = BatchOperationsStandIn(aws.client("s3", "us-east-1"), fail={"uploads/a.png": "AccessDenied"})
    done = restore_media(cfg, store, media_class="images", yes=True, jobs=_jobs(standin))
    check, _ = follow_job(cfg, store, job_id=done.job_id, jobs=_jobs(standin))
    assert not check.ok and check.failed == 1 and check.failures == ["uploads/a.png: AccessDenied refused"]
    assert "1 of 3 tasks failed" in check.problems and "2 tasks succeeded, the job was to do 3" in check.problems

    top_key = f"{batch.RESTORE_REPORT_PREFIX}/job-{done.job_id}/manifest.json"
    top = json.loads(store.get_bytes(top_key))
    ok_csv = next(r for r in top["Results"] if r["TaskExecutionStatus"] == "succeeded")
    store.s3.put_object(Bucket=store.bucket, Key=ok_csv["Key"], ChecksumAlgorithm="SHA256",
                        Body=store.get_bytes(ok_csv["Key"]) + f"{store.bucket},uploads/zzz,v1,succeeded,,200,\n".encode())
    forged, _ = follow_job(cfg, store, job_id=done.job_id, jobs=_jobs(standin))
    assert any("its MD5 is not the one" in p for p in forged.problems)


def test_a_report_naming_other_objects_is_caught(config, store, live, standin):
    cfg = _batch(config)
    replicate(store, live, IMAGES)
    delete_class(live, "uploads/")
    done = restore_media(cfg, store, media_class="images", yes=True, jobs=_jobs(standin))
    job = dict(standin.jobs[done.job_id])
    top_key = f"{batch.RESTORE_REPORT_PREFIX}/job-{done.job_id}/manifest.json"
    top = json.loads(store.get_bytes(top_key))
    entry = top["Results"][0]
    text = store.get_bytes(entry["Key"]).decode().replace("uploads/a.png", "uploads/other.png")
    import hashlib

    key = entry["Key"].replace(".csv", "-2.csv")
    store.s3.put_object(Bucket=store.bucket, Key=key, Body=text.encode(), ChecksumAlgorithm="SHA256")
    top["Results"] = [{**entry, "Key": key, "MD5Checksum": hashlib.md5(text.encode()).hexdigest()}]
    job["Report"] = {**job["Report"], "Prefix": "restores/forged"}
    store.s3.put_object(Bucket=store.bucket, Key=f"restores/forged/job-{done.job_id}/manifest.json",
                        Body=json.dumps(top).encode(), ChecksumAlgorithm="SHA256")
    check = report.check_job(store, job)
    assert check.succeeded == 3 and check.problems == [
        "the report's tasks are not the manifest's objects (same count, other keys or versions)"]


def test_large_objects_and_sync_mode_stay_with_the_runner(config, store, live, standin, monkeypatch):
    monkeypatch.setattr(batch, "COPY_JOB_LIMIT", 100)  # a.png (300 bytes) is "over 5 GB" here
    cfg = _batch(config)
    replicate(store, live, IMAGES)
    delete_class(live, "uploads/")
    done = restore_media(cfg, store, media_class="images", yes=True, jobs=_jobs(standin))
    assert done.job_id and done.copied == 1
    assert len(store.get_bytes(done.manifest).decode().splitlines()) == 2
    assert_live_equals(live, {k: FILES[k] for k in IMAGES})

    from tests.restore.test_media import _sync

    synced = _batch(_sync(config))
    synced = replace(synced, backups=replace(synced.backups, media=replace(
        synced.backups.media, batch_threshold_objects=1)))
    from deedbox.media.sync import sync_media

    assert sync_media(synced, store)["ok"]
    delete_class(live, "courses/")
    result = restore_media(synced, store, media_class="video", yes=True, jobs=_jobs(standin))
    assert result.job_id is None and result.copied == 1 and "TargetKeyPrefix" in result.batch_note


def test_cli_submits_and_follows_a_job(reference_config_path, tmp_path, store, bucket, live, standin, monkeypatch):
    text = reference_config_path.read_text()
    assert "    mode: replicate\n    rpo_hours: 24\n" in text
    path = tmp_path / "backup.yaml"
    path.write_text(text.replace("    mode: replicate\n    rpo_hours: 24\n",
                                 "    mode: replicate\n    rpo_hours: 24\n    batch_threshold_objects: 1\n"))
    monkeypatch.setattr(batch.BatchJobs, "connect", classmethod(lambda cls, account, region: cls(standin, account)))
    replicate(store, live, IMAGES)
    delete_class(live, "uploads/")
    runner = CliRunner()
    base = ["restore", "media", "--config", str(path), "--bucket", bucket]
    done = runner.invoke(app, [*base, "--class", "images", "--yes", "--format", "json"])
    assert done.exit_code == 0, done.output
    job_id = json.loads(done.stdout)["job_id"]
    followed = runner.invoke(app, [*base, "--job", job_id])
    assert followed.exit_code == 0, followed.output
    assert f"job {job_id} (S3PutObjectCopy): Complete" in followed.stdout and "verified" in followed.stdout
    assert_live_equals(live, {k: FILES[k] for k in IMAGES})


def test_a_restore_into_another_bucket_stays_with_the_runner(config, store, live, standin):
    """The batch restore role may write only the media bucket (topology/batch.py), so ``--to``
    elsewhere is copied by the runner above the threshold, and the result says why."""
    cfg = _batch(config)
    replicate(store, live, IMAGES)
    live.create_bucket(Bucket="guild-staging")
    done = restore_media(cfg, store, media_class="images", to="guild-staging", yes=True, jobs=_jobs(standin))
    assert done.job_id is None and not standin.requests and done.copied == len(IMAGES)
    assert "--to names another bucket" in (done.batch_note or "") and done.method.startswith("runner")
    assert {o["Key"] for o in live.list_objects_v2(Bucket="guild-staging")["Contents"]} == set(IMAGES)
