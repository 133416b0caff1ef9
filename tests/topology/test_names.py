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


@pytest.mark.parametrize("prefix", ["backend/", "media/x/", "drills/", "records/", "restores/media/", ""])
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
    assert plan.runner_prefixes == ["backend/", "media/", "drills/", "records/", "restores/", "status/",
                                    "uploads/", "courses/", "recordings/"]


def test_bucket_layout_is_designs_plus_the_ops_evidence_prefixes():
    assert names.PREFIXES == {"backend": "backend/", "media": "media/", "drills": "drills/",
                              "records": "records/", "restores": "restores/", "status": "status/"}
    values = list(names.PREFIXES.values())
    assert not [(a, b) for a in values for b in values if a != b and a.startswith(b)]  # disjoint


def test_operations_read_their_prefixes_from_the_topology():
    from deedbox.bucket import records, snapshots
    from deedbox.drill import admin as drill_admin
    from deedbox.media.plan import dest_key
    from deedbox.restore import common as restore

    assert names.PREFIXES["records"] == records.ROOT and names.PREFIXES["restores"] == restore.RESTORES_PREFIX
    assert names.PREFIXES["drills"] == drill_admin.REPORTS_PREFIX
    assert snapshots.backend_root("happy-otter-123").startswith(names.PREFIXES["backend"])
    assert dest_key("sync", "images", "uploads/a.png").startswith(names.media_destination_prefix("sync", "images", "uploads/"))
    assert dest_key("replicate", "images", "uploads/a.png").startswith(
        names.media_destination_prefix("replicate", "images", "uploads/"))


def test_the_pure_modules_and_the_ops_do_not_import_pulumi():
    import subprocess
    import sys

    code = ("import sys, deedbox.topology.names, deedbox.topology.layout, deedbox.bucket.records, deedbox.status; "
            "assert 'pulumi' not in sys.modules, 'pulumi imported'; "
            "from deedbox.topology import program; import deedbox.topology as t; "
            "assert callable(program) and t.program is program, program")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
