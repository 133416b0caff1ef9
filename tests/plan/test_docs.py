"""docs/plan.md keeps the generated policy table in step with the rules."""

from __future__ import annotations

from deedbox.policy import RULES
from deedbox.policy.doctable import table


def test_docs_hold_the_current_policy_table(repo_root):
    doc = (repo_root / "docs" / "plan.md").read_text()
    assert table() in doc, "regenerate: python -m deedbox.policy.doctable (paste into docs/plan.md)"


def test_every_rule_says_how_to_fix_and_has_known_levels():
    assert len({r.id for r in RULES}) == len(RULES)
    for r in RULES:
        assert r.level in ("mandatory", "advisory") and r.severity in ("low", "medium", "high", "critical")
        assert r.fix and r.description.endswith(".")
