"""The recorded graph of the reference backup.yaml obeys every mandatory rule, and weakening it
one record at a time fails exactly the rule meant to catch that weakness."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from deedbox.plan.engine import record
from deedbox.plan.evaluate import evaluate, mandatory_failures
from deedbox.plan.graph import Graph
from tests.policy.builders import edit

BUCKET = "aws:s3/bucket:Bucket"


@pytest.fixture(scope="module")
def reference(repo_root) -> Graph:
    """Both programs, as ``deedbox plan`` shows them (the media replication is the source program's)."""
    from deedbox.commands.plan import record_topology
    from deedbox.config import load

    return record_topology(load(repo_root / "backup.yaml"))


def primary(graph: Graph, type_: str) -> str:
    """Name of the first record of ``type_`` that belongs to the primary store (not the replica)."""
    names = [r.name for r in graph.of_type(type_) if "replica" not in r.name and "media" not in r.name]
    assert names, f"the reference topology declares no {type_} outside the replica"
    return names[0]


# The reference replicates media: its replicas are not locked, which the plan says (advisory).
BY_DESIGN = {"media-replicas-unlocked"}


def failing(graph: Graph) -> set[str]:
    return {v.policy for v in evaluate(graph) if v.status == "fail"} - BY_DESIGN


def test_the_plan_says_media_replicas_are_not_locked(reference, repo_root, tmp_path):
    from deedbox.commands.plan import record_topology
    from deedbox.config import load

    verdicts = [v for v in evaluate(reference) if v.policy == "media-replicas-unlocked" and v.status == "fail"]
    assert len(verdicts) == 1 and verdicts[0].level == "advisory" and "guild-media-prod" in verdicts[0].message
    sync = tmp_path / "backup.yaml"
    sync.write_text((repo_root / "backup.yaml").read_text().replace(
        "    mode: replicate\n", "    mode: sync\n    schedule: rate(12 hours)\n"))
    graph = record_topology(load(sync))
    assert not [v for v in evaluate(graph) if v.policy == "media-replicas-unlocked" and v.status == "fail"]


def test_reference_passes_every_mandatory_rule(reference):
    assert mandatory_failures(evaluate(reference)) == []
    assert failing(reference) == set()


def _put(path: str, value) -> Callable[[dict], None]:
    *head, last = path.split(".")

    def change(inputs: dict) -> None:
        node = inputs
        for step in head:
            node = node[int(step)] if step.isdigit() else node[step]
        if value is KeyError:
            node.pop(last, None)
        else:
            node[last] = value
    return change


def _drop(inputs: dict) -> str:
    return "drop"


def _allow(action: str) -> Callable[[dict], None]:
    def change(inputs: dict) -> None:
        doc = json.loads(inputs["policy"])
        doc["Statement"].append({"Effect": "Allow", "Action": action, "Resource": "*"})
        inputs["policy"] = json.dumps(doc)
    return change


# The primary store is also the destination of the media replication, so losing its versioning or
# its lock fails the replication-destination rule as well: both are meant to catch it.
DEST = "s3-replication-destination-locked"
CASES = {
    "versioning removed": ("aws:s3/bucketVersioning:BucketVersioning", _drop, {"s3-versioning", DEST}),
    "public-access flag false": ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                                 _put("ignorePublicAcls", False), "s3-public-access-block"),
    "no object lock": ("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", _drop,
                       {"s3-object-lock", DEST}),
    "lock too short": ("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                       _put("rule.defaultRetention.days", 3.0), "s3-object-lock"),
    "SSE AES256": ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   _put("rules.0.applyServerSideEncryptionByDefault", {"sseAlgorithm": "AES256"}), "s3-sse-kms-cmk"),
    "ownership not enforced": ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                               _put("rule.objectOwnership", "BucketOwnerPreferred"), "s3-acls-disabled"),
    "no TLS deny": ("aws:s3/bucketPolicy:BucketPolicy", _drop, {"s3-tls-only", "s3-write-once"}),
    "key not rotating": ("aws:kms/key:Key", _put("enableKeyRotation", False), "kms-key-rotation"),
    "unpinned provider": ("pulumi:providers:aws", _put("allowedAccountIds", KeyError), "provider-allowed-accounts"),
    "secret without customer key": ("aws:secretsmanager/secret:Secret", _put("kmsKeyId", KeyError), "secrets-cmk"),
    "secret recoverable 3 days": ("aws:secretsmanager/secret:Secret", _put("recoveryWindowInDays", 3.0),
                                  "secrets-recovery-window"),
    "secret without replicas": ("aws:secretsmanager/secret:Secret", _put("replicas", KeyError), "secrets-replicas"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_weakened_reference_fails_exactly_its_rule(reference, case):
    type_, change, rule_id = CASES[case]
    expected = rule_id if isinstance(rule_id, set) else {rule_id}
    assert failing(edit(reference, primary(reference, type_), change)) == expected


def _replication(graph: Graph) -> str:
    names = [r.name for r in graph.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
             if "media" not in r.name]
    assert names, "the reference topology declares no store replication"
    return names[0]


@pytest.mark.parametrize("path, value, rule_id", [
    ("rules.0.destination.encryptionConfiguration", KeyError, "s3-replication-replica-key"),
    ("rules.0.deleteMarkerReplication.status", "Enabled", "s3-replication-no-delete-markers"),
])
def test_weakened_replication_fails_exactly_its_rule(reference, path, value, rule_id):
    assert failing(edit(reference, _replication(reference), _put(path, value))) == {rule_id}


def _runner_policy(graph: Graph) -> str:
    return [r.name for r in graph.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-runner-policy")][0]


def test_runners_explicit_deny_outweighs_a_wildcard_grant(reference):
    assert failing(edit(reference, _runner_policy(reference), _allow("s3:*"))) == set()


def _without_deny(inputs: dict) -> None:
    doc = json.loads(inputs["policy"])
    doc["Statement"] = [s for s in doc["Statement"] if s["Effect"] != "Deny"]
    inputs["policy"] = json.dumps(doc)


@pytest.mark.parametrize("action", ["s3:DeleteObject", "s3:*", "s3:Delete*", "*"])
def test_runner_allowed_delete_fails_only_the_runner_rule(reference, action):
    weakened = edit(edit(reference, _runner_policy(reference), _without_deny), _runner_policy(reference),
                    _allow(action))
    # "*" covers iam:PassRole on "*" too, which batch-least-privilege refuses on any role
    assert failing(weakened) == {"runner-no-delete"} | ({"batch-least-privilege"} if action == "*" else set())


def test_replica_in_the_same_region_fails_cross_region(reference):
    replica = [r.name for r in reference.of_type(BUCKET) if "replica" in r.name]
    assert replica, "the reference config declares a replica bucket"
    weakened = edit(reference, replica[0], _put("region", "eu-west-1"))
    assert failing(weakened) == {"s3-replication-cross-region"}


@pytest.fixture(scope="module")
def drill(repo_root) -> Graph:
    mp = pytest.MonkeyPatch()
    mp.setenv("CONVEX_PROJECT_ID", "project-1")
    mp.setenv("CONVEX_TEAM_TOKEN", "team-token-canary")
    try:
        return record(repo_root / "infra" / "drill", project="deedbox-drill", config={
            "deedbox-drill:config": str(repo_root / "backup.yaml"), "deedbox-drill:drillId": "drill-20261127T060000Z",
            "deedbox-drill:expiresAt": "2026-11-27T09:00:00Z", "deedbox-drill:bucket": "guild-backup"})
    finally:
        mp.undo()


DEPLOYMENT = "pulumi-python:dynamic/deedbox:ConvexDeployment"


def test_the_drill_stack_passes_every_rule(drill):
    assert drill.of_type(DEPLOYMENT) and not [r for r in drill if r.type.startswith("aws:")]
    assert failing(drill) == set()


def test_a_protected_or_ttl_less_drill_resource_fails_the_drill_rule(drill):
    deployment = drill.of_type(DEPLOYMENT)[0].name
    assert failing(edit(drill, deployment, None, protect=True)) == {"drill-ttl-unprotected"}
    assert failing(edit(drill, deployment, lambda i: i["tags"].pop("deedbox:expires"))) == {"drill-ttl-unprotected"}


def test_without_its_replication_the_store_is_not_covered_by_receiving_media(reference):
    # the store still receives the media replication, which must not count as being replicated
    weakened = edit(reference, _replication(reference), _drop)
    assert failing(weakened) == {"s3-replication-cross-region"}


def _without_statement(sid: str) -> Callable[[dict], None]:
    def change(inputs: dict) -> None:
        doc = json.loads(inputs["policy"])
        doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != sid]
        inputs["policy"] = json.dumps(doc)
    return change


def test_a_store_that_lets_the_runner_overwrite_fails_write_once(reference):
    weakened = edit(reference, primary(reference, "aws:s3/bucketPolicy:BucketPolicy"),
                    _without_statement("DenyUnconditionalWrites"))
    assert failing(weakened) == {"s3-write-once"}
