"""media sync over moto HTTP: server-side copy, streamed copy from a second S3 endpoint, replicate."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from deedbox.bucket.client import ObjectInfo
from deedbox.cli import app
from deedbox.config.model import EnvRef, MediaBackup
from deedbox.media.plan import SourceObject, plan_class
from deedbox.media.sync import sync_media

SRC = "guild-media-prod"
FILES = {"uploads/a.png": b"png" * 100, "uploads/b.png": b"b", "courses/intro.mp4": b"v" * 5000,
         "recordings/2026/live.webm": b"r" * 10, "other/ignored.txt": b"x"}


def _seed(s3, bucket=SRC, region="us-east-1", files=FILES):
    s3.create_bucket(Bucket=bucket)
    for key, body in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/png", Metadata={"owner": "u1"})


def _sync_config(config, **media_kw):
    media = replace(config.source.media, **media_kw)
    return replace(config, source=replace(config.source, media=media),
                   backups=replace(config.backups, media=MediaBackup(mode="sync", rpo_hours=24)))


def test_server_side_sync_first_noop_changed(config, store, aws):
    src = aws.client("s3", "us-east-1")
    _seed(src)
    cfg = _sync_config(config)
    first = sync_media(cfg, store)
    assert first["ok"] and first["method"] == "server-side copy"
    assert {k: c["copied"] for k, c in first["classes"].items()} == {"images": 2, "video": 1, "recordings": 1}
    head = store.s3.head_object(Bucket=store.bucket, Key="media/images/uploads/a.png")
    assert head["Metadata"] == {"owner": "u1"}  # MetadataDirective=COPY: kept by S3, nothing added
    assert head["ContentType"] == "image/png"
    src_etag = src.head_object(Bucket=SRC, Key="uploads/a.png")["ETag"].strip('"')
    assert first["index"]["media/images/uploads/a.png"] == [src_etag, head["ETag"].strip('"')]
    assert store.get_bytes("media/video/courses/intro.mp4") == FILES["courses/intro.mp4"]

    again = sync_media(cfg, store)
    assert sum(c["copied"] for c in again["classes"].values()) == 0
    assert again["classes"]["images"]["up_to_date"] == 2

    src.put_object(Bucket=SRC, Key="uploads/b.png", Body=b"B")  # same size, new content
    src.delete_object(Bucket=SRC, Key="courses/intro.mp4")
    third = sync_media(cfg, store)
    assert third["classes"]["images"]["copied"] == 1 and third["classes"]["video"]["source"] == 0
    assert store.get_bytes("media/images/uploads/b.png") == b"B"
    assert store.exists("media/video/courses/intro.mp4")  # never deleted in the destination


def test_streamed_sync_from_other_endpoint(config, store, aws, other_endpoint, monkeypatch):
    other_endpoint.reset()
    _seed(other_endpoint.client("s3", "us-east-1"))
    monkeypatch.setenv("R2_KEY_ID", "testing")
    monkeypatch.setenv("R2_SECRET", "testing")
    cfg = _sync_config(config, endpoint_url=other_endpoint.url, access_key_id=EnvRef("R2_KEY_ID"),
                       secret_access_key=EnvRef("R2_SECRET"))
    first = sync_media(cfg, store)
    assert first["ok"] and first["method"] == "streamed"
    assert sum(c["copied"] for c in first["classes"].values()) == 4
    assert store.get_bytes("media/images/uploads/a.png") == FILES["uploads/a.png"]
    again = sync_media(cfg, store)
    assert sum(c["copied"] for c in again["classes"].values()) == 0
    other_endpoint.client("s3", "us-east-1").put_object(Bucket=SRC, Key="uploads/a.png", Body=b"new")
    third = sync_media(cfg, store)
    assert third["classes"]["images"]["copied"] == 1
    assert store.get_bytes("media/images/uploads/a.png") == b"new"


def test_missing_credentials_env_is_named(config, store, other_endpoint, monkeypatch):
    monkeypatch.delenv("R2_KEY_ID", raising=False)
    cfg = _sync_config(config, endpoint_url=other_endpoint.url, access_key_id=EnvRef("R2_KEY_ID"))
    from deedbox.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem, match="R2_KEY_ID"):
        sync_media(cfg, store)


def test_replicate_mode_reports_and_backfills(config, store, aws):
    src = aws.client("s3", "us-east-1")
    _seed(src)
    store.s3.put_object(Bucket=store.bucket, Key="uploads/a.png", Body=FILES["uploads/a.png"],
                        ChecksumAlgorithm="SHA256")  # what replication would have done for one object
    later = datetime.now(UTC) + timedelta(hours=2)
    report = sync_media(config, store, now=later)
    assert not report["ok"]
    assert report["classes"]["images"]["missing"] == 1 and report["classes"]["images"]["up_to_date"] == 1
    assert "NONE" in report["classes"]["images"]["replication_status_sample"]  # moto never replicates
    fixed = sync_media(config, store, backfill=True, now=later + timedelta(seconds=5))
    assert fixed["ok"] and fixed["classes"]["images"]["copied"] == 1
    assert store.get_bytes("uploads/b.png") == b"b"
    assert sync_media(config, store, now=later + timedelta(seconds=10))["ok"]


def test_plan_uses_index_then_metadata():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    objs = [SourceObject("images", "uploads/a", 3, "e1"), SourceObject("images", "uploads/b", 3, "e2"),
            SourceObject("images", "uploads/c", 3, "e3"), SourceObject("images", "uploads/d", 3, "e4")]
    dest = {"media/images/uploads/a": ObjectInfo("", 3, t, "d1"), "media/images/uploads/b": ObjectInfo("", 3, t, "d2"),
            "media/images/uploads/c": ObjectInfo("", 4, t, "d3")}
    index = {"media/images/uploads/a": ["e1", "d1"], "media/images/uploads/b": ["old", "d2"]}
    plan = plan_class("images", "sync", objs, dest, index)
    assert [o.key for o, _ in plan.up_to_date] == ["uploads/a"]
    assert [o.key for o, _ in plan.check] == ["uploads/b"]
    assert sorted(o.key for o, _ in plan.copy) == ["uploads/c", "uploads/d"]


def test_cli_media_sync(config, bucket, aws, tmp_path, reference_config_path):
    _seed(aws.client("s3", "us-east-1"))
    text = reference_config_path.read_text()
    assert "    mode: replicate\n" in text
    path = tmp_path / "backup.yaml"
    path.write_text(text.replace("    mode: replicate\n", "    mode: sync\n    schedule: rate(1 hour)\n"))
    res = CliRunner().invoke(app, ["media", "sync", "--config", str(path), "--bucket", bucket, "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] and out["record_key"].startswith("records/media-sync/") and "index" not in out


def test_corruption_in_transit_is_caught(config, store, aws, other_endpoint, monkeypatch):
    """Streamed path: bytes that do not hash to the source ETag are never stored as a copy."""
    import io

    from deedbox.media.sync import Source

    other_endpoint.reset()
    _seed(other_endpoint.client("s3", "us-east-1"))
    cfg = _sync_config(config, endpoint_url=other_endpoint.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    source = Source(cfg)

    def flip(http_response, parsed, **_):  # a bit flipped on the wire, after S3 sent it
        if "Body" in parsed and parsed.get("ContentLength", 0) > 1000:
            data = bytearray(parsed["Body"].read())
            data[0] ^= 1
            parsed["Body"] = io.BytesIO(bytes(data))

    source.client.meta.events.register("after-call.s3.GetObject", flip)
    record = sync_media(cfg, store, source=source)
    assert not record["ok"] and record["error_count"] == 1  # only intro.mp4 (5000 B) is tampered with
    assert any("do not match the source ETag" in e for e in record["errors"])
    assert not store.exists("media/video/courses/intro.mp4")


def test_source_changed_during_sync_is_not_copied_blindly(config, store, aws):
    """Server-side path: the copy is pinned to the listed ETag; a change in between is an error."""
    from deedbox.media.sync import Source

    src = aws.client("s3", "us-east-1")
    _seed(src)
    cfg = _sync_config(config)
    source = Source(cfg)

    pinned = []

    def change(params, **_):  # the source changes between the listing and the copy
        if params.get("Key") == "media/images/uploads/b.png":
            src.put_object(Bucket=SRC, Key="uploads/b.png", Body=b"changed meanwhile")

    def s3_precondition(request, **_):
        """moto 5 ignores ``x-amz-copy-source-if-match``; answer as S3 documents it (412)."""
        from urllib.parse import unquote

        from botocore.exceptions import ClientError

        want = request.headers["x-amz-copy-source-if-match"]
        want = want.decode() if isinstance(want, bytes) else want
        source_key = unquote(str(request.headers["x-amz-copy-source"], "utf-8")
                             if isinstance(request.headers["x-amz-copy-source"], bytes)
                             else request.headers["x-amz-copy-source"]).split("/", 1)[1]
        pinned.append(source_key)
        if src.head_object(Bucket=SRC, Key=source_key)["ETag"] != want:
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "At least one of the "
                                         "pre-conditions you specified did not hold"}}, "CopyObject")

    store.s3.meta.events.register("before-parameter-build.s3.CopyObject", change)
    store.s3.meta.events.register("before-send.s3.CopyObject", s3_precondition)
    record = sync_media(cfg, store, source=source)
    assert sorted(pinned) == sorted(k for k in FILES if not k.startswith("other/"))  # every copy pinned
    assert record["error_count"] == 1 and "uploads/b.png" in record["errors"][0]
    assert not store.exists("media/images/uploads/b.png")
    store.s3.meta.events.unregister("before-parameter-build.s3.CopyObject", change)
    store.s3.meta.events.unregister("before-send.s3.CopyObject", s3_precondition)
    assert sync_media(cfg, store, source=source)["ok"]  # the next run copies the new version
    assert store.get_bytes("media/images/uploads/b.png") == b"changed meanwhile"
