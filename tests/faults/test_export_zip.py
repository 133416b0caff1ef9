"""``deedbox export --from-zip`` (a ~8.5 MiB ZIP: a two-part multipart upload) under S3 faults.

Requests of one export, in order: GetBucketVersioning, GetObjectLockConfiguration, ListObjectsV2
(a free folder), HeadObject snapshot.zip (404: nothing there), CreateMultipartUpload
(``POST ?uploads``), 2 x UploadPart (``PUT ?partNumber&uploadId``), CompleteMultipartUpload
(``POST ?uploadId``, ``If-None-Match: *``), 2 x HeadObject snapshot.zip (what S3 stored),
HeadObject manifest.json (404), PutObject manifest.json (``If-None-Match: *``).
"""

from __future__ import annotations

import pytest

from tests.faults.helpers import assert_clean_failure, cli, json_out, keys, manifests, open_uploads

SNAPSHOT = r"/snapshot\.zip$"
MANIFEST = r"/manifest\.json$"


def export(config, bucket, zip_path):
    return cli("export", "--config", config.path, "--from-zip", zip_path, "--bucket", bucket,
               "--format", "json")


def verify_read_data(config, bucket):
    return cli("verify", "--config", config.path, "--bucket", bucket, "--read-data", "--format", "json")


TRANSIENT = {
    "503 SlowDown on 2 UploadParts": dict(kind="status", method="PUT", query="partNumber", status=503, times=2),
    "500 on CreateMultipartUpload": dict(kind="status", method="POST", query="uploads", status=500),
    "reset on 2 UploadParts": dict(kind="reset", method="PUT", query="partNumber", times=2),
    "500 on CompleteMultipartUpload": dict(kind="status", method="POST", query="uploadId", status=500),
    "503 on 2 HeadObject after the upload": dict(kind="status", method="HEAD", path=SNAPSHOT, status=503,
                                                 skip=1, times=2),
    "reset on the manifest PutObject": dict(kind="reset", method="PUT", path=MANIFEST),
    "0.3 s delay on every UploadPart": dict(kind="delay", method="PUT", query="partNumber", times=None,
                                            seconds_delay=0.3),
    # the server acted, the answer was lost: the retry repeats an UploadPart (idempotent) or a
    # CompleteMultipartUpload (moto answers the repeat 200; real S3 documents retrying it as safe)
    "reset after an UploadPart was stored": dict(kind="reset", method="PUT", query="partNumber", forward=True),
    "reset after CompleteMultipartUpload was done": dict(kind="reset", method="POST", query="uploadId",
                                                         forward=True),
    "CompleteMultipartUpload answer cut": dict(kind="truncate", method="POST", query="uploadId"),
}


@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_fault_is_retried_and_the_snapshot_verifies(fault, config, bucket, s3, s3_proxy, big_zip):
    fault = dict(fault)
    rule = s3_proxy.inject(fault.pop("kind"), **fault)
    res = export(config, bucket, big_zip)
    assert res.exit_code == 0, res.output
    out = json_out(res)
    assert out["size"] == big_zip.stat().st_size
    assert rule.injected == (rule.times or rule.matched), s3_proxy.injected()
    assert open_uploads(s3, bucket) == []
    s3_proxy.clear()
    checked = verify_read_data(config, bucket)
    assert checked.exit_code == 0, checked.output
    assert json_out(checked)["ok"] is True and json_out(checked)["snapshot"] + "manifest.json" == out["manifest"]


PERSISTENT = {
    "503 SlowDown on every UploadPart": dict(kind="status", method="PUT", query="partNumber", status=503),
    "reset on every UploadPart": dict(kind="reset", method="PUT", query="partNumber"),
    "500 on every CreateMultipartUpload": dict(kind="status", method="POST", query="uploads", status=500),
    "500 on every CompleteMultipartUpload": dict(kind="status", method="POST", query="uploadId", status=500),
}


@pytest.mark.parametrize("fault", PERSISTENT.values(), ids=PERSISTENT.keys())
def test_persistent_upload_fault_stores_nothing_and_leaves_no_upload(fault, config, bucket, s3, s3_proxy,
                                                                    big_zip):
    fault = dict(fault)
    rule = s3_proxy.inject(fault.pop("kind"), times=None, **fault)
    res = export(config, bucket, big_zip)
    assert_clean_failure(res, 2, match=r"s3://guild-backups/backend/.*/snapshot\.zip")
    assert rule.injected >= 6  # every attempt botocore made (1 + 5 retries) was faulted
    assert manifests(s3, bucket) == [] and keys(s3, bucket) == []
    assert open_uploads(s3, bucket) == []  # s3transfer aborted it


def test_persistent_fault_on_the_stored_object_check_writes_no_manifest(config, bucket, s3, s3_proxy, big_zip):
    """The data is stored but S3 cannot confirm it: no manifest (the folder stays incomplete)."""
    s3_proxy.inject("status", method="HEAD", path=SNAPSHOT, status=503, skip=1, times=None)
    res = export(config, bucket, big_zip)
    assert_clean_failure(res, 2, match="snapshot.zip")
    assert manifests(s3, bucket) == [] and open_uploads(s3, bucket) == []
    assert [k.rsplit("/", 1)[1] for k in keys(s3, bucket)] == ["snapshot.zip"]
    s3_proxy.clear()
    latest = verify_read_data(config, bucket)  # an incomplete folder is never "latest"
    assert_clean_failure(latest, 1, match="no complete snapshot")


def test_persistent_fault_on_the_manifest_write_leaves_an_incomplete_folder(config, bucket, s3, s3_proxy,
                                                                           big_zip):
    s3_proxy.inject("status", method="PUT", path=MANIFEST, status=500, times=None)
    res = export(config, bucket, big_zip)
    assert_clean_failure(res, 2, match="manifest.json: InternalError")
    assert manifests(s3, bucket) == [] and open_uploads(s3, bucket) == []




def test_a_lost_answer_to_the_manifest_write_is_not_a_failure(config, bucket, s3, s3_proxy, big_zip):
    s3_proxy.inject("reset", method="PUT", path=MANIFEST, forward=True)
    res = export(config, bucket, big_zip)
    assert len(manifests(s3, bucket)) == 1  # today too: the snapshot is complete
    s3_proxy.clear()
    assert verify_read_data(config, bucket).exit_code == 0
    assert res.exit_code == 0, res.output
