from __future__ import annotations

import json

from deedbox.plan.diff import diff
from deedbox.plan.evaluate import evaluate
from deedbox.plan.markdown import compliance_warnings, markdown
from deedbox.plan.render import as_json, text
from deedbox.policy import RULES
from tests.policy.builders import edit, good_graph

CANARY = "sk_live_canary_value_that_must_not_leak"


def _secret_graph():
    return edit(good_graph(), "guild-SESSION_SECRET", lambda i: i.update(secretString=CANARY))


def test_json_has_the_contract_shape_and_every_policy():
    graph = good_graph()
    doc = json.loads(as_json(graph, evaluate(graph)))
    assert set(doc) == {"resources", "policy"}
    assert all(set(r) == {"type", "name", "parent", "provider", "protect", "inputs"} for r in doc["resources"])
    assert all(set(p) == {"policy", "level", "status", "resource", "message"} for p in doc["policy"])
    assert {p["policy"] for p in doc["policy"]} == {r.id for r in RULES}
    assert {p["status"] for p in doc["policy"]} == {"pass"}


def test_json_diff_only_with_a_base_and_secrets_masked():
    base, head = good_graph(), _secret_graph()
    out = as_json(head, evaluate(head), diff(base, head))
    assert "diff" in json.loads(out) and CANARY not in out


def test_text_shows_key_settings_and_failures():
    graph = edit(good_graph(), "guild-backup-pab", lambda i: i.update(blockPublicAcls=False))
    out = text(graph, evaluate(graph))
    assert "mode=COMPLIANCE days=35" in out
    assert "FAIL s3-public-access-block (mandatory) guild-backup-pab: public access block guild-backup-pab leaves " \
           "blockPublicAcls off" in out


def test_markdown_has_summary_policy_table_diff_and_mermaid_without_secrets():
    base, head = good_graph(), _secret_graph()
    head = edit(head, "guild-backup-versioning", lambda i: "drop")
    out = markdown(head, evaluate(head), diff(base, head), base=base, source="Convex happy-otter-123")
    assert "## deedbox plan: ❌ policy violations" in out
    assert "| Policy | Level | Status | Resource | Message |" in out
    assert "| `s3-versioning` | mandatory | ❌ fail | guild-backup |" in out
    assert "| ➖ remove | `guild-backup-versioning` |" in out
    assert "```mermaid\nflowchart LR" in out and "-->|replication|" in out and "vault" in out
    assert CANARY not in out
    assert "COMPLIANCE-mode object lock" not in out  # unchanged lock: no warning


def test_turning_on_or_changing_a_compliance_lock_is_loud():
    base = edit(good_graph(), "guild-backup-lock", lambda i: i["rule"]["defaultRetention"].update(mode="GOVERNANCE"))
    warnings = compliance_warnings(good_graph(), base)
    assert len(warnings) == 1 and "guild-backup-lock" in warnings[0] and "root included" in warnings[0]
    assert compliance_warnings(good_graph(), good_graph()) == []
    assert len(compliance_warnings(good_graph(), None)) == 2  # a first plan turns both on
