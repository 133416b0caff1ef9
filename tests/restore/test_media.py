"""``restore media`` over moto HTTP: a class deleted from the live store comes back, byte for byte,
with its content type and user metadata; ``--as-of`` picks older versions; newer live objects are
kept unless asked; sync mode (``media/<class>/``) and a streamed ``endpoint_url`` store too."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.config.model import EnvRef, MediaBackup
from deedbox.errors import UsageError
from deedbox.media.sync import Source, sync_media
from deedbox.restore.media import restore_media

SRC = "guild-media-prod"
FILES = {
    "uploads/a.png": (b"png" * 100, "image/png", {"owner": "u1"}),
    "uploads/b c+d,e%f.png": (b"odd key", "image/png", {"owner": "u2", "alt": "a cat"}),
    "uploads/ünï/çödé.jpg": (b"\xff\xd8" + b"j" * 50, "image/jpeg", {}),
    "courses/intro.mp4": (b"v" * 5000, "video/mp4", {"course": "welcome"}),
    "recordings/2026/live.webm": (b"r" * 10, "video/webm", {}),
}
IMAGES = [k for k in FILES if k.startswith("uploads/")]


def seed_live(s3, files=FILES):
    s3.create_bucket(Bucket=SRC)
    for key, (body, ctype, meta) in files.items():
        s3.put_object(Bucket=SRC, Key=key, Body=body, ContentType=ctype, Metadata=meta)


def replicate(store, src, keys):
    """What S3 replication leaves in the backup bucket: the source key, bytes, type, metadata."""
    for key in keys:
        obj = src.get_object(Bucket=SRC, Key=key)
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=obj["Body"].read(), ContentType=obj["ContentType"],
                            Metadata=obj["Metadata"], ChecksumAlgorithm="SHA256")


def delete_class(src, prefix):
    for page in src.get_paginator("list_objects_v2").paginate(Bucket=SRC, Prefix=prefix):
        for obj in page.get("Contents", ()):
            src.delete_object(Bucket=SRC, Key=obj["Key"])


def assert_live_equals(src, files):
    for key, (body, ctype, meta) in files.items():
        got = src.get_object(Bucket=SRC, Key=key)
        assert got["Body"].read() == body, key
        assert got["ContentType"] == ctype, key
        assert got["Metadata"] == meta, key


def _sync(config, **media_kw):
    media = replace(config.source.media, **media_kw)
    return replace(config, source=replace(config.source, media=media),
                   backups=replace(config.backups, media=MediaBackup(mode="sync", rpo_hours=24)))


@pytest.fixture
def live(aws):
    src = aws.client("s3", "us-east-1")
    seed_live(src)
    return src


def test_a_deleted_class_comes_back_identical(config, store, live):
    replicate(store, live, FILES)
    delete_class(live, "uploads/")
    before = {o.key for o in store.list("")}
    plan = restore_media(config, store, media_class="images")
    assert not plan.applied and plan.counts == {"missing": 3, "older": 0, "newer": 0, "same": 0}
    assert plan.to_restore == 3 and plan.bytes == sum(len(FILES[k][0]) for k in IMAGES)
    assert sorted(plan.sample["missing"]) == sorted(IMAGES) and plan.method == "runner (server-side copy)"
    assert {o.key for o in store.list("")} == before  # a dry run writes nothing
    assert "Contents" not in live.list_objects_v2(Bucket=SRC, Prefix="uploads/")

    done = restore_media(config, store, media_class="images", yes=True)
    assert done.ok and done.copied == 3 and done.log_key.startswith("restores/")
    assert_live_equals(live, {k: FILES[k] for k in IMAGES})
    log = json.loads(store.get_bytes(done.log_key))
    assert log["kind"] == "media" and log["class"] == "images" and sorted(log["index"]) == sorted(IMAGES)

    again = restore_media(config, store, media_class="images", yes=True)
    assert again.counts["same"] == 3 and again.to_restore == 0 and again.log_key is None


def test_as_of_brings_back_the_older_version_of_an_overwritten_object(config, store, live):
    replicate(store, live, ["uploads/a.png"])
    first = store.s3.head_object(Bucket=store.bucket, Key="uploads/a.png")["LastModified"]
    time.sleep(1.1)  # S3 times are whole seconds
    live.put_object(Bucket=SRC, Key="uploads/a.png", Body=b"defaced", ContentType="image/png")
    replicate(store, live, ["uploads/a.png"])  # replication took the bad version too

    now = restore_media(config, store, media_class="images", prefix="uploads/a.png")
    assert now.counts["same"] == 1 and now.to_restore == 0
    kept = restore_media(config, store, media_class="images", prefix="uploads/a.png", as_of=first, yes=True)
    assert kept.counts["newer"] == 1 and kept.to_restore == 0  # never overwritten without being asked
    assert live.get_object(Bucket=SRC, Key="uploads/a.png")["Body"].read() == b"defaced"
    back = restore_media(config, store, media_class="images", prefix="uploads/a.png", as_of=first,
                         overwrite_newer=True, yes=True)
    assert back.copied == 1
    got = live.get_object(Bucket=SRC, Key="uploads/a.png")
    assert got["Body"].read() == FILES["uploads/a.png"][0] and got["Metadata"] == {"owner": "u1"}


def test_an_older_live_object_is_replaced_and_a_key_deleted_before_as_of_is_not_restored(config, store, live):
    live.put_object(Bucket=SRC, Key="uploads/a.png", Body=b"stale", ContentType="image/png")
    time.sleep(1.1)
    replicate(store, live, ["uploads/b c+d,e%f.png"])
    store.s3.put_object(Bucket=store.bucket, Key="uploads/a.png", Body=FILES["uploads/a.png"][0],
                        ContentType="image/png", Metadata={"owner": "u1"}, ChecksumAlgorithm="SHA256")
    store.s3.delete_object(Bucket=store.bucket, Key="uploads/b c+d,e%f.png")  # a delete marker in the backup
    delete_class(live, "uploads/b")
    result = restore_media(config, store, media_class="images", yes=True)
    assert result.counts["older"] == 1 and result.counts["missing"] == 0  # b: its newest entry is a marker
    assert live.get_object(Bucket=SRC, Key="uploads/a.png")["Body"].read() == FILES["uploads/a.png"][0]


def test_keys_only_live_are_never_touched(config, store, live):
    replicate(store, live, ["uploads/a.png"])
    result = restore_media(config, store, media_class="images", yes=True)
    assert result.counts == {"missing": 0, "older": 0, "newer": 0, "same": 1}
    assert len(live.list_objects_v2(Bucket=SRC, Prefix="uploads/")["Contents"]) == 3


def test_to_restores_into_another_bucket(config, store, live):
    replicate(store, live, IMAGES)
    live.create_bucket(Bucket="guild-media-staging")
    result = restore_media(config, store, media_class="images", to="guild-media-staging", yes=True)
    assert result.copied == 3 and result.target == "guild-media-staging"
    for key in IMAGES:
        assert live.get_object(Bucket="guild-media-staging", Key=key)["Body"].read() == FILES[key][0]


def test_sync_mode_restores_from_media_class_prefix(config, store, live):
    cfg = _sync(config)
    assert sync_media(cfg, store)["ok"]
    delete_class(live, "courses/")
    result = restore_media(cfg, store, media_class="video", yes=True)
    assert result.copied == 1 and result.counts["missing"] == 1
    assert_live_equals(live, {"courses/intro.mp4": FILES["courses/intro.mp4"]})


def test_streamed_restore_into_another_s3_api(config, store, aws, other_endpoint, monkeypatch):
    other_endpoint.reset()
    src = other_endpoint.client("s3", "us-east-1")
    seed_live(src)
    monkeypatch.setenv("R2_KEY_ID", "testing")
    monkeypatch.setenv("R2_SECRET", "testing")
    cfg = _sync(config, endpoint_url=other_endpoint.url, access_key_id=EnvRef("R2_KEY_ID"),
                secret_access_key=EnvRef("R2_SECRET"))
    assert sync_media(cfg, store)["ok"]  # streamed copies carry source-etag metadata in the backup
    delete_class(src, "uploads/")
    result = restore_media(cfg, store, media_class="images", yes=True)
    assert result.method == "runner (streamed)" and result.copied == 3, result.errors
    assert_live_equals(src, {k: FILES[k] for k in IMAGES})  # source-etag is not put back


def test_a_streamed_restore_refuses_an_object_written_meanwhile(config, store, aws, other_endpoint, monkeypatch):
    other_endpoint.reset()
    src = other_endpoint.client("s3", "us-east-1")
    seed_live(src)
    monkeypatch.setenv("R2_KEY_ID", "testing")
    monkeypatch.setenv("R2_SECRET", "testing")
    cfg = _sync(config, endpoint_url=other_endpoint.url, access_key_id=EnvRef("R2_KEY_ID"),
                secret_access_key=EnvRef("R2_SECRET"))
    assert sync_media(cfg, store)["ok"]
    delete_class(src, "uploads/")
    source = Source(cfg)

    def meanwhile(params, **_):  # someone uploads a new a.png between the plan and the copy
        if params["url_path"].endswith("/uploads/a.png") and params["headers"].get("If-None-Match") == "*":
            src.put_object(Bucket=SRC, Key="uploads/a.png", Body=b"new upload")

    source.client.meta.events.register("before-call.s3.PutObject", meanwhile)
    result = restore_media(cfg, store, media_class="images", yes=True, source=source)
    assert result.copied == 2 and result.error_count == 1 and "PreconditionFailed" in result.errors[0]
    assert src.get_object(Bucket=SRC, Key="uploads/a.png")["Body"].read() == b"new upload"


def test_usage_errors(config, store, live):
    with pytest.raises(UsageError, match="no media class 'avatars'.*images, recordings, video"):
        restore_media(config, store, media_class="avatars")
    with pytest.raises(UsageError, match="--prefix 'courses/' is outside class 'images'"):
        restore_media(config, store, media_class="images", prefix="courses/")


def test_cli_restore_media(reference_config_path, store, bucket, live):
    replicate(store, live, FILES)
    delete_class(live, "uploads/")
    runner = CliRunner()
    base = ["restore", "media", "--config", str(reference_config_path), "--bucket", bucket]
    dry = runner.invoke(app, [*base, "--class", "images", "--format", "json"])
    assert dry.exit_code == 0, dry.output
    doc = json.loads(dry.stdout)
    assert doc["applied"] is False and doc["to_restore"] == 3 and doc["ok"] is True
    text = runner.invoke(app, [*base, "--class", "images"])
    assert "missing 3, older 0" in text.stdout and "run again with --yes" in text.stdout
    done = runner.invoke(app, [*base, "--class", "images", "--yes", "--as-of", datetime.now(UTC).isoformat()])
    assert done.exit_code == 0, done.output
    assert "copied 3 from the runner" in done.stdout and "logged: restores/" in done.stdout
    for args, message in ((["--class", "images", "--as-of", "2026-11-27T03:00:00"], "has no time zone"),
                          (["--class", "images", "--as-of", "yesterday"], "is not an ISO 8601 time"),
                          ([], "give --class")):
        bad = runner.invoke(app, [*base, *args])
        assert bad.exit_code == 2 and message in bad.stderr, bad.output
