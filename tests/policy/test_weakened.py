"""Each weakness, introduced into an otherwise compliant graph, fails exactly the rule meant to catch it."""

from __future__ import annotations

import json

import pytest

from deedbox.plan.evaluate import evaluate
from deedbox.plan.graph import Graph
from deedbox.policy import RULES
from tests.policy.builders import RUNNER_POLICY, edit, good_graph


def failing(graph: Graph) -> set[str]:
    return {v.policy for v in evaluate(graph) if v.status == "fail"}


def _set(path: str, value):
    *head, last = path.split(".")

    def change(inputs: dict):
        node = inputs
        for step in head:
            node = node[int(step)] if step.isdigit() else node[step]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value

    return change


def _drop(inputs: dict) -> str:
    return "drop"


def _runner_allows(action):
    doc = json.loads(json.dumps(RUNNER_POLICY))
    doc["Statement"].append({"Effect": "Allow", "Action": action, "Resource": "*"})
    return _set("policy", json.dumps(doc))


WEAKENINGS = {
    "versioning removed": ("guild-backup-versioning", _drop, {}, "s3-versioning"),
    "versioning suspended": ("guild-backup-versioning", _set("versioningConfiguration.status", "Suspended"), {},
                             "s3-versioning"),
    "public-access flag false": ("guild-backup-pab", _set("restrictPublicBuckets", False), {},
                                 "s3-public-access-block"),
    "replication without replica key": ("guild-replication",
                                        _set("rules.0.destination.encryptionConfiguration", KeyError), {},
                                        "s3-replication-replica-key"),
    "delete-marker replication on": ("guild-replication", _set("rules.0.deleteMarkerReplication.status", "Enabled"),
                                     {}, "s3-replication-no-delete-markers"),
    "runner allowed s3:PutObjectRetention": ("guild-runner-policy", _runner_allows("s3:PutObjectRetention"), {},
                                             "runner-no-delete"),
    "runner allowed s3:*": ("guild-runner-policy", _runner_allows("s3:*"), {}, "runner-no-delete"),
    # "*" covers iam:PassRole on "*" too: whoever holds it can pass any role to a batch job
    "runner allowed *": ("guild-runner-policy", _runner_allows("*"), {}, {"runner-no-delete", "batch-least-privilege"}),
    "unpinned provider": ("destination", _set("allowedAccountIds", KeyError), {}, "provider-allowed-accounts"),
    "secret without customer key": ("guild-SESSION_SECRET", _set("kmsKeyId", KeyError), {}, "secrets-cmk"),
    "secret with the aws key": ("guild-SESSION_SECRET", _set("kmsKeyId", "alias/aws/secretsmanager"), {},
                                "secrets-cmk"),
    "secret force-deleted": ("guild-SESSION_SECRET", _set("recoveryWindowInDays", 0.0), {},
                             "secrets-recovery-window"),
    "secret not replicated": ("guild-SESSION_SECRET", _set("replicas", []), {}, "secrets-replicas"),
    "no object lock": ("guild-backup-lock", _drop, {}, "s3-object-lock"),
    "lock too short": ("guild-backup-lock", _set("rule.defaultRetention.days", 7.0), {}, "s3-object-lock"),
    "SSE AES256": ("guild-backup-sse", _set("rules.0.applyServerSideEncryptionByDefault",
                                            {"sseAlgorithm": "AES256"}), {}, "s3-sse-kms-cmk"),
    "SSE with aws/s3": ("guild-backup-sse", _set("rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId",
                                                 "alias/aws/s3"), {}, "s3-sse-kms-cmk"),
    "key not rotating": ("guild-backup-key", _set("enableKeyRotation", False), {}, "kms-key-rotation"),
    "ownership not enforced": ("guild-backup-ownership", _set("rule.objectOwnership", "ObjectWriter"), {},
                               "s3-acls-disabled"),
    "no TLS deny": ("guild-backup-policy", _set("policy", json.dumps({"Statement": []})), {}, "s3-tls-only"),
    "no abort multipart": ("guild-backup-lifecycle", _set("rules.0.abortIncompleteMultipartUpload", KeyError), {},
                           "s3-lifecycle-abort-multipart"),
    "noncurrent expiry shorter than lock": ("guild-backup-lifecycle",
                                            _set("rules.1.noncurrentVersionExpiration.noncurrentDays", 10.0), {},
                                            "s3-noncurrent-expiry"),
    "replica in the same region": ("guild-replica", _set("region", "eu-west-1"), {}, "s3-replication-cross-region"),
    "replication removed": ("guild-replication", _drop, {}, "s3-replication-cross-region"),
    "production bucket unprotected": ("guild-backup", None, {"protect": False}, "production-protected"),
}


def test_the_compliant_graph_passes_every_rule():
    verdicts = evaluate(good_graph())
    assert {v.policy for v in verdicts} == {r.id for r in RULES}
    assert [v for v in verdicts if v.status == "fail"] == []


@pytest.mark.parametrize("case", sorted(WEAKENINGS))
def test_a_weakness_fails_exactly_its_rule(case):
    name, change, fields, rule_id = WEAKENINGS[case]
    assert failing(edit(good_graph(), name, change, **fields)) == (rule_id if isinstance(rule_id, set) else {rule_id})


def test_destination_without_lock_fails_the_replication_rule_too():
    graph = edit(good_graph(), "guild-replica-lock", _drop)
    assert failing(graph) == {"s3-object-lock", "s3-replication-destination-locked"}


def test_an_unconditional_deny_overrides_a_delete_grant():
    graph = edit(good_graph(), "guild-runner-policy", _runner_allows("s3:DeleteObjectVersion"))
    assert "runner-no-delete" not in failing(graph)
