"""Rule functions one by one, on resource dicts: the cases the graph tests do not reach."""

from __future__ import annotations

import json

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from deedbox.policy import POLICIES, iam, rule_by_id
from deedbox.policy.view import Res, stack_of

S = "urn:pulumi:s::p::"


def res(type_: str, name: str, protect: bool = False, provider: str | None = "prov", deps=(), **props) -> Res:
    return Res(type=type_, name=name, urn=S + f"{type_}::{name}", props=props, protect=protect,
               provider=provider, dependencies=tuple(deps))


def findings(rule_id: str, *resources: Res, **settings) -> list[str]:
    return [m for _, m in rule_by_id(rule_id).findings(stack_of(resources), settings)]


# --- IAM document analysis ----------------------------------------------------------------------

@pytest.mark.parametrize("action, expected", [
    ("s3:GetObject", []), ("s3:DeleteObject", ["s3:DeleteObject"]),
    ("s3:delete*", ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:DeleteBucketPolicy"]),
])
def test_allowed_actions_globs_case_insensitively(action, expected):
    doc = {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
    assert iam.allowed_actions([json.dumps(doc)]) == expected


def test_not_action_allows_everything_not_listed():
    doc = {"Statement": {"Effect": "Allow", "NotAction": ["s3:Delete*", "kms:*", "secretsmanager:*"],
                         "Resource": "*"}}
    assert "s3:PutObjectRetention" in iam.allowed_actions([doc])
    assert "s3:DeleteObject" not in iam.allowed_actions([doc])


def test_a_conditional_deny_does_not_make_a_grant_safe():
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                         {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                          "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]}
    assert "s3:DeleteObject" in iam.allowed_actions([doc])


@pytest.mark.parametrize("statement, ok", [
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
     True),
    ({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
      "Condition": {"Bool": {"aws:SecureTransport": False}}}, True),
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
      "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, False),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
     False),
])
def test_tls_deny_detection(statement, ok):
    assert iam.denies_insecure_transport(json.dumps({"Statement": [statement]})) is ok


# --- joins and tokens -----------------------------------------------------------------------------

def test_bucketv2_and_an_unknown_bucket_name_join_through_dependencies():
    bucket = res("aws:s3/bucketV2:BucketV2", "b", objectLockEnabled=True)
    versioning = res("aws:s3/bucketVersioning:BucketVersioning", "v", bucket="[unknown]", deps=[bucket.urn],
                     versioningConfiguration={"status": "Enabled"})
    assert findings("s3-versioning", bucket, versioning) == []
    assert findings("s3-versioning", bucket) != []


def test_inline_v6_settings_count():
    bucket = res("aws:s3/bucket:Bucket", "b", versioning={"enabled": True},
                 serverSideEncryptionConfiguration={"rule": {"applyServerSideEncryptionByDefault": {
                     "sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:aws:kms:eu-west-1:1:key/k"}}})
    assert findings("s3-versioning", bucket) == [] and findings("s3-sse-kms-cmk", bucket) == []


def test_drill_buckets_are_not_backup_buckets():
    bucket = res("aws:s3/bucket:Bucket", "drill", tags={"deedbox:drill": "d1", "deedbox:expires": "2026-01-01"})
    assert findings("s3-versioning", bucket) == [] and findings("s3-object-lock", bucket) == []


# --- thresholds -----------------------------------------------------------------------------------

def _locked(days: float) -> tuple[Res, Res]:
    bucket = res("aws:s3/bucket:Bucket", "b", bucket="b", objectLockEnabled=True)
    lock = res("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "l", bucket="b",
               rule={"defaultRetention": {"mode": "GOVERNANCE", "days": days}})
    return bucket, lock


def test_lock_threshold_defaults_to_30_days_and_is_configurable():
    assert findings("s3-object-lock", *_locked(30.0)) == []
    assert findings("s3-object-lock", *_locked(29.0)) == [
        "bucket b locks objects for 29 days, less than 30 (GOVERNANCE). Fix: " + rule_by_id("s3-object-lock").fix]
    assert findings("s3-object-lock", *_locked(30.0), minRetentionDays=35) != []


def test_years_count_as_days():
    bucket, lock = _locked(0)
    lock = Res(lock.type, lock.name, lock.urn, {"bucket": "b", "rule": {"defaultRetention": {"years": 1}}})
    assert findings("s3-object-lock", bucket, lock, minRetentionDays=365) == []


def test_replica_requirement_can_be_turned_off():
    bucket, lock = _locked(30.0)
    assert findings("s3-replication-cross-region", bucket) == [
        "bucket b is not replicated to another region. Fix: " + rule_by_id("s3-replication-cross-region").fix]
    assert findings("s3-replication-cross-region", bucket, requireReplica=False) == []


def test_replication_to_an_undeclared_bucket_cannot_be_proven_locked():
    config = res("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "r", bucket="x",
                 rules=[{"status": "Enabled", "destination": {"bucket": "arn:aws:s3:::elsewhere"}}])
    assert findings("s3-replication-destination-locked", config)[0].startswith(
        "replication r writes to arn:aws:s3:::elsewhere not declared here")


# --- resource rules -------------------------------------------------------------------------------

def test_drill_resources_need_a_ttl_and_no_protection():
    good = res("aws:iam/role:Role", "d", tags={"deedbox:drill": "x", "deedbox:expires": "2026-11-27T09:00:00Z"})
    bad = res("aws:iam/role:Role", "e", protect=True, tags={"deedbox:drill": "x"})
    assert findings("drill-ttl-unprotected", good) == []
    assert [m.split(". Fix")[0] for m in findings("drill-ttl-unprotected", bad)] == [
        "drill resource e has no deedbox:expires tag",
        "drill resource e is protected, so the drill cannot tear it down"]


def test_default_provider_is_flagged():
    assert findings("provider-allowed-accounts", res("aws:kms/key:Key", "k", provider=None))[0].startswith(
        "k uses the default aws provider")


def test_asymmetric_keys_need_no_rotation():
    assert findings("kms-key-rotation", res("aws:kms/key:Key", "k", customerMasterKeySpec="RSA_2048")) == []
    assert findings("kms-key-rotation", res("aws:kms/key:Key", "k")) != []


def test_managed_admin_policy_attachment_fails_the_runner_rule():
    role = res("aws:iam/role:Role", "runner", managedPolicyArns=["arn:aws:iam::aws:policy/AmazonS3FullAccess"])
    assert findings("runner-no-delete", role)[0].startswith("runner has the managed policy AmazonS3FullAccess")


# --- the pulumi_policy callbacks, as the engine calls them ----------------------------------------

def _opts(protect=False):
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def test_resource_policy_reports_through_the_engine_callback():
    policy = next(p for p in POLICIES if p.name == "secrets-recovery-window")
    reported = []
    args = ResourceValidationArgs("aws:secretsmanager/secret:Secret", {"recoveryWindowInDays": 10.0}, S + "s", "s",
                                  _opts(), None, {"minRecoveryDays": 14.0, "enforcementLevel": "mandatory"})
    policy.validate(args, lambda msg, urn=None: reported.append(msg))
    assert reported == ["secret s is recoverable for 10 days only. Fix: " + rule_by_id("secrets-recovery-window").fix]


def test_stack_policy_sees_provider_props_from_the_engine():
    policy = next(p for p in POLICIES if p.name == "provider-allowed-accounts")
    provider = PolicyProviderResource("pulumi:providers:aws", {"region": "eu-west-1"}, S + "prov", "default_7_51_0")
    key = PolicyResource("aws:kms/key:Key", {}, S + "k", "k", _opts(True), provider, None, [], {})
    reported = []
    policy.validate(StackValidationArgs([key]), lambda msg, urn=None: reported.append((urn, msg)))
    assert reported and reported[0][0] == S + "prov" and "default_7_51_0 has no allowedAccountIds" in reported[0][1]
