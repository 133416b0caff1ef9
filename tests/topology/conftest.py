"""Run the real ``infra/`` entry point under the recording engine, for any config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from deedbox.plan.engine import record
from deedbox.plan.graph import Graph

ROOT = Path(__file__).resolve().parents[2]


def plan(config_path: Path | str) -> Graph:
    """The graph of ``infra/`` for ``config_path`` (absolute, or relative to the project root)."""
    return record(ROOT / "infra", config={"deedbox:config": str(config_path)})


@pytest.fixture(scope="session")
def reference_graph() -> Graph:
    return plan("backup.yaml")
