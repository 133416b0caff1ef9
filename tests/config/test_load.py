"""load() on the reference config returns the model the file describes; invalid input raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from deedbox.config import check, load
from deedbox.config.model import EnvRef, Expectation, SecretKey
from deedbox.errors import ConfigError, UsageError


def test_reference_config_is_valid(reference_config_path: Path) -> None:
    result = check(reference_config_path)
    assert result.errors == ()
    assert result.model is not None


def test_reference_model_source(reference_config_path: Path) -> None:
    cfg = load(reference_config_path)
    assert (cfg.version, cfg.name) == (1, "guild")
    assert (cfg.source.account, cfg.source.region) == ("111111111111", "us-east-1")
    assert cfg.source.convex.url == "https://happy-otter-123.convex.cloud"
    assert cfg.source.convex.deploy_key == EnvRef("CONVEX_DEPLOY_KEY")
    assert not cfg.source.convex.self_hosted
    assert cfg.source.media.bucket == "guild-media-prod"
    assert [(c.name, c.prefix) for c in cfg.source.media.classes] == [
        ("images", "uploads/"), ("video", "courses/"), ("recordings", "recordings/")]


def test_reference_model_destination(reference_config_path: Path) -> None:
    d = load(reference_config_path).destination
    assert (d.account, d.region, d.protect) == ("222222222222", "eu-west-1", True)
    assert d.assume_role_arn == "arn:aws:iam::222222222222:role/deedbox-deployer"
    assert d.break_glass_principal == "arn:aws:iam::222222222222:role/backup-break-glass"
    assert (d.replica.region, d.replica.replication_time_control) == ("eu-central-1", True)
    assert (d.immutability.mode, d.immutability.days) == ("compliance", 35)
    assert (d.storage.archive_after_days, d.storage.archive_class) == (30, "GLACIER_IR")
    assert (d.storage.expire_after_days, d.storage.noncurrent_expire_after_days) == (400, 60)


def test_reference_model_backups_runner(reference_config_path: Path) -> None:
    cfg = load(reference_config_path)
    b = cfg.backups
    assert (b.backend.schedule, b.backend.rpo_hours, b.backend.include_file_storage) == ("rate(6 hours)", 6, True)
    assert (b.media.mode, b.media.rpo_hours, b.media.classes) == ("replicate", 24, None)
    assert b.secrets.keys[2] == SecretKey("SESSION_SECRET", 90)
    assert [k.name for k in b.secrets.keys] == [
        "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SESSION_SECRET", "CONVEX_DEPLOY_KEY", "RESEND_API_KEY"]
    assert (b.secrets.recovery_window_days, b.secrets.verify_schedule) == (30, "cron(0 7 * * ? *)")
    assert b.secrets.max_verify_age_hours == 24
    assert (cfg.runner.kind, cfg.runner.repository, cfg.runner.branch) == ("github-actions", "acme/guild-infra", "main")


def test_reference_model_drills_notifications(reference_config_path: Path) -> None:
    cfg = load(reference_config_path)
    dr = cfg.drills
    assert (dr.schedule, dr.ttl_hours, dr.code_push) == ("cron(0 9 1 * ? *)", 4, "npx convex deploy --yes")
    assert dr.target.kind == "convex-cloud" and dr.target.project == EnvRef("CONVEX_PROJECT_ID")
    assert [c.query for c in dr.checks] == ["users:me", "posts:feed", "courses:get"]
    assert dr.checks[0].expect == Expectation(not_null=True)
    assert dr.checks[0].as_user.subject == "drill"
    assert dr.checks[1].expect == Expectation(min_items=1) and dict(dr.checks[1].args) == {"limit": 20}
    n = cfg.notifications
    assert n.email == ("platform-oncall@guild.example",) and n.on == ("failure", "stale")
    assert n.slack_webhook == EnvRef("SLACK_WEBHOOK_URL")
    assert cfg.path == str(reference_config_path)


def test_load_raises_config_error_with_positions(tmp_path: Path, reference_config_path: Path) -> None:
    text = reference_config_path.read_text().replace("mode: compliance", "mode: forever")
    bad = tmp_path / "backup.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(bad)
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.column, diag.rule, diag.path) == (31, 24, "schema.enum", "destination.immutability.mode")
    assert str(info.value).startswith(f"{bad}:31:24: [schema.enum] 'forever' is not allowed")


def test_load_missing_file_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load(tmp_path / "nope.yaml")


POSITIVE = Path(__file__).parent / "cases" / "positive"


def test_self_hosted_model() -> None:
    cfg = load(POSITIVE / "self-hosted.yaml")
    assert cfg.source.convex.self_hosted and cfg.source.convex.deployment == "10.0.0.5-3210"
    assert cfg.drills.target.kind == "self-hosted" and cfg.drills.target.project is None
    assert cfg.drills.target.admin_key == EnvRef("CONVEX_SELF_HOSTED_ADMIN_KEY")
    assert cfg.drills.checks[0].expect == Expectation(equals=[], has_equals=True)
    assert cfg.drills.checks[1].expect == Expectation(is_null=True)
    assert cfg.backups.secrets.keys[1] == SecretKey("STRIPE_SECRET_KEY", 365)
    assert (cfg.destination.storage.expire_after_days, cfg.destination.storage.archive_after_days) == (90, 30)
    assert cfg.notifications.on == ("failure", "stale", "success")


def test_media_models() -> None:
    sync = load(POSITIVE / "media-sync-endpoint.yaml")
    assert sync.source.media.endpoint_url == "https://abc123.r2.cloudflarestorage.com"
    assert sync.source.media.secret_access_key == EnvRef("R2_SECRET_ACCESS_KEY")
    assert (sync.backups.media.mode, sync.backups.media.schedule) == ("sync", "rate(1 hour)")
    subset = load(POSITIVE / "media-classes-subset.yaml")
    assert [c.name for c in subset.media_classes()] == ["images", "video", "recordings"]
    assert subset.destination.storage.archive_after_days is None
    assert subset.destination.replica.replication_time_control is False


def test_anchors_and_merge_keys_resolve() -> None:
    cfg = load(POSITIVE / "anchors-merge.yaml")
    assert cfg.source.media.region == "us-east-1"
    assert [(c.name, c.prefix) for c in cfg.source.media.classes] == [("images", "uploads/"), ("avatars", "avatars/")]
    assert [(c.name, c.query) for c in cfg.drills.checks] == [("feed", "posts:feed"), ("feed again", "posts:feed")]


def test_minimal_defaults() -> None:
    cfg = load(POSITIVE / "minimal.yaml")
    assert cfg.drills is None and cfg.notifications is None and cfg.source.media is None
    assert cfg.destination.replica is None and cfg.destination.protect is False
    assert cfg.source.convex.deploy_key == EnvRef("CONVEX_DEPLOY_KEY")
    assert cfg.runner.branch == "main" and cfg.backups.backend.include_file_storage is True
