"""Hand-built, engine-shaped resource graphs for the policy and plan tests.

``good_graph()`` mirrors the reference topology (store, replica, replication, vault, runner, the
dead-man's switch of the backend signal), every resource with the camelCase inputs the recorder
captures. ``edit`` derives a weakened
graph by changing one record, so each test can assert exactly which rule catches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from deedbox.plan.graph import Graph, ResourceRecord

STACK = "urn:pulumi:plan::deedbox::"
DEST, REPLICA = "eu-west-1", "eu-central-1"
PROVIDER_URN = STACK + "pulumi:providers:aws::destination"
PROVIDER = PROVIDER_URN + "::provider-id"
TLS_DENY = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
RUNNER_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"], "Resource": "*"},
    {"Effect": "Deny", "Action": ["s3:DeleteObject*", "s3:PutBucket*"], "Resource": "*"},
]}


def rec(type_: str, name: str, inputs: dict[str, Any], *, protect: bool = False, deps: tuple = (),
        provider: str | None = PROVIDER, id_: str | None = None, outputs: dict | None = None) -> ResourceRecord:
    urn = STACK + f"{type_}::{name}"
    return ResourceRecord(type=type_, name=name, urn=urn, custom=True, inputs=inputs, provider=provider,
                          protect=protect, dependencies=tuple(deps), id=id_ or f"{name}-id",
                          outputs=outputs or {})


def urn(type_: str, name: str) -> str:
    return STACK + f"{type_}::{name}"


def store(prefix: str, bucket: str, region: str | None) -> list[ResourceRecord]:
    """A complete backup store: bucket, key and every sibling setting."""
    where = {"region": region} if region else {}
    key_arn = f"arn:aws:kms:{region or DEST}:222222222222:key/{prefix}"
    key = rec("aws:kms/key:Key", f"{prefix}-key", {"enableKeyRotation": True, **where}, protect=True,
              outputs={"arn": key_arn})
    b = rec("aws:s3/bucket:Bucket", prefix, {"bucket": bucket, "objectLockEnabled": True, **where},
            protect=True, id_=bucket, outputs={"arn": f"arn:aws:s3:::{bucket}"})
    on = {"bucket": bucket, **where}
    return [
        key, b,
        rec("aws:s3/bucketVersioning:BucketVersioning", f"{prefix}-versioning",
            {**on, "versioningConfiguration": {"status": "Enabled"}}),
        rec("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", f"{prefix}-lock",
            {**on, "objectLockEnabled": "Enabled", "rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 35.0}}}),
        rec("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"{prefix}-sse", {**on, "rules": [{"applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}, "bucketKeyEnabled": True}]}),
        rec("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{prefix}-pab",
            {**on, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
             "restrictPublicBuckets": True}),
        rec("aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"{prefix}-ownership",
            {**on, "rule": {"objectOwnership": "BucketOwnerEnforced"}}),
        rec("aws:s3/bucketPolicy:BucketPolicy", f"{prefix}-policy",
            {**on, "policy": json.dumps({"Version": "2012-10-17", "Statement": [TLS_DENY]})}),
        rec("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"{prefix}-lifecycle",
            {**on, "rules": [
                {"id": "abort", "status": "Enabled", "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7.0}},
                {"id": "noncurrent", "status": "Enabled", "noncurrentVersionExpiration": {"noncurrentDays": 60.0}},
            ]}),
    ]


TOPIC = "arn:aws:sns:eu-west-1:222222222222:guild-deedbox-notifications"
WATCH_GROUP = "/aws/events/deedbox/guild/backend"
SNAPSHOT_PATTERN = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {
    "bucket": {"name": ["guild-backup-222222222222-eu-west-1"]},
    "object": {"key": [{"wildcard": "backend/*/manifest.json"}]}}}


def deadman(bucket: str = "guild-backup-222222222222-eu-west-1") -> list[ResourceRecord]:
    """The dead-man's switch of the backend signal: bucket events -> rule -> log group -> metric -> alarm."""
    return [
        rec("aws:s3/bucketNotification:BucketNotification", "guild-bucket-events", {"bucket": bucket, "eventbridge": True}),
        rec("aws:cloudwatch/eventRule:EventRule", "guild-backend-rule",
            {"name": "guild-deedbox-backend-arrived", "eventPattern": json.dumps(SNAPSHOT_PATTERN)}),
        rec("aws:cloudwatch/eventTarget:EventTarget", "guild-backend-target", {
            "rule": "guild-deedbox-backend-arrived", "targetId": "watch-log",
            "arn": f"arn:aws:logs:eu-west-1:222222222222:log-group:{WATCH_GROUP}"}),
        rec("aws:cloudwatch/logMetricFilter:LogMetricFilter", "guild-backend-count", {
            "name": "deedbox-backend-arrivals", "logGroupName": WATCH_GROUP, "pattern": '{ $.source = "aws.s3" }',
            "metricTransformation": {"name": "BackendSnapshots", "namespace": "Deedbox/guild", "value": "1"}}),
        rec("aws:cloudwatch/metricAlarm:MetricAlarm", "guild-backend-alarm", {
            "name": "guild-deedbox-no-snapshot", "namespace": "Deedbox/guild", "metricName": "BackendSnapshots",
            "statistic": "Sum", "period": 3600.0, "evaluationPeriods": 7.0, "datapointsToAlarm": 7.0,
            "threshold": 1.0, "comparisonOperator": "LessThanThreshold", "treatMissingData": "breaching",
            "alarmActions": [TOPIC], "okActions": [TOPIC]}),
    ]


