"""Render a plan as text (a tree of resources with their key settings, then verdicts) or JSON.

The JSON shape is the CLI contract of DESIGN.md. Inputs are printed as recorded, and the
recorder has already replaced secret values with ``[secret]``; ``scrub`` masks them again by
key name as a second line of defence (``deedbox.plan.mask``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from deedbox.plan.diff import Diff
from deedbox.plan.evaluate import Verdict
from deedbox.plan.graph import Graph, ResourceRecord
from deedbox.plan.mask import scrub

# The settings worth a reviewer's eye, per resource type: dotted paths into the inputs, shown
# under their last segment or under an explicit ``label=path``.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region", "allowedAccountIds"),
    "aws:s3/bucket:Bucket": ("bucket", "region", "objectLockEnabled"),
    "aws:s3/bucketVersioning:BucketVersioning": ("versioningConfiguration.status",),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration":
        ("rule.defaultRetention.mode", "rule.defaultRetention.days"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        ("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "rules.0.bucketKeyEnabled"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("rule.objectOwnership",),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig":
        ("source=bucket", "destination=rules.0.destination.bucket",
         "deleteMarkers=rules.0.deleteMarkerReplication.status"),
    "aws:kms/key:Key": ("enableKeyRotation", "multiRegion", "region"),
    "aws:kms/replicaKey:ReplicaKey": ("region",),
    "aws:secretsmanager/secret:Secret": ("name", "recoveryWindowInDays"),
    "aws:iam/role:Role": ("name",),
}
def setting(inputs: Any, path: str) -> Any:
    for step in path.split("."):
        if isinstance(inputs, list):
            inputs = inputs[int(step)] if step.isdigit() and len(inputs) > int(step) else None
        elif isinstance(inputs, dict):
            inputs = inputs.get(step)
        else:
            return None
    return inputs


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def _short(value: Any, limit: int = 100) -> str:
    text = _fmt(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(record: ResourceRecord) -> str:
    """``name (type) k=v ...``: one line per resource."""
    paths = [p.split("=", 1) if "=" in p else (p.rsplit(".", 1)[-1], p) for p in KEY_SETTINGS.get(record.type, ())]
    shown = [(label, setting(dict(record.inputs), path)) for label, path in paths]
    details = " ".join(f"{k}={_fmt(v)}" for k, v in shown if v is not None)
    flags = " [protected]" if record.protect else ""
    return f"{record.name} ({record.type}){flags}" + (f" {details}" if details else "")


def tree_lines(graph: Graph) -> list[str]:
    urns = {r.urn for r in graph if r.type != "pulumi:pulumi:Stack"}
    lines: list[str] = []

    def walk(record: ResourceRecord, depth: int) -> None:
        lines.append("  " * depth + ("- " if depth else "") + summary(record))
        for child in graph.children(record.urn):
            walk(child, depth + 1)

    for root in (r for r in graph if r.parent not in urns and r.type != "pulumi:pulumi:Stack"):
        walk(root, 0)
    return lines


def verdict_lines(verdicts: Iterable[Verdict]) -> list[str]:
    marks = {"pass": "PASS", "fail": "FAIL"}
    return [f"{marks[v.status]:4} {v.policy} ({v.level})" + _failure(v) for v in verdicts]


def _failure(v: Verdict) -> str:
    if v.status != "fail":
        return ""
    if v.resource is None:  # a stack-wide finding names no resource
        return f" {v.message}"
    return f" {v.resource.rsplit('::', 1)[-1]}: {v.message}"


def text(graph: Graph, verdicts: list[Verdict], changes: Diff | None = None) -> str:
    lines = [f"Resources ({len(graph.resources)}):", *tree_lines(graph), "", "Policy:", *verdict_lines(verdicts)]
    if changes is not None:
        lines += ["", "Changes:"] + diff_lines(changes)
    return "\n".join(lines) + "\n"


def diff_lines(changes: Diff) -> list[str]:
    if changes.empty:
        return ["  no changes"]
    lines = [f"  + {r.name} ({r.type})" for r in changes.added]
    lines += [f"  - {r.name} ({r.type})" for r in changes.removed]
    for r, cs in changes.changed:
        lines.append(f"  ~ {r.name} ({r.type})")
        lines += [f"      {c.path}: {_short(c.before)} -> {_short(c.after)}" for c in cs]
    return lines


def as_json(graph: Graph, verdicts: list[Verdict], changes: Diff | None = None) -> str:
    doc: dict[str, Any] = {
        "resources": [
            {"type": r.type, "name": r.name, "parent": r.parent, "provider": r.provider_urn,
             "protect": r.protect, "inputs": scrub(dict(r.inputs))}
            for r in graph if r.type != "pulumi:pulumi:Stack"
        ],
        "policy": [v.as_dict() for v in verdicts],
    }
    if changes is not None:
        doc["diff"] = scrub(changes.as_dict())
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
