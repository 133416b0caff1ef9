"""Fixtures shared by the tests of the stores and operations (bucket, backend, media, secrets,
restore, status, workflows): moto over HTTP, a topology-shaped bucket, a config, a ZIP, and a
no-canary-in-logs check around every test. Loaded for the whole suite by tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from deedbox.config import load
from tests.support.moto_server import aws, make_backup_bucket, moto_endpoint, other_endpoint  # noqa: F401
from tests.support.snapshots import make_zip

BUCKET = "guild-backups"


@pytest.fixture(autouse=True)
def no_canary_leaks(caplog, tmp_path_factory, monkeypatch):
    """Every ops test: no canary secret in captured log records or in deedbox's crash logs."""
    from tests.support import canary

    logs = tmp_path_factory.mktemp("deedbox-logs")
    monkeypatch.setenv("DEEDBOX_LOG_DIR", str(logs))
    yield
    texts = [caplog.text] + [p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()]
    for value in canary.ALL:
        assert not any(value in text for text in texts), "a canary secret leaked into logs"


@pytest.fixture
def config(reference_config_path: Path):
    return load(reference_config_path)


@pytest.fixture
def bucket(aws) -> str:  # noqa: F811
    return make_backup_bucket(aws, BUCKET)


@pytest.fixture
def store(bucket: str):
    from deedbox.bucket.client import BucketClient

    return BucketClient(bucket, region="eu-west-1")


@pytest.fixture
def small_zip(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "snap.zip")
