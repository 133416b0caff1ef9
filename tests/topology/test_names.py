"""Deterministic names: readable, within AWS limits, and refusing what AWS would refuse."""

from __future__ import annotations

import pytest

from deedbox.config import load
from deedbox.errors import ConfigError
from deedbox.topology import names
from deedbox.topology.layout import layout


def test_bucket_names_are_deterministic():
    assert names.store_bucket("guild", "222222222222", "eu-west-1") == "guild-backup-222222222222-eu-west-1"
    assert names.replica_bucket("guild", "222222222222", "eu-central-1") == "guild-replica-222222222222-eu-central-1"


def test_bucket_name_at_the_limit_passes_and_one_more_fails():
    # "-backup-" + 12 + "-" + "ap-southeast-2" (14) = 35 characters besides the name
    fits = "n" * (63 - 35)
    assert len(names.store_bucket(fits, "222222222222", "ap-southeast-2")) == 63
    with pytest.raises(ConfigError, match="shorten `name`.* by 1"):
        names.store_bucket(fits + "x", "222222222222", "ap-southeast-2")


def test_bucket_name_rejects_invalid_characters():
    with pytest.raises(ConfigError, match="not a valid S3 bucket name"):
        names.bucket_name("guild_", "backup", "2", "eu-west-1")


def test_role_name_limit():
    assert names.role_name("guild", "runner") == "guild-deedbox-runner"
    with pytest.raises(ConfigError, match="longer than 64"):
        names.role_name("g" * 60, "runner")


def test_secret_name():
    assert names.secret_name("guild", "SESSION_SECRET") == "deedbox/guild/SESSION_SECRET"


@pytest.mark.parametrize("prefix", ["backend/", "media/x/", "drills/", ""])
def test_replicated_prefix_must_not_overlap_backup_prefixes(prefix):
    with pytest.raises(ConfigError, match="overlaps the backup prefix"):
        names.media_destination_prefix("replicate", "c", prefix)


def test_media_prefix_per_mode():
    assert names.media_destination_prefix("replicate", "images", "uploads/") == "uploads/"
    assert names.media_destination_prefix("sync", "images", "backend/") == "media/images/"


def test_layout_of_the_reference_config(reference_config_path):
    plan = layout(load(reference_config_path))
    assert plan.runner_role_arn == "arn:aws:iam::222222222222:role/guild-deedbox-runner"
    assert plan.replication_role_arn == "arn:aws:iam::222222222222:role/guild-deedbox-replication"
    assert plan.media_replication_role == "guild-deedbox-media-replication"
    assert plan.destroy_exempt == ("arn:aws:iam::222222222222:role/backup-break-glass",)
    assert plan.config_exempt == ("arn:aws:iam::222222222222:role/backup-break-glass",
                                  "arn:aws:iam::222222222222:role/deedbox-deployer")
    assert plan.media_classes == {"images": "uploads/", "video": "courses/", "recordings": "recordings/"}
    assert plan.key_users() == {"222222222222": [plan.replication_role_arn, plan.runner_role_arn]}


def test_runner_prefixes_add_replicated_media_prefixes_once(reference_config_path):
    plan = layout(load(reference_config_path))
    assert plan.runner_prefixes == ["backend/", "media/", "drills/", "uploads/", "courses/", "recordings/"]
