"""The policy table of ``docs/plan.md``, generated from the rule metadata so the two never drift.

    python -m deedbox.policy.doctable      # prints the table; a test checks docs/plan.md holds it
"""

from __future__ import annotations

from deedbox.policy import RULES

BEGIN, END = "<!-- policy-table:begin -->", "<!-- policy-table:end -->"


def table() -> str:
    rows = [BEGIN, "| Policy | Level | Severity | What it requires | Thresholds (default) | Scanner ids |",
            "|---|---|---|---|---|---|"]
    for r in RULES:
        thresholds = ", ".join(f"`{k}` ({v.get('default')})" for k, v in r.config.items())
        scanners = ", ".join(r.scanners) or "(none)"
        rows.append(f"| `{r.id}` | {r.level} | {r.severity} | {r.description} | {thresholds} | {scanners} |")
    return "\n".join(rows + [END])


if __name__ == "__main__":
    print(table())
