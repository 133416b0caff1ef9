"""Pure policy and lifecycle helpers: plain pytest, no Pulumi."""

from __future__ import annotations

import pytest

from deedbox.config.model import Storage
from deedbox.topology.documents import (
    bucket_policy,
    exemptions,
    key_policy,
    lifecycle_rules,
    media_source_read_policy,
    noncurrent_days,
    secret_policy,
)

ARN = "arn:aws:s3:::guild-backup-222222222222-eu-west-1"
BREAK_GLASS = "arn:aws:iam::222222222222:role/backup-break-glass"
DEPLOYER = "arn:aws:iam::222222222222:role/deedbox-deployer"


def _sids(doc):
    return {s["Sid"]: s for s in doc["Statement"]}


def test_exemptions_fall_back_to_the_account_root_only():
    assert exemptions("222222222222", None, None) == ["arn:aws:iam::222222222222:root"]
    assert exemptions("222222222222", DEPLOYER, BREAK_GLASS, None) == [BREAK_GLASS, DEPLOYER]


def test_bucket_policy_denies_insecure_transport_on_bucket_and_objects():
    s = _sids(bucket_policy(ARN, destroy_exempt=[BREAK_GLASS], config_exempt=[BREAK_GLASS]))["DenyInsecureTransport"]
    assert s == {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
                 "Resource": [ARN, f"{ARN}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def test_bucket_policy_separates_destruction_from_reconfiguration():
    doc = _sids(bucket_policy(ARN, destroy_exempt=[BREAK_GLASS], config_exempt=[BREAK_GLASS, DEPLOYER]))
    destroy, config = doc["DenyDataDestruction"], doc["DenyProtectionChanges"]
    assert destroy["Condition"] == {"StringNotLike": {"aws:PrincipalArn": [BREAK_GLASS]}}
    assert config["Condition"] == {"StringNotLike": {"aws:PrincipalArn": [BREAK_GLASS, DEPLOYER]}}
    assert "s3:DeleteObjectVersion" in destroy["Action"] and "s3:BypassGovernanceRetention" in destroy["Action"]
    assert "s3:PutBucketPolicy" in config["Action"] and "s3:DeleteObject" not in config["Action"]
    assert destroy["Principal"] == config["Principal"] == "*"


def test_bucket_policy_appends_extra_statements():
    extra = {"Sid": "X", "Effect": "Allow", "Action": ["s3:ReplicateObject"], "Resource": [f"{ARN}/*"]}
    assert bucket_policy(ARN, destroy_exempt=[], config_exempt=[], extra=[extra])["Statement"][-1] is extra


def test_key_policy_names_roles_by_condition_per_account_and_limits_destruction():
    doc = key_policy("222222222222", destroy_exempt=[BREAK_GLASS], users={
        "222222222222": ["arn:aws:iam::222222222222:role/guild-deedbox-runner"],
        "111111111111": ["arn:aws:iam::111111111111:role/guild-deedbox-media-replication"]})
    admin, src, dst, recover, deny = doc["Statement"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    # the account administers the key through IAM but cannot use it: no kms:*, no Decrypt, no CreateGrant
    assert not [a for a in admin["Action"] if a in ("kms:*", "kms:Decrypt", "kms:Encrypt", "kms:CreateGrant",
                                                       "kms:GenerateDataKey", "kms:PutKeyPolicy")]
    assert "kms:Decrypt" not in str(admin["Action"]) and "kms:*" not in admin["Action"]
    assert recover["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [BREAK_GLASS]}}
    assert "kms:PutKeyPolicy" in recover["Action"]
    assert src["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert dst["Condition"]["ArnEquals"]["aws:PrincipalArn"] == ["arn:aws:iam::222222222222:role/guild-deedbox-runner"]
    assert "kms:Decrypt" in dst["Action"] and "kms:ScheduleKeyDeletion" not in dst["Action"]
    assert deny["Effect"] == "Deny" and {"kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey"} <= set(deny["Action"])
    assert deny["Condition"] == {"StringNotLike": {"aws:PrincipalArn": [BREAK_GLASS]}}


def test_key_policy_service_condition_limits_use_to_secrets_manager():
    doc = key_policy("2", users={"2": ["r"]}, destroy_exempt=["b"], service="secretsmanager.eu-west-1.amazonaws.com")
    assert doc["Statement"][1]["Condition"]["StringLike"] == {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}


def test_secret_policy_denies_values_to_everyone_else():
    (deny,) = secret_policy(value_users=["runner", BREAK_GLASS])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
    assert deny["Condition"]["StringNotLike"]["aws:PrincipalArn"] == ["runner", BREAK_GLASS]


def test_media_source_read_policy_is_read_only_and_prefix_scoped():
    doc = media_source_read_policy("guild-media-prod", ["uploads/", "courses/"], "arn:aws:iam::2:role/r")
    actions = {a for s in doc["Statement"] for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes",
                       "s3:GetObjectVersionAttributes"}
    assert all(s["Principal"] == {"AWS": "arn:aws:iam::2:role/r"} for s in doc["Statement"])
    assert doc["Statement"][0]["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*", "courses/*"]}}
    assert doc["Statement"][1]["Resource"] == ["arn:aws:s3:::guild-media-prod/uploads/*", "arn:aws:s3:::guild-media-prod/courses/*"]


@pytest.mark.parametrize("configured, lock, expected", [(None, 35, 35), (10, 35, 35), (60, 35, 60)])
def test_noncurrent_versions_never_expire_before_the_lock(configured, lock, expected):
    assert noncurrent_days(Storage(noncurrent_expire_after_days=configured), lock) == expected


def test_lifecycle_rules_full():
    rules = {r["id"]: r for r in lifecycle_rules(
        Storage(archive_after_days=30, archive_class="GLACIER_IR", expire_after_days=400), 35)}
    assert rules["abort-incomplete-multipart"]["abort_incomplete_multipart_upload"] == {"days_after_initiation": 7}
    assert rules["expire-noncurrent-versions"]["noncurrent_version_expiration"] == {"noncurrent_days": 35}
    assert rules["archive"]["transitions"] == [{"days": 30, "storage_class": "GLACIER_IR"}]
    assert rules["expire-current-versions"]["expiration"] == {"days": 400}
    assert all(r["status"] == "Enabled" and r["filter"] == {"prefix": ""} for r in rules.values())


def test_lifecycle_without_archive_or_expiry():
    ids = [r["id"] for r in lifecycle_rules(Storage(archive_after_days=None, expire_after_days=None), 35)]
    assert ids == ["abort-incomplete-multipart", "expire-noncurrent-versions"]
