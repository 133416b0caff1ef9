"""Fixtures of the ops tests: moto over HTTP, a topology-shaped bucket, a config, a ZIP."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from deedbox.config import load
from tests.ops.zips import make_zip
from tests.support.moto_server import aws, make_backup_bucket, moto_endpoint, other_endpoint  # noqa: F401

BUCKET = "guild-backups"


@pytest.fixture
def config(reference_config_path: Path):
    return load(reference_config_path)


@pytest.fixture
def bucket(aws) -> str:  # noqa: F811
    return make_backup_bucket(aws, BUCKET)


@pytest.fixture
def store(bucket: str):
    from deedbox.ops.store import BackupStore

    return BackupStore(bucket, region="eu-west-1")


@pytest.fixture
def small_zip(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "snap.zip")
