from __future__ import annotations

import json

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


def test_policy_documents_are_compared_inside_the_json_string():
    def widen(inputs: dict) -> None:
        doc = json.loads(inputs["policy"])
        doc["Statement"][0]["Action"] = ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:DeleteObject"]
        inputs["policy"] = json.dumps(doc)

    result = diff(good_graph(), edit(good_graph(), "guild-runner-policy", widen)).as_dict()
    [change] = result["changed"]
    assert change["changes"] == [{"path": "policy.Statement[0].Action",
                                  "before": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
                                  "after": ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:DeleteObject"]}]
