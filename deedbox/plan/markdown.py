"""The plan as a pull-request comment: summary, policy table, change table, Mermaid diagram.

A reviewer without cloud credentials reads what the change does and whether it obeys the pack.
Turning on (or changing) a COMPLIANCE-mode object lock gets a loud warning: nobody, root
included, can shorten or remove that retention afterwards.
"""

from __future__ import annotations

from typing import Any

from deedbox.plan.diff import Diff
from deedbox.plan.evaluate import Verdict, mandatory_failures
from deedbox.plan.graph import Graph, ResourceRecord
from deedbox.plan.mask import scrub
from deedbox.plan.render import _fmt

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
MARKER = "<!-- deedbox-plan -->"


def _cell(value: Any, limit: int = 80) -> str:
    text = _fmt(scrub(value)).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retention(record: ResourceRecord | None) -> tuple[Any, Any]:
    rule = ((record.inputs.get("rule") or {}) if record else {}).get("defaultRetention") or {}
    return rule.get("mode"), rule.get("days") or rule.get("years")


def compliance_warnings(head: Graph, base: Graph | None) -> list[str]:
    """One warning per COMPLIANCE lock that this change turns on or changes."""
    warnings = []
    for lock in head.of_type(LOCK):
        mode, days = _retention(lock)
        if str(mode).upper() != "COMPLIANCE":
            continue
        before = _retention(base.by_urn(lock.urn)) if base is not None else (None, None)
        if before != (mode, days):
            warnings.append(f"> [!CAUTION]\n> **COMPLIANCE-mode object lock** on `{lock.name}`: "
                            f"{_fmt(days)} days. Once applied, nobody (root included) can shorten or remove "
                            "this retention or delete locked versions before it ends.")
    return warnings


def policy_table(verdicts: list[Verdict]) -> list[str]:
    rows = ["| Policy | Level | Status | Resource | Message |", "|---|---|---|---|---|"]
    for v in verdicts:
        status = "✅ pass" if v.status == "pass" else ("❌ fail" if v.level == "mandatory" else "⚠️ fail")
        resource = v.resource.rsplit("::", 1)[-1] if v.resource else ""
        rows.append(f"| `{v.policy}` | {v.level} | {status} | {_cell(resource)} | {_cell(v.message, 200)} |")
    return rows


def diff_table(changes: Diff) -> list[str]:
    if changes.empty:
        return ["No resource changes."]
    rows = ["| | Resource | Type | Details |", "|---|---|---|---|"]
    rows += [f"| ➕ add | `{r.name}` | `{r.type}` | |" for r in changes.added]
    rows += [f"| ➖ remove | `{r.name}` | `{r.type}` | |" for r in changes.removed]
    for r, cs in changes.changed:
        details = "<br>".join(f"`{c.path}`: {_cell(c.before, 40)} → {_cell(c.after, 40)}" for c in cs[:8])
        rows.append(f"| ✏️ change | `{r.name}` | `{r.type}` | {details} |")
    return rows


def _node(record: ResourceRecord) -> str:
    return "n_" + "".join(ch if ch.isalnum() else "_" for ch in record.name)


def _region(graph: Graph, record: ResourceRecord) -> str:
    provider = graph.by_urn(record.provider_urn) if record.provider_urn else None
    return str(record.inputs.get("region") or (provider.inputs.get("region") if provider else "") or "")


def _replications(graph: Graph) -> list[tuple[ResourceRecord | None, ResourceRecord]]:
    """(source bucket or None for a bucket outside the stack, destination bucket) pairs."""
    by_name = {b.inputs.get("bucket"): b for b in graph.of_type(*BUCKETS)}
    pairs = []
    for config in graph.of_type(REPLICATION):
        source = by_name.get(config.inputs.get("bucket"))
        for rule in config.inputs.get("rules") or []:
            dest = by_name.get(str((rule.get("destination") or {}).get("bucket", "")).split(":::")[-1])
            if dest is not None and (source, dest) not in pairs:
                pairs.append((source, dest))
    return pairs


def mermaid(graph: Graph, source: str = "live platform") -> list[str]:
    """source → destination store → replica, plus the vault and the runner."""
    lines = ["```mermaid", "flowchart LR", f'  source(["{source}"])']
    pairs = _replications(graph)
    replicas = {d.urn for s, d in pairs if s is not None}
    stores = [b for b in graph.of_type(*BUCKETS) if b.urn not in replicas]
    for bucket in graph.of_type(*BUCKETS):
        lines.append(f'  {_node(bucket)}[("{bucket.inputs.get("bucket", bucket.name)}<br>{_region(graph, bucket)}")]')
    lines += [f"  source -->|export| {_node(s)}" for s in stores]
    lines += [f"  source -->|media replication| {_node(d)}" for s, d in pairs if s is None]
    lines += [f"  {_node(s)} -->|replication| {_node(d)}" for s, d in pairs if s is not None]
    secrets = graph.of_type("aws:secretsmanager/secret:Secret")
    if secrets:
        lines += [f'  vault{{{{"secrets vault<br>{len(secrets)} secrets"}}}}', "  source -->|secrets| vault"]
    for role in graph.of_type("aws:iam/role:Role"):
        if "runner" in role.name:
            lines.append(f'  {_node(role)}(("{role.inputs.get("name") or role.name}"))')
            lines += [f"  {_node(role)} -->|put, get| {_node(s)}" for s in stores]
            lines += [f"  {_node(role)} -->|put versions| vault"] if secrets else []
    return lines + ["```"]


def markdown(graph: Graph, verdicts: list[Verdict], changes: Diff | None = None, *,
             base: Graph | None = None, source: str = "live platform") -> str:
    failures = mandatory_failures(verdicts)
    passed = len({v.policy for v in verdicts} - {v.policy for v in verdicts if v.status == "fail"})
    head = "❌ policy violations" if failures else "✅ policy pack passes"
    counts = f"{len([r for r in graph if r.type != 'pulumi:pulumi:Stack'])} resources"
    if changes is not None:
        counts += f" ({len(changes.added)} to add, {len(changes.changed)} to change, {len(changes.removed)} to remove)"
    lines = [MARKER, f"## deedbox plan: {head}", "",
             f"**{counts}; {passed} policies pass, {len(failures)} mandatory violations.**", ""]
    lines += [w + "\n" for w in compliance_warnings(graph, base)]
    lines += ["### Policy", "", *policy_table(verdicts), ""]
    if changes is not None:
        lines += ["### Changes", "", *diff_table(changes), ""]
    lines += ["### Topology", "", *mermaid(graph, source), ""]
    return "\n".join(lines)
