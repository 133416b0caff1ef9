"""``drill reap`` and ``drill list`` over the fake pulumi backend and the moto bucket."""

from __future__ import annotations

from datetime import UTC, datetime

from deedbox.drill.admin import expiry_of, list_reports, reap
from deedbox.drill.run import run_drill
from deedbox.drill.stacks import StackInfo

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_reap_removes_only_expired_drill_stacks(tools, fake):
    fake.add_stack("drill-20261127T010000Z", tags={"deedbox:expires": "2026-11-27T05:00:00Z"})
    fake.add_stack("drill-20261127T110000Z", tags={"deedbox:expires": "2026-11-27T15:00:00Z"})
    fake.add_stack("drill-20261126T000000Z", tags={}, config={"deedbox-drill:expiresAt": "2026-11-26T04:00:00Z"})
    fake.add_stack("production", tags={"deedbox:expires": "2020-01-01T00:00:00Z"})
    rows = {r["stack"]: r["action"] for r in reap(tools.backend, NOW)}
    assert rows == {"drill-20261127T010000Z": "reaped", "drill-20261127T110000Z": "kept",
                    "drill-20261126T000000Z": "reaped"}
    assert sorted(fake.stacks()) == ["drill-20261127T110000Z", "production"]
    destroyed = [c[-1] for c in fake.calls() if c[0] == "destroy"]
    assert sorted(destroyed) == ["drill-20261126T000000Z", "drill-20261127T010000Z"]


def test_reap_reports_a_failed_destroy(tools, fake):
    fake.add_stack("drill-20261127T010000Z", tags={"deedbox:expires": "2026-11-27T05:00:00Z"})
    fake.behave(fail={"destroy": "deployment delete: HTTP 500"})
    rows = reap(tools.backend, NOW)
    assert rows[0]["action"] == "failed" and "HTTP 500" in rows[0]["detail"]
    assert "drill-20261127T010000Z" in fake.stacks()


def test_expiry_parsing():
    assert expiry_of(StackInfo("drill-x", {"deedbox:expires": "2026-11-27T05:00:00Z"})) == \
        datetime(2026, 11, 27, 5, tzinfo=UTC)
    assert expiry_of(StackInfo("drill-x", {"deedbox:expires": "garbage"})) is None
    assert expiry_of(StackInfo("drill-x")) is None


def test_list_shows_reports(config, tools, snapshot, store):
    run_drill(config, tools)
    rows = list_reports(store)
    assert len(rows) == 1 and rows[0]["status"] == "passed" and rows[0]["rpo_s"] == 7200.0
