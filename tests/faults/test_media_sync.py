"""``deedbox media sync`` (sync mode) under S3 faults.

Server-side path (source and backup bucket behind the same endpoint, here the proxy): ListObjectsV2
``records/media-sync/`` (the last run's index), then per class ListObjectsV2 of the source
(``/guild-media-prod?list-type``) and of ``media/<class>/``, one CopyObject (``PUT
/guild-backups/media/...``, ``x-amz-copy-source``) per new object, then HeadObject + PutObject of
the run record ``records/media-sync/<ts>.json``. Streamed path (another S3 API): GetObject from
the source endpoint, PutObject into the bucket, the bytes' MD5 checked against the source ETag.
"""

from __future__ import annotations

import json

import pytest

from tests.faults.helpers import assert_clean_failure, cli, config_file, json_out, keys
from tests.support.fault_proxy import FaultProxy

SRC = "guild-media-prod"
FILES = {"uploads/a.png": b"png" * 100, "uploads/b.png": b"b" * 7, "courses/intro.mp4": b"v" * 5000,
         "recordings/2026/live.webm": b"r" * 10}
COPIED = {f"media/{cls}/{key}" for key, cls in zip(FILES, ["images", "images", "video", "recordings"], strict=True)}
COPY = r"^/guild-backups/media/"
RECORD = r"^/guild-backups/records/media-sync/"


def seed(client) -> None:
    client.create_bucket(Bucket=SRC)
    for key, body in FILES.items():
        client.put_object(Bucket=SRC, Key=key, Body=body, ContentType="image/png")


@pytest.fixture
def sync_config(aws, tmp_path, reference_config_path):
    seed(aws.client("s3", "us-east-1"))
    return config_file(tmp_path, reference_config_path,
                       media_mode="    mode: sync\n    schedule: rate(1 hour)\n")


def sync(cfg, bucket):
    return cli("media", "sync", "--config", cfg, "--bucket", bucket, "--format", "json")


def records(s3, bucket) -> list[dict]:
    return [json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
            for k in keys(s3, bucket, "records/media-sync/")]


def assert_all_copied(s3, bucket) -> None:
    assert set(keys(s3, bucket, "media/")) == COPIED
    for key, body in FILES.items():
        dest = next(k for k in COPIED if k.endswith("/" + key))
        assert s3.get_object(Bucket=bucket, Key=dest)["Body"].read() == body


TRANSIENT = {
    "503 SlowDown on 2 CopyObjects": dict(kind="status", method="PUT", path=COPY, status=503, times=2),
    "reset after CopyObject was done (lost answer)": dict(kind="reset", method="PUT", path=COPY, forward=True),
    "reset on the source listing": dict(kind="reset", method="GET", path=f"^/{SRC}", query="list-type"),
    "500 on the record PutObject": dict(kind="status", method="PUT", path=RECORD, status=500),
}


@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_fault_is_retried_and_everything_is_copied(fault, sync_config, bucket, s3, s3_proxy):
    fault = dict(fault)
    rule = s3_proxy.inject(fault.pop("kind"), **fault)
    res = sync(sync_config, bucket)
    assert res.exit_code == 0, res.output
    out = json_out(res)
    assert out["ok"] and out["error_count"] == 0 and sum(c["copied"] for c in out["classes"].values()) == 4
    assert rule.injected == rule.times
    assert_all_copied(s3, bucket)
    [record] = records(s3, bucket)
    assert record["ok"] and set(record["index"]) == COPIED


def test_persistent_fault_on_one_copy_is_recorded_not_indexed_and_repaired(sync_config, bucket, s3, s3_proxy):
    """One object keeps failing: the run says so (exit 1, record ok=false naming it) and never
    indexes it as copied; the next run, with S3 healthy again, copies just that one."""
    s3_proxy.inject("status", method="PUT", path=COPY + r"images/uploads/b\.png$", status=500, times=None)
    res = sync(sync_config, bucket)
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    out = json_out(res)
    assert not out["ok"] and out["error_count"] == 1 and out["errors"][0].startswith("uploads/b.png: ")
    assert "InternalError" in out["errors"][0]
    [record] = records(s3, bucket)
    assert not record["ok"] and "media/images/uploads/b.png" not in record["index"]
    assert set(record["index"]) == COPIED - {"media/images/uploads/b.png"}
    s3_proxy.clear()
    again = sync(sync_config, bucket)
    assert again.exit_code == 0, again.output
    assert {k: c["copied"] for k, c in json_out(again)["classes"].items()} == {"images": 1, "video": 0, "recordings": 0}
    assert_all_copied(s3, bucket)


@pytest.mark.parametrize("what", ["source listing", "destination listing"])
def test_persistent_listing_fault_is_one_line_and_writes_no_record(what, sync_config, bucket, s3, s3_proxy):
    path = f"^/{SRC}$" if what == "source listing" else "^/guild-backups$"
    rule = s3_proxy.inject("status", method="GET", path=path, query="list-type", status=503, times=None,
                           skip=0 if what == "source listing" else 1)  # skip: the records listing
    res = sync(sync_config, bucket)
    assert_clean_failure(res, 2, match="SlowDown")
    assert rule.injected == 6
    assert keys(s3, bucket, "records/") == []


def test_persistent_fault_on_the_record_is_one_line_and_the_next_run_catches_up(sync_config, bucket, s3, s3_proxy):
    s3_proxy.inject("status", method="PUT", path=RECORD, status=503, times=None)
    res = sync(sync_config, bucket)
    assert_clean_failure(res, 2, match="records/media-sync/.*SlowDown")
    assert keys(s3, bucket, "records/") == []  # no record claims a run that is not on record
    s3_proxy.clear()
    again = sync(sync_config, bucket)
    assert again.exit_code == 0 and json_out(again)["ok"], again.output
    assert_all_copied(s3, bucket)


@pytest.fixture
def streamed(aws, other_endpoint, tmp_path, reference_config_path, monkeypatch):
    """Sync from another S3 API (a separate moto process) through its own fault proxy."""
    other_endpoint.reset()
    seed(other_endpoint.client("s3", "us-east-1"))
    monkeypatch.setenv("R2_KEY_ID", "testing")
    monkeypatch.setenv("R2_SECRET", "testing")
    with FaultProxy(other_endpoint.url) as proxy:
        text = ("    mode: sync\n    schedule: rate(1 hour)\n")
        cfg = config_file(tmp_path, reference_config_path, media_mode=text, **{
            "    bucket: guild-media-prod\n": f"    bucket: guild-media-prod\n    endpoint_url: {proxy.url}\n"
                                             "    access_key_id: {env: R2_KEY_ID}\n"
                                             "    secret_access_key: {env: R2_SECRET}\n",
            "    take_over_replication: true": "    region: us-east-1"})
        yield cfg, proxy


@pytest.mark.parametrize("times", [1, None], ids=["once", "every time"])
def test_a_truncated_source_body_is_never_stored(times, streamed, bucket, s3, s3_proxy):
    cfg, source = streamed
    source.inject("truncate", method="GET", path=r"^/guild-media-prod/courses/intro\.mp4$", times=times)
    res = sync(cfg, bucket)
    assert res.exit_code == 1, res.output
    out = json_out(res)
    assert out["method"] == "streamed" and out["error_count"] == 1 and out["errors"][0].startswith("courses/intro.mp4")
    assert "media/video/courses/intro.mp4" not in keys(s3, bucket, "media/")
    source.clear()
    again = sync(cfg, bucket)
    assert again.exit_code == 0, again.output
    assert_all_copied(s3, bucket)
