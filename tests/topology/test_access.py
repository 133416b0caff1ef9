"""Pure IAM helpers: the runner's policy, trust policies, replication permissions."""

from __future__ import annotations

import pytest

from deedbox.topology.access import (
    DELETE_CLASS_ACTIONS,
    REPLICATION_SOURCE_OBJECTS,
    allowed_actions,
    cross_account_replication_grant,
    github_subject,
    github_trust_policy,
    grants_any,
    replica_key_statement,
    replication_role_policy,
    runner_policy,
    s3_trust_policy,
)

BUCKET = "arn:aws:s3:::guild-backup-222222222222-eu-west-1"
KEYS = dict(account="222222222222", regions=["eu-west-1", "eu-central-1"],
            key_aliases=["alias/deedbox/guild/store", "alias/deedbox/guild/vault"])
SECRETS = "arn:aws:secretsmanager:*:222222222222:secret:deedbox/guild/*"


def _runner(**kw):
    return runner_policy(bucket_arn=BUCKET, prefixes=["backend/", "media/", "drills/"], **KEYS,
                         secret_pattern=SECRETS, **kw)


def test_runner_policy_allows_no_delete_class_action_even_through_wildcards():
    assert grants_any(allowed_actions(_runner()), DELETE_CLASS_ACTIONS) == []


@pytest.mark.parametrize("pattern", ["s3:*", "*", "s3:Delete*", "S3:PUTBUCKET*", "kms:*", "secretsmanager:*"])
def test_the_wildcard_check_itself_catches_broad_grants(pattern):
    assert grants_any([pattern], DELETE_CLASS_ACTIONS)


def test_runner_policy_grants_put_and_read_only_under_backup_prefixes():
    by_sid = {s["Sid"]: s for s in _runner()["Statement"]}
    write = by_sid["WriteAndReadBackups"]
    assert {"s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"} <= set(write["Action"])
    assert write["Resource"] == [f"{BUCKET}/backend/*", f"{BUCKET}/media/*", f"{BUCKET}/drills/*"]
    # keys by alias, in both regions (the vault's replica key has the alias too): known at preview
    assert by_sid["UseBackupKeys"]["Resource"] == ["arn:aws:kms:eu-west-1:222222222222:key/*",
                                                   "arn:aws:kms:eu-central-1:222222222222:key/*"]
    assert by_sid["UseBackupKeys"]["Condition"] == {"ForAnyValue:StringEquals": {
        "kms:ResourceAliases": ["alias/deedbox/guild/store", "alias/deedbox/guild/vault"]}}
    assert by_sid["WriteAndVerifySecrets"]["Resource"] == [SECRETS]
    assert "secretsmanager:PutSecretValue" in by_sid["WriteAndVerifySecrets"]["Action"]


def test_runner_policy_denies_every_destructive_action_explicitly():
    deny = next(s for s in _runner()["Statement"] if s["Effect"] == "Deny")
    assert deny["Resource"] == "*"
    assert not [a for a in DELETE_CLASS_ACTIONS if not grants_any(deny["Action"], [a])]


def test_runner_policy_without_secrets_has_no_secrets_statement():
    doc = runner_policy(bucket_arn=BUCKET, prefixes=["backend/"], **KEYS)
    assert not [a for a in allowed_actions(doc) if a.startswith("secretsmanager:")]


def test_github_subject_prefers_environment_over_branch():
    assert github_subject("acme/x", branch="main", environment=None) == "repo:acme/x:ref:refs/heads/main"
    assert github_subject("acme/x", branch="main", environment="prod") == "repo:acme/x:environment:prod"


def test_github_trust_policy_pins_audience_and_subject():
    (s,) = github_trust_policy("arn:aws:iam::2:oidc-provider/token.actions.githubusercontent.com",
                               "repo:acme/x:ref:refs/heads/main")["Statement"]
    assert s["Action"] == ["sts:AssumeRoleWithWebIdentity"] and "Resource" not in s
    assert s["Condition"] == {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                               "token.actions.githubusercontent.com:sub": "repo:acme/x:ref:refs/heads/main"}}


