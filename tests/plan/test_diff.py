from __future__ import annotations

from deedbox.plan.diff import diff
from deedbox.plan.graph import Graph
from tests.policy.builders import edit, good_graph


def _set_days(inputs: dict) -> None:
    inputs["rule"]["defaultRetention"]["days"] = 40.0


def test_identical_graphs_have_no_diff():
    assert diff(good_graph(), good_graph()).empty


def test_added_removed_and_changed_by_urn():
    base = edit(good_graph(), "guild-SESSION_SECRET", lambda i: "drop")
    head = edit(edit(good_graph(), "guild-backup-lock", _set_days), "guild-runner-policy", lambda i: "drop")
    head = edit(head, "guild-backup", protect=False)
    result = diff(base, head).as_dict()
    assert [a["name"] for a in result["added"]] == ["guild-SESSION_SECRET"]
    assert [r["name"] for r in result["removed"]] == ["guild-runner-policy"]
    changed = {c["name"]: c["changes"] for c in result["changed"]}
    assert changed["guild-backup-lock"] == [{"path": "rule.defaultRetention.days", "before": 35.0, "after": 40.0}]
    assert changed["guild-backup"] == [{"path": "(protect)", "before": True, "after": False}]
    assert len(changed) == 2


def test_everything_is_added_against_an_empty_base():
    result = diff(Graph(()), good_graph())
    assert len(result.added) == len(good_graph().resources) and not result.removed and not result.changed