def good_graph() -> Graph:
    provider = ResourceRecord(type="pulumi:providers:aws", name="destination", urn=PROVIDER_URN, custom=True,
                              inputs={"region": DEST, "allowedAccountIds": '["222222222222"]'}, id="provider-id")
    source = store("guild-backup", "guild-backup-222222222222-eu-west-1", None)
    replica = store("guild-replica", "guild-replica-222222222222-eu-central-1", REPLICA)
    role = rec("aws:iam/role:Role", "guild-replication-role", {"assumeRolePolicy": "{}"})
    replication = rec("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "guild-replication", {
        "bucket": "guild-backup-222222222222-eu-west-1", "role": "arn:aws:iam::222222222222:role/repl",
        "rules": [{"id": "all", "status": "Enabled", "filter": {},
                   "destination": {"bucket": "arn:aws:s3:::guild-replica-222222222222-eu-central-1",
                                   "encryptionConfiguration": {"replicaKmsKeyId": "arn:aws:kms:eu-central-1:2:key/r"}},
                   "deleteMarkerReplication": {"status": "Disabled"},
                   "sourceSelectionCriteria": {"sseKmsEncryptedObjects": {"status": "Enabled"}}}]},
        deps=(urn("aws:s3/bucket:Bucket", "guild-backup"), urn("aws:s3/bucket:Bucket", "guild-replica")))
    vault_key = rec("aws:kms/key:Key", "guild-vault-key", {"enableKeyRotation": True, "multiRegion": True},
                    protect=True, outputs={"arn": "arn:aws:kms:eu-west-1:2:key/vault"})
    replica_key = rec("aws:kms/replicaKey:ReplicaKey", "guild-vault-replica-key",
                      {"primaryKeyArn": "arn:aws:kms:eu-west-1:2:key/vault", "region": REPLICA}, protect=True)
    secret = rec("aws:secretsmanager/secret:Secret", "guild-SESSION_SECRET", {
        "name": "deedbox/guild/SESSION_SECRET", "kmsKeyId": "arn:aws:kms:eu-west-1:2:key/vault",
        "recoveryWindowInDays": 30.0, "replicas": [{"region": REPLICA, "kmsKeyId": "arn:aws:kms:eu-central-1:2:key/v"}]},
        protect=True)
    runner = rec("aws:iam/role:Role", "guild-runner", {"assumeRolePolicy": "{}", "name": "guild-runner"})
    runner_policy = rec("aws:iam/rolePolicy:RolePolicy", "guild-runner-policy",
                        {"role": "guild-runner", "policy": json.dumps(RUNNER_POLICY)})
    return Graph((provider, *source, *replica, role, replication, vault_key, replica_key, secret, runner,
                  runner_policy, *deadman()))


def edit(graph: Graph, name: str, change: Callable[[dict], Any] | None = None, **fields: Any) -> Graph:
    """A copy of ``graph`` where the record ``name`` has its inputs changed (in place on a copy)
    and/or record fields replaced; ``change`` returning ``"drop"`` removes the record."""
    out = []
    for r in graph.resources:
        if r.name != name:
            out.append(r)
            continue
        inputs = json.loads(json.dumps(dict(r.inputs)))
        if change is not None and change(inputs) == "drop":
            continue
        computed = {k: v for k, v in r.outputs.items() if k not in r.inputs}  # mock outputs echo inputs
        out.append(replace(r, inputs=inputs, outputs={**computed, **inputs} if r.outputs else {}, **fields))
    assert len(out) != len(graph.resources) or any(r.name == name for r in graph.resources), name
    return Graph(tuple(out), graph.outputs)