def test_s3_trust_policy():
    (s,) = s3_trust_policy()["Statement"]
    assert s["Principal"] == {"Service": "s3.amazonaws.com"} and s["Action"] == ["sts:AssumeRole"]


def test_replication_role_policy_has_exactly_the_documented_permissions():
    doc = replication_role_policy(source_bucket_arn="arn:aws:s3:::a", destination_bucket_arn="arn:aws:s3:::b",
                                  source_key_arns=["ka"],
                                  destination_key=replica_key_statement("2", "eu-central-1", "alias/x"))
    s = {x["Sid"]: x for x in doc["Statement"]}
    assert s["ReadSourceConfiguration"]["Action"] == ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    assert set(s["ReadSourceVersions"]["Action"]) == set(REPLICATION_SOURCE_OBJECTS)
    assert s["ReadSourceVersions"]["Resource"] == ["arn:aws:s3:::a/*"]
    assert {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"} <= set(s["WriteReplicas"]["Action"])
    assert s["WriteReplicas"]["Resource"] == ["arn:aws:s3:::b/*"]
    assert s["DecryptSource"] == {"Sid": "DecryptSource", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["ka"]}
    assert s["EncryptReplicas"]["Resource"] == ["arn:aws:kms:eu-central-1:2:key/*"]
    assert s["EncryptReplicas"]["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/x"]}}
    assert not grants_any(allowed_actions(doc), ["s3:DeleteObject", "s3:DeleteObjectVersion"])


def test_cross_account_grant_uses_the_source_account_principal_and_role_condition():
    write, bucket = cross_account_replication_grant("111111111111", "arn:aws:iam::111111111111:role/r", "arn:aws:s3:::b")
    assert write["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert write["Condition"] == {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::111111111111:role/r"]}}
    assert "s3:ObjectOwnerOverrideToBucketOwner" in write["Action"] and bucket["Resource"] == ["arn:aws:s3:::b"]


def test_runner_policy_reads_a_media_source_read_only():
    doc = _runner(source_bucket="guild-media-prod", source_prefixes=["uploads/"])
    s = {x["Sid"]: x for x in doc["Statement"]}
    assert s["ReadMediaSource"]["Resource"] == ["arn:aws:s3:::guild-media-prod/uploads/*"]
    assert s["ReadMediaSource"]["Action"] == ["s3:GetObject", "s3:GetObjectAttributes", "s3:GetObjectVersion",
                                              "s3:GetObjectVersionAttributes"]
    assert "DecryptMediaSource" not in s
    assert s["ListMediaSource"]["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*"]}}
    assert grants_any(allowed_actions(doc), DELETE_CLASS_ACTIONS) == []
    assert not grants_any(s["ReadMediaSource"]["Action"], ["s3:PutObject"])


def test_runner_decrypts_sse_kms_media_only_through_s3_in_the_source_region():
    doc = _runner(source_bucket="guild-media-prod", source_prefixes=["uploads/"],
                  source_key_scope=("111111111111", "us-east-1"))
    (decrypt,) = [x for x in doc["Statement"] if x["Sid"] == "DecryptMediaSource"]
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Resource"] == ["arn:aws:kms:us-east-1:111111111111:key/*"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert grants_any(allowed_actions(doc), DELETE_CLASS_ACTIONS) == []


def test_runner_may_put_and_read_records_and_restore_logs_but_never_delete_them():
    from deedbox.bucket.layout import PREFIXES

    doc = runner_policy(bucket_arn=BUCKET, prefixes=list(PREFIXES.values()), **KEYS)
    s = {x["Sid"]: x for x in doc["Statement"]}
    for prefix in ("records/", "restores/"):
        assert f"{BUCKET}/{prefix}*" in s["WriteAndReadBackups"]["Resource"]
        assert f"{prefix}*" in s["ListBackups"]["Condition"]["StringLike"]["s3:prefix"]
    assert {"s3:PutObject", "s3:GetObject"} <= set(s["WriteAndReadBackups"]["Action"])
    assert grants_any(allowed_actions(doc), DELETE_CLASS_ACTIONS) == []
    assert s["NeverDestroyOrReconfigure"]["Resource"] == "*"
