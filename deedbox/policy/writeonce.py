"""Write-once, enforced by the bucket: the runner cannot create a second version of what it wrote.

deedbox's own writes are conditional (``If-None-Match: *``); the bucket policy makes that the only
way in for the runner, so a stolen runner session cannot forge a snapshot by writing new versions
of ``snapshot.zip`` and ``manifest.json`` (verification also refuses a second version).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deedbox.policy import iam
from deedbox.policy.buckets import POLICY, subs
from deedbox.policy.catalog import rule
from deedbox.policy.view import Stack, is_marker

RUNNER_POLICY_NAME = "deedbox-backup-runner"


def _requires_if_none_match(stmt: dict[str, Any]) -> bool:
    if stmt.get("Effect") != "Deny" or not iam.statement_covers(stmt, "s3:PutObject"):
        return False
    condition = stmt.get("Condition") or {}
    null = {k.lower(): v for k, v in (condition.get("Null") or {}).items()} if isinstance(condition, dict) else {}
    return str(null.get("s3:if-none-match", "")).lower() == "true"


@rule(id="s3-write-once", severity="high", level="mandatory", scanners=(),
      description="The bucket the runner writes denies object creation without If-None-Match on its write-once "
                  "prefixes (backend/, drills/, records/, restores/, status/).",
      fix="add a bucket policy statement: Effect Deny, Action s3:PutObject on those prefixes, Condition "
          "{Null: {s3:if-none-match: 'true'}, Bool: {s3:ObjectCreationOperation: 'true'}} for the runner role")
def write_once(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    written = _runner_buckets(stack)
    for bucket in stack.buckets():
        if bucket.get("bucket") not in written:
            continue  # the runner does not put objects here (the replica is written by replication)
        documents = [p.props.get("policy") for p in subs(stack, bucket, POLICY)] + [bucket.get("policy")]
        if any(is_marker(d) for d in documents):
            yield bucket.urn, f"bucket {bucket.name}: its policy is not known here, so write-once cannot be shown"
            continue
        if not any(_requires_if_none_match(s) for d in documents for s in iam.statements(d)):
            yield bucket.urn, f"bucket {bucket.name} lets the runner overwrite (no Deny of PutObject without If-None-Match)"


def _runner_buckets(stack: Stack) -> set[str]:
    """Buckets the runner's policy lets it put objects into (by the ARNs it names)."""
    out: set[str] = set()
    for policy in stack.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy.get("name") != RUNNER_POLICY_NAME:
            continue
        for stmt in iam.statements(policy.get("policy")):
            if stmt.get("Effect") == "Allow" and iam.statement_covers(stmt, "s3:PutObject"):
                resources = stmt.get("Resource", [])
                for arn in [resources] if isinstance(resources, str) else resources:
                    if isinstance(arn, str) and arn.startswith("arn:aws:s3:::"):
                        out.add(arn[len("arn:aws:s3:::"):].split("/", 1)[0])
    return out
