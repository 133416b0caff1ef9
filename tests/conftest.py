"""Shared pytest configuration. Fixtures specific to one area live in that area's conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def reference_config_path() -> Path:
    return ROOT / "backup.yaml"
