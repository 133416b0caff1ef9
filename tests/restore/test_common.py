"""Restore logs: write-once, and two restores in the same second do not collide."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from deedbox.restore.common import write_log


def test_two_logs_in_one_second_get_consecutive_keys(store):
    at = datetime(2026, 12, 2, 7, 0, 0, tzinfo=UTC)
    first = write_log(store, "full", "happy-otter-123", {"n": 1}, now=at)
    second = write_log(store, "full", "happy-otter-123", {"n": 2}, now=at)
    assert first == "restores/20261202T070000Z-full-happy-otter-123.json"
    assert second == "restores/20261202T070001Z-full-happy-otter-123.json"
    assert json.loads(store.get_bytes(first))["n"] == 1 and json.loads(store.get_bytes(second))["n"] == 2
