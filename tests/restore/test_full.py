"""``restore full``: verify, safety export first (refuse without it), replaceAll, counts, plan-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.bucket.manifest import parse_manifest
from deedbox.convex.client import ConvexClient
from deedbox.errors import CheckFailed, EnvironmentProblem
from deedbox.restore.common import with_convex_url
from deedbox.restore.full import restore_full
from tests.support.convex_server import ConvexTestServer
from tests.support.snapshots import community_tables, snapshot_bytes

KEY = "target-admin-key"
TAKEN = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


@pytest.fixture
def target():
    """The deployment to restore into; it holds different (newer, damaged) data."""
    with ConvexTestServer(admin_key=KEY, export_polls=1) as srv:
        srv.load_zip(snapshot_bytes(community_tables(20, seed=99)))
        yield srv


@pytest.fixture
def backup(config, store, tmp_path):
    path = tmp_path / "snap.zip"
    path.write_bytes(snapshot_bytes(community_tables(80)))
    manifest = export_snapshot(config, store, from_zip=path, reason="scheduled", now=TAKEN)
    return manifest


def factory(url):
    return ConvexClient(url, KEY, retries=0, backoff=0)


def _objects(store) -> set[str]:
    return {o.key for o in store.list("")}


def test_without_yes_nothing_changes(config, store, backup, target):
    before, requests = _objects(store), list(target.requests)
    result = restore_full(config, store, snapshot="latest", to=target.url, yes=False, client_factory=factory)
    assert not result.applied and result.safety_snapshot is None
    assert sum(t["count"] for t in result.tables) == sum(t["count"] for t in backup.tables)
    assert _objects(store) == before and target.requests == requests


def test_restore_takes_a_verified_safety_export_then_replaces_all(config, store, backup, target):
    old_posts = dict(target.deployment.component("")["posts"].docs)
    result = restore_full(config, store, snapshot="latest", to=target.url, yes=True, client_factory=factory)
    assert result.applied and result.ok and not result.count_problems
    deployment = with_convex_url(config, target.url).source.convex.deployment
    assert result.safety_snapshot.startswith(f"backend/{deployment}/") and result.safety_snapshot.endswith("-safety/")
    safety = parse_manifest(store.get_bytes(result.safety_snapshot + "manifest.json"), key="safety")
    assert {t["name"]: t["count"] for t in safety.tables}["posts"] == len(old_posts)
    live = target.deployment.component("")
    assert {n: len(t.docs) for n, t in live.items()} == \
        {t["name"]: t["count"] for t in backup.tables}
    paths = target.paths()
    assert paths.index("/api/export/request/zip") < paths.index("/api/import/start_upload")  # safety first
    log = json.loads(store.get_bytes(result.log_key))
    assert log["mode"] == "replaceAll" and log["ok"] is True and log["snapshot"] == result.snapshot


def test_refuses_when_the_safety_export_fails(config, store, backup, target):
    target.fail_exports = True
    with pytest.raises(EnvironmentProblem, match="safety export .* failed.*nothing was changed"):
        restore_full(config, store, snapshot="latest", to=target.url, yes=True, client_factory=factory)
    assert not any(p.startswith("/api/import") for p in target.paths())
    assert not list(store.list("restores/"))


def test_refuses_when_the_safety_export_is_unverified(config, store, backup, target, monkeypatch):
    from deedbox.backend import verify as checking
    from deedbox.restore import common

    real = checking.verify_snapshot

    def verify(store_, ref, *, read_data):
        result = real(store_, ref, read_data=read_data)
        if ref.reason == "safety":  # the stored safety copy does not match its manifest
            return checking.VerifyResult(False, ["snapshot.tables.posts.count: manifest 3 != stored 2"], None)
        return result

    monkeypatch.setattr(common, "verify_snapshot", verify)  # what restores verify with
    with pytest.raises(CheckFailed, match="safety export is not verified"):
        restore_full(config, store, snapshot="latest", to=target.url, yes=True, client_factory=factory)
    assert not any(p.startswith("/api/import") for p in target.paths())


def test_unverified_snapshot_refused_before_anything(config, store, backup, target):
    store.s3.put_object(Bucket=store.bucket, Key=backup.object.key, Body=b"tampered")
    with pytest.raises(CheckFailed, match="failed verification"):
        restore_full(config, store, snapshot="latest", to=target.url, yes=True, client_factory=factory)
    assert target.paths() == []


def test_counts_checked_after_import(config, store, backup, target):
    class Lossy(ConvexClient):
        def import_zip(self, source, **kw):
            written = super().import_zip(source, **kw)
            target.deployment.component("")["comments"].docs.popitem()  # one document lost
            return written

    result = restore_full(config, store, snapshot="latest", to=target.url, yes=True,
                          client_factory=lambda url: Lossy(url, KEY, retries=0, backoff=0))
    assert not result.ok
    assert len(result.count_problems) == 1 and result.count_problems[0].startswith("comments:")
    assert json.loads(store.get_bytes(result.log_key))["ok"] is False


def test_cli_plan_only(config, store, backup, target, tmp_path):
    from typer.testing import CliRunner

    from deedbox.cli import app

    res = CliRunner().invoke(app, ["restore", "full", "--snapshot", "latest", "--to", target.url,
                                   "--config", config.path, "--bucket", store.bucket])
    assert res.exit_code == 0, res.output
    assert "nothing was changed; run again with --yes" in res.stdout
    assert "restore point:\n  backend: snapshot backend/" in res.stdout
    assert "secrets: no restore point in this manifest" in res.stdout  # `backup` was taken without one
    assert "4) set 4 environment variables from the vault (STRIPE_SECRET_KEY" in res.stdout
    assert target.paths() == []


def test_cli_refuses_a_target_that_is_not_a_url(reference_config_path):
    from typer.testing import CliRunner

    from deedbox.cli import app

    res = CliRunner().invoke(app, ["restore", "full", "--config", str(reference_config_path),
                                   "--bucket", "any-bucket", "--snapshot", "latest", "--to", "not-a-url"])
    assert res.exit_code == 2
    assert res.stderr.strip() == ("deedbox: error: 'not-a-url' is not a Convex deployment URL "
                                  "(expected http(s)://host)")


def test_a_restore_over_8_mib_goes_through_the_chunked_state_machine(config, store, target, tmp_path):
    """Every import is chunked (as the CLI does it); a big one takes several parts, and the server's
    nested state (waiting_for_confirmation → in_progress → completed) is confirmed exactly once."""
    from tests.support.snapshots import make_zip

    big = make_zip(tmp_path / "big.zip", posts=1400, pad=16_000, seed=3)  # ~12 MiB (hex halves in deflate)
    assert big.stat().st_size > 8 * 2**20
    export_snapshot(config, store, from_zip=big, reason="manual", now=datetime(2026, 11, 27, 1, 0, tzinfo=UTC))
    result = restore_full(config, store, snapshot="latest", to=target.url, yes=True, client_factory=factory)
    assert result.applied and result.ok and result.written == 1402
    paths = target.paths()
    assert paths.count("/api/import/upload_part") >= 3 and paths.count("/api/perform_import") == 1
    done = [i for i in target.imports.values() if i["mode"] == "ReplaceAll"]
    assert done[-1]["state"] == {"state": "completed", "timestamp": done[-1]["state"]["timestamp"],
                                 "num_rows_written": 1402}


def test_restore_sets_the_environment_variables_at_the_restore_point(config, store, target, tmp_path, aws):
    """The data and the secrets come back together: the variables the snapshot's restore point
    names (the vault version current at export time), not a later rotation; `external` keys are
    never set on a deployment; `--no-secrets` leaves them alone."""
    from deedbox.restore.point import capture

    sm = aws.client("secretsmanager")
    for key in ("STRIPE_SECRET_KEY", "SESSION_SECRET", "STRIPE_WEBHOOK_SECRET", "RESEND_API_KEY", "CONVEX_DEPLOY_KEY"):
        sm.create_secret(Name=f"deedbox/guild/{key}", SecretString=f"v1-{key}")
    path = tmp_path / "snap.zip"
    path.write_bytes(snapshot_bytes(community_tables(30)))
    export_snapshot(config, store, from_zip=path, reason="scheduled", now=TAKEN, restore_point=capture(config, store))
    sm.put_secret_value(SecretId="deedbox/guild/SESSION_SECRET", SecretString="v2-rotated-after-the-snapshot")
    target.deployment.env = {"UNRELATED": "kept"}

    plan = restore_full(config, store, snapshot="latest", to=target.url, yes=False, client_factory=factory)
    assert {s["key"]: s["state"] for s in plan.secrets}["CONVEX_DEPLOY_KEY"] == "external"
    assert target.deployment.env == {"UNRELATED": "kept"}

    result = restore_full(config, store, snapshot="latest", to=target.url, yes=True, client_factory=factory)
    assert result.ok and result.secrets_problem is None
    assert target.deployment.env == {"UNRELATED": "kept", "STRIPE_SECRET_KEY": "v1-STRIPE_SECRET_KEY",
                                     "SESSION_SECRET": "v1-SESSION_SECRET", "STRIPE_WEBHOOK_SECRET": "v1-STRIPE_WEBHOOK_SECRET",
                                     "RESEND_API_KEY": "v1-RESEND_API_KEY"}
    rows = {s["key"]: s for s in result.secrets}
    assert rows["SESSION_SECRET"]["source"] == "restore-point" and rows["SESSION_SECRET"]["matches"] is True
    assert "v1-" not in json.dumps(result.secrets)

    target.deployment.env = {}
    result = restore_full(config, store, snapshot="latest", to=target.url, yes=True, client_factory=factory,
                          secrets=False)
    assert result.ok and result.secrets == [] and target.deployment.env == {}


def test_a_failed_variable_restore_is_reported_not_hidden(config, store, backup, target, aws):
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="deedbox/guild/SESSION_SECRET", SecretString="x" * 9000)  # over Convex's 8 KiB
    result = restore_full(config, store, snapshot="latest", to=target.url, yes=True, client_factory=factory)
    assert result.applied and not result.ok
    assert "environment variables not restored" in result.secrets_problem and "too large" in result.secrets_problem
    assert "xxxx" not in result.secrets_problem
