"""Shared pytest configuration. Fixtures specific to one area live in that area's conftest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests derandomized, so a landing never depends on the dice; locally they
# explore new examples every run (20 seeds x 150 mutations were run clean before this was set).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def reference_config_path() -> Path:
    return ROOT / "backup.yaml"


# The store/operation fixtures (moto, bucket, config, small_zip, the canary check) are shared by
# tests/bucket, backend, media, secrets, restore, drill and the status and workflow tests.
pytest_plugins = ["tests.support.ops_fixtures"]
