"""``infra/__main__.py``: config resolution from the project root, and errors as ConfigError."""

from __future__ import annotations

import pytest

from deedbox.errors import ConfigError, UsageError
from tests.topology.conftest import ROOT, plan, write_variant


def test_default_config_is_the_project_backup_yaml_even_from_infra_cwd():
    from deedbox.plan.engine import record

    graph = record(ROOT / "infra")  # no deedbox:config: the default backup.yaml at the project root
    assert graph.outputs["store_bucket"] == "guild-backup-222222222222-eu-west-1"


def test_relative_config_path_is_resolved_against_the_project_root():
    assert plan("backup.yaml").outputs["deedbox"]["bucket"] == "guild-backup-222222222222-eu-west-1"


def test_invalid_config_surfaces_as_config_error(tmp_path):
    def break_it(d):
        d["destination"]["account"] = d["source"]["account"]  # not off-platform

    with pytest.raises(ConfigError):
        plan(write_variant(tmp_path, "same-account", break_it))


def test_name_too_long_for_a_bucket_is_a_config_error(tmp_path):
    def long_name(d):
        d["name"] = "a-very-long-community-platform-name"

    # The schema caps `name` so every derived bucket name fits S3's 63 characters; the
    # topology's own names check (tests/topology/test_names.py) is the second line of defence.
    with pytest.raises(ConfigError, match=r"name.*63-character S3 bucket name"):
        plan(write_variant(tmp_path, "long", long_name))


def test_missing_config_is_a_usage_error():
    with pytest.raises(UsageError):
        plan("does-not-exist.yaml")
