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
