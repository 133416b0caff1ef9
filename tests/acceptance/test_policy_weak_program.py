"""Issue 4: ``deedbox.policy.POLICIES``, run against a weak Pulumi program written here (not seen by
the rule authors), flag each of its weaknesses; and flag nothing on the real ``infra/`` program.

The program is recorded by this suite's own mocks (``recorder``); the ``pulumi_policy`` argument
objects are built here, as the policy engine would build them, and each policy's ``validate`` is
called directly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from deedbox.policy import POLICIES
from tests.acceptance._graph import REPO, record_program

WEAK = Path(__file__).parent / "weak_program"


def _options(rec: dict) -> PolicyResourceOptions:
    parent = rec["parent"] if rec["parent"] and not rec["parent"].endswith("pulumi:pulumi:Stack::acceptance-prod") else None
    return PolicyResourceOptions(protect=rec["protect"], ignore_changes=[], delete_before_replace=None,
                                 aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=[], parent=parent)


def to_policy_resources(graph: list[dict]) -> list[PolicyResource]:
    """The engine's view: custom resources only, each with its provider resource and dependencies."""
    by_urn = {r["urn"]: r for r in graph}
    providers: dict[str, PolicyProviderResource] = {}
    out: dict[str, PolicyResource] = {}
    for rec in graph:
        if not rec["custom"] or rec["type"].startswith("pulumi:providers:"):
            continue
        provider = None
        if rec["provider"]:
            purn = rec["provider"].rsplit("::", 1)[0]
            if purn not in providers:
                p = by_urn[purn]
                providers[purn] = PolicyProviderResource(p["type"], p["inputs"], purn, p["name"])
            provider = providers[purn]
        out[rec["urn"]] = PolicyResource(rec["type"], rec["inputs"], rec["urn"], rec["name"], _options(rec),
                                         provider, None, [], {})
    for urn, res in out.items():
        res.dependencies = [out[d] for d in by_urn[urn]["dependencies"] if d in out]
    return list(out.values())


def defaults(policy) -> dict:
    schema = getattr(policy, "config_schema", None)
    return {k: v["default"] for k, v in (schema.properties if schema else {}).items() if "default" in v}


def run_policies(resources: list[PolicyResource]) -> dict[str, list[tuple[str | None, str]]]:
    """policy name -> [(resource name or urn, message)] for every reported violation."""
    found: dict[str, list[tuple[str | None, str]]] = {p.name: [] for p in POLICIES}
    for policy in POLICIES:
        config = defaults(policy)
        if isinstance(policy, ResourceValidationPolicy):
            for res in resources:
                args = ResourceValidationArgs(res.resource_type, res.props, res.urn, res.name, res.opts,
                                              res.provider, config)
                policy.validate(args, lambda msg, urn=None, res=res, p=policy: found[p.name].append((res.name, msg)))
        else:
            args = StackValidationArgs(resources, config)
            policy.validate(args, lambda msg, urn=None, p=policy: found[p.name].append((urn, msg)))
    return found


@pytest.fixture(scope="module")
def weak() -> dict[str, list[tuple[str | None, str]]]:
    graph = record_program(WEAK, {})
    assert len([r for r in graph if r["custom"]]) >= 12
    return run_policies(to_policy_resources(graph))


def flagged(found, policy: str, name: str) -> bool:
    return any(name in (who or "") or name in msg for who, msg in found[policy])


@pytest.mark.parametrize("policy, resource", [
    ("s3-versioning", "naked"),
    ("s3-object-lock", "naked"),
    ("s3-object-lock", "legacy"),
    ("s3-sse-kms-cmk", "naked"),
    ("s3-sse-kms-cmk", "legacy"),          # AES256 is not SSE-KMS with a CMK
    ("s3-public-access-block", "legacy"),  # restrictPublicBuckets false
    ("s3-public-access-block", "naked"),   # no block at all
    ("s3-acls-disabled", "naked"),
    ("s3-tls-only", "legacy"),
    ("s3-lifecycle-abort-multipart", "naked"),
    ("s3-noncurrent-expiry", "legacy"),
    ("s3-replication-cross-region", "legacy"),
    ("s3-replication-replica-key", "legacy"),
    ("s3-replication-no-delete-markers", "legacy"),
    ("s3-replication-destination-locked", "naked"),  # no lock on the replication target
    ("kms-key-rotation", "stale-key"),
    ("production-protected", "stale-key"),
    ("secrets-cmk", "session-secret"),
    ("secrets-recovery-window", "session-secret"),
    ("secrets-replicas", "session-secret"),
    ("runner-no-delete", "runner"),
    ("provider-allowed-accounts", "loose"),
    ("drill-ttl-unprotected", "drill-scratch"),
])
def test_weakness_is_flagged(weak, policy, resource):
    assert flagged(weak, policy, resource), f"{policy} missed {resource}: {weak[policy]}"


def test_messages_name_the_problem(weak):
    assert any("s3:*" in msg or "Delete" in msg for _, msg in weak["runner-no-delete"])
    assert any("0" in msg for _, msg in weak["secrets-recovery-window"])
    assert any("AES256" in msg or "aws:kms" in msg or "KMS" in msg for _, msg in weak["s3-sse-kms-cmk"])


def test_drill_resource_flagged_for_both_protect_and_missing_ttl(weak):
    messages = [m for who, m in weak["drill-ttl-unprotected"] if "drill-scratch" in (who or "") + m]
    assert len(messages) >= 2, messages


def test_versioned_bucket_is_not_flagged_for_versioning(weak):
    # legacy has a BucketVersioning: the rule must tell the two buckets apart, not flag everything.
    assert not flagged(weak, "s3-versioning", "legacy")


def test_real_program_passes_every_mandatory_policy():
    graph = record_program(REPO / "infra", {"deedbox:config": "backup.yaml"})
    found = run_policies(to_policy_resources(graph))
    failing = {p: v for p, v in found.items() if v}
    assert not failing
