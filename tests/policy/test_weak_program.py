"""A deliberately weak Pulumi program someone else wrote: every weakness is flagged."""

from __future__ import annotations

import json

from deedbox.plan.engine import record
from deedbox.plan.evaluate import evaluate

ALLOW_ALL_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def weak_program() -> None:
    import pulumi
    import pulumi_aws as aws

    provider = aws.Provider("loose", region="eu-west-1")  # no allowed_account_ids
    opts = pulumi.ResourceOptions(provider=provider)
    data = aws.s3.Bucket("data", opts=opts)  # no versioning, lock, encryption...
    aws.s3.BucketPublicAccessBlock("data-pab", bucket=data.id, block_public_acls=True, block_public_policy=False,
                                   ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
    copy = aws.s3.Bucket("copy", region="eu-central-1", opts=opts)
    role = aws.iam.Role("ops", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}),
                        inline_policies=[{"name": "all", "policy": json.dumps(ALLOW_ALL_S3)}], opts=opts)
    aws.s3.BucketReplicationConfig("data-repl", bucket=data.id, role=role.arn, opts=opts, rules=[
        {"id": "all", "status": "Enabled", "destination": {"bucket": copy.arn}}])
    aws.secretsmanager.Secret("token", opts=opts)  # the default aws/secretsmanager key


def test_every_weakness_of_a_foreign_program_is_flagged():
    verdicts = evaluate(record(weak_program))
    failed = {(v.policy, v.resource.rsplit("::", 1)[-1]) for v in verdicts if v.status == "fail"}
    for expected in [
        ("s3-versioning", "data"), ("s3-object-lock", "data"), ("s3-sse-kms-cmk", "data"),
        ("s3-public-access-block", "data-pab"), ("s3-acls-disabled", "data"), ("s3-tls-only", "data"),
        ("s3-replication-replica-key", "data-repl"), ("s3-replication-destination-locked", "data-repl"),
        ("runner-no-delete", "ops"), ("provider-allowed-accounts", "loose"), ("secrets-cmk", "token"),
        ("secrets-replicas", "token"),
    ]:
        assert expected in failed, expected
    pab = next(v for v in verdicts if v.policy == "s3-public-access-block" and v.resource.endswith("data-pab"))
    assert "blockPublicPolicy" in pab.message and "Fix:" in pab.message
