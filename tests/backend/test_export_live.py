"""A live export through the Convex test server (real HTTP, real ZIP), stored and verified."""

from __future__ import annotations

from dataclasses import replace

import pytest
from typer.testing import CliRunner

from deedbox.backend import export as export_mod
from deedbox.backend.verify import verify_snapshot
from deedbox.bucket.snapshots import resolve_snapshot
from deedbox.cli import app
from tests.support.canary import DEPLOY_KEY as KEY
from tests.support.convex_server import ConvexTestServer
from tests.support.snapshots import StoredFile, community_tables, make_id, snapshot_bytes


@pytest.fixture
def convex(monkeypatch):
    monkeypatch.setattr(export_mod, "LIVE_EXPORT_POLL_S", 0.02)
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", KEY)
    with ConvexTestServer(admin_key=KEY) as srv:
        files = [StoredFile(make_id(9, bytes(range(16))), b"\x89PNG avatar bytes")]
        srv.load_zip(snapshot_bytes(community_tables(300), files=files))
        yield srv


def test_live_export_is_stored_and_verifies(config, store, convex):
    cfg = replace(config, source=replace(config.source, convex=replace(config.source.convex, url=convex.url)))
    manifest = export_mod.export_snapshot(cfg, store, reason="scheduled")
    assert manifest.source.kind == "live" and manifest.source.start_ts
    assert manifest.snapshot["storage"]["count"] == 1
    counts = {t["name"]: t["count"] for t in manifest.tables}
    assert set(counts) >= {"users", "posts", "comments"} and sum(counts.values()) > 250
    assert any(p.startswith("/api/export/zip/") for p in convex.paths())
    ref = resolve_snapshot(store, cfg, "latest")
    assert verify_snapshot(store, ref, read_data=True).ok
    assert KEY not in manifest.to_bytes().decode()


def test_cli_live_export_never_shows_the_key(bucket, convex, tmp_path, reference_config_path):
    text = reference_config_path.read_text().replace("https://happy-otter-123.convex.cloud", convex.url)
    cfg = tmp_path / "backup.yaml"
    cfg.write_text(text)
    res = CliRunner().invoke(app, ["export", "--config", str(cfg), "--bucket", bucket, "--reason", "scheduled"])
    assert res.exit_code == 0, res.output
    assert "verified and wrote" in res.stdout and KEY not in res.output
    convex.fail_next("/api/export/request", status=401)
    res = CliRunner().invoke(app, ["export", "--config", str(cfg), "--bucket", bucket])
    assert res.exit_code == 2 and "Traceback" not in res.output and KEY not in res.output
