"""``media verify``: a sample per class restored into a temporary directory and compared."""

from __future__ import annotations

import io
import json
import time
from dataclasses import replace

from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.config.model import MediaBackup
from deedbox.media.sync import sync_media
from deedbox.media.verify import verify_media

SRC = "guild-media-prod"
FILES = {f"uploads/{i:02d}.png": f"image {i}".encode() * (i + 1) for i in range(30)} | {
    "courses/intro.mp4": b"v" * 5000, "recordings/live.webm": b"r" * 10}


def _seed(s3):
    s3.create_bucket(Bucket=SRC)
    for key, body in FILES.items():
        s3.put_object(Bucket=SRC, Key=key, Body=body)


def _sync(config):
    return replace(config, backups=replace(config.backups, media=MediaBackup(mode="sync", rpo_hours=24)))


def _verdicts(record, cls):
    return next(c for c in record["classes"] if c["class"] == cls)["counts"]


def test_a_synced_backup_verifies_and_a_deleted_live_object_checks_against_the_record(config, store, aws):
    src = aws.client("s3", "us-east-1")
    _seed(src)
    cfg = _sync(config)
    assert sync_media(cfg, store)["ok"]
    src.delete_object(Bucket=SRC, Key="courses/intro.mp4")
    record = verify_media(cfg, store, sample=10, seed=1)
    assert record["ok"] and record["record_key"].startswith("records/media-verify/")
    assert _verdicts(record, "images") == {"verified": 10}
    assert _verdicts(record, "video") == {"verified": 1}  # the record's source ETag is the MD5 of what was restored
    images = next(c for c in record["classes"] if c["class"] == "images")
    assert images["objects"] == 30 and images["sampled"] == 10


def test_replicated_media_verifies_and_newer_live_objects_are_not_failures(config, store, aws):
    src = aws.client("s3", "us-east-1")
    _seed(src)
    for key, body in FILES.items():
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256")
    time.sleep(1.1)
    src.put_object(Bucket=SRC, Key="recordings/live.webm", Body=b"re-recorded")
    src.delete_object(Bucket=SRC, Key="courses/intro.mp4")
    record = verify_media(config, store, sample=5, seed=2)
    assert record["ok"]
    assert _verdicts(record, "recordings") == {"live-newer": 1} and _verdicts(record, "video") == {"live-missing": 1}


def test_a_backup_copy_that_differs_from_an_older_live_object_is_a_mismatch(config, store, aws,
                                                                            reference_config_path, bucket):
    src = aws.client("s3", "us-east-1")
    _seed(src)
    time.sleep(1.1)
    for key, body in FILES.items():
        store.s3.put_object(Bucket=store.bucket, Key=key, ChecksumAlgorithm="SHA256",
                            Body=b"garbage" if key == "courses/intro.mp4" else body)
    record = verify_media(config, store, media_class="video", sample=5)
    assert not record["ok"] and record["classes"][0]["failing"] == {"mismatch": ["courses/intro.mp4"]}
    done = CliRunner().invoke(app, ["media", "verify", "--config", str(reference_config_path), "--bucket", bucket,
                                    "--class", "video"])
    assert done.exit_code == 1 and "MISMATCH: courses/intro.mp4" in done.stdout and "NOT ok" in done.stdout
    ok = CliRunner().invoke(app, ["media", "verify", "--config", str(reference_config_path), "--bucket", bucket,
                                  "--class", "images", "--sample", "3", "--format", "json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["classes"][0]["counts"] == {"verified": 3}


def test_bytes_that_do_not_hash_to_the_stored_checksum_are_corrupt(config, store, aws):
    src = aws.client("s3", "us-east-1")
    _seed(src)
    for key, body in FILES.items():
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256")

    def flip(http_response, parsed, **_):  # damaged on the way back: S3's stored SHA-256 tells
        if "Body" in parsed and parsed.get("ContentLength", 0) == 5000:
            data = bytearray(parsed["Body"].read())
            data[0] ^= 1
            parsed["Body"] = io.BytesIO(bytes(data))

    store.s3.meta.events.register("after-call.s3.GetObject", flip)
    record = verify_media(config, store, media_class="video")
    assert record["classes"][0]["failing"] == {"corrupt": ["courses/intro.mp4"]} and not record["ok"]
