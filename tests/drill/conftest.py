"""Drill fixtures: moto bucket with a real verified snapshot, a Convex test deployment for the
drill, the fake ``pulumi`` CLI behind the real ``AutomationBackend``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.bucket.client import BucketClient
from deedbox.config import load
from deedbox.convex.client import ConvexClient
from deedbox.drill.run import DrillTools
from deedbox.drill.stacks import AutomationBackend
from tests.support.convex_server import ConvexTestServer, FunctionError
from tests.support.fake_pulumi import FakePulumi
from tests.support.moto_server import aws, make_backup_bucket, moto_endpoint  # noqa: F401 (fixtures)
from tests.support.snapshots import community_tables, snapshot_bytes

DRILL_KEY = "drill-otter-1|drill-deploy-key-secret"  # no ":": see the report on the test server
SNAPSHOT_AT = datetime(2026, 11, 27, 0, 0, 0, tzinfo=UTC)
DRILL_AT = datetime(2026, 11, 27, 2, 0, 0, tzinfo=UTC)


@pytest.fixture
def config(reference_config_path):
    cfg = load(reference_config_path)
    return dataclasses.replace(cfg, drills=dataclasses.replace(cfg.drills, code_push=None))


@pytest.fixture
def store(aws):  # noqa: F811
    make_backup_bucket(aws, "guild-backups")
    return BucketClient("guild-backups", region="eu-west-1")


@pytest.fixture
def snapshot(config, store, tmp_path):
    """One verified snapshot of a small community dataset, taken two hours before the drill."""
    path = tmp_path / "source.zip"
    path.write_bytes(snapshot_bytes(community_tables(60)))
    return export_snapshot(config, store, from_zip=path, reason="scheduled", now=SNAPSHOT_AT)


def _register_app(srv: ConvexTestServer) -> None:
    def me(db, args, identity):
        if identity is None:
            raise FunctionError("not signed in")
        return {"subject": identity.get("subject"), "users": len(db.query("users"))}

    def feed(db, args, identity):
        return db.query("posts")[: int(args.get("limit", 20))]

    def course(db, args, identity):
        return next((c for c in db.query("courses") if c.get("slug") == args.get("slug")), None)

    srv.register_query("users:me", me)
    srv.register_query("posts:feed", feed)
    srv.register_query("courses:get", course)


@pytest.fixture
def drill_server():
    """The fresh deployment the drill stack 'creates' (the app's code already registered)."""
    with ConvexTestServer(admin_key=DRILL_KEY, export_polls=1) as srv:
        _register_app(srv)
        yield srv


@pytest.fixture
def fake(tmp_path, drill_server):
    fake = FakePulumi.install(tmp_path / "pulumi", tmp_path / "state")
    fake.behave(outputs={"deploymentUrl": drill_server.url, "deployKey": {"value": DRILL_KEY, "secret": True},
                         "drillId": "x"})
    return fake


VAULT_VALUES = {"STRIPE_SECRET_KEY": "sk_test_drill_value", "STRIPE_WEBHOOK_SECRET": "whsec_drill_value",
                "SESSION_SECRET": "session-drill-value", "RESEND_API_KEY": "re_drill_value",
                "CONVEX_DEPLOY_KEY": "prod:happy-otter-123|PROD-KEY"}


@pytest.fixture
def vault(aws):  # noqa: F811
    """The vault as `secrets push` leaves it: every configured key has a value (moto Secrets Manager)."""
    sm = aws.client("secretsmanager")
    for key, value in VAULT_VALUES.items():
        sm.create_secret(Name=f"deedbox/guild/{key}", SecretString=value)
    return sm


@pytest.fixture
def tools(store, fake, vault):
    backend = AutomationBackend(backend_url=f"file://{fake.state_dir}", pulumi_root=str(fake.root),
                                env={"PULUMI_CONFIG_PASSPHRASE": "drill-pass"})
    return DrillTools(store=store, backend=backend, clock=lambda: DRILL_AT, export_poll_s=0.05,
                      client_factory=lambda url, key: ConvexClient(url, key, retries=0, backoff=0),
                      env={"PATH": "/usr/bin:/bin", "CONVEX_DEPLOY_KEY": "prod:happy-otter-123|PROD-KEY"})
