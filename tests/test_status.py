"""status over moto: stale until each class has fresh evidence; incomplete snapshots ignored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from deedbox.backend.export import export_snapshot
from deedbox.bucket.records import write_record
from deedbox.cli import app
from deedbox.status import assess, collect


def test_assess_is_pure():
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert assess("backend", now - timedelta(hours=5), 6, now).fresh
    stale = assess("backend", now - timedelta(hours=7), 6, now)
    assert not stale.fresh and stale.age_hours == 7.0
    assert not assess("media", None, 24, now).fresh


def test_status_classes(config, store, small_zip):
    now = datetime.now(UTC)
    rows = {r.data_class: r for r in collect(config, store, now)}
    assert set(rows) == {"backend", "media", "secrets"} and not any(r.fresh for r in rows.values())

    export_snapshot(config, store, from_zip=small_zip, reason="scheduled", now=now - timedelta(hours=7))
    store.put_new("backend/happy-otter-123/29990101T000000Z-manual/snapshot.zip", b"partial")
    write_record(store, "media-sync", {"ok": True, "mode": "replicate"}, now - timedelta(hours=1))
    write_record(store, "secrets-verify", {"ok": False}, now)
    rows = {r.data_class: r for r in collect(config, store, now)}
    assert not rows["backend"].fresh and "1 newer incomplete" in rows["backend"].detail
    assert rows["media"].fresh
    assert not rows["secrets"].fresh and rows["secrets"].newest is None

    export_snapshot(config, store, from_zip=small_zip, reason="scheduled", now=now - timedelta(hours=1))
    write_record(store, "secrets-verify", {"ok": True}, now + timedelta(seconds=1))
    assert all(r.fresh for r in collect(config, store, now + timedelta(seconds=2)))


def test_cli_status_exit_codes(config, store, small_zip, reference_config_path):
    args = ["status", "--config", str(reference_config_path), "--bucket", store.bucket, "--format", "json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1 and json.loads(res.stdout)["fresh"] is False
    export_snapshot(config, store, from_zip=small_zip, reason="scheduled")
    write_record(store, "media-sync", {"ok": True})
    write_record(store, "secrets-verify", {"ok": True})
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    text = CliRunner().invoke(app, args[:-2])
    assert "backend  fresh" in text.stdout


def test_status_reports_multipart_uploads_left_open(store, config):
    """A killed export can leave a multipart upload behind; status names those older than an hour."""
    from datetime import UTC, datetime, timedelta

    from deedbox.status import open_uploads, stale_uploads

    key = "backend/happy-otter-123/20261127T000000Z-manual/snapshot.zip"
    store.s3.create_multipart_upload(Bucket=store.bucket, Key=key)
    store.s3.create_multipart_upload(Bucket=store.bucket, Key="elsewhere/not-ours.bin")
    # moto reports every upload as initiated in 2010: old enough; only deedbox's prefixes count
    assert [u.key for u in open_uploads(store)] == [key]
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert stale_uploads([(key, now - timedelta(minutes=30))], now) == []  # an export may be running
    (old,) = stale_uploads([(key, now - timedelta(hours=2))], now)
    assert old.key == key and old.age_hours == 2.0


def test_a_failed_upload_aborts_its_own_multipart_upload(store, tmp_path):
    """A failure mid-upload (here the body raises in a transfer thread). Ctrl-C/SIGTERM arrive in the
    main thread as KeyboardInterrupt, which s3transfer answers by cancelling; the same abort runs."""
    import pytest

    from deedbox.bucket import client as client_mod

    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (20 * 2**20))
    reads = []

    def gate(at_end: bool) -> None:
        reads.append(at_end)
        if len(reads) == 3:
            raise RuntimeError("the body failed")

    cfg = client_mod.transfer_config(5 * 2**20, 5 * 2**20)
    with pytest.raises(Exception, match="the body failed"), path.open("rb") as fh:
        store._put_stream("backend/x/20261127T000000Z-manual/snapshot.zip", fh, "application/zip", {}, None, cfg, gate)
    assert store.multipart_uploads("backend/") == []
