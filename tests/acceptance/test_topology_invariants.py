"""Issue 3: the real ``infra/`` program, run as the Pulumi engine runs it, under this suite's own
mocks and monitor (not ``deedbox.plan.engine``), satisfies every security invariant of DESIGN.md.

Expectations come from DESIGN.md ("Security invariants") and reference/aws.md, applied to the
repository's ``backup.yaml`` (destination 222222222222/eu-west-1, replica eu-central-1, compliance
lock 35 days, 5 secrets, recovery window 30).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.acceptance._graph import REPO, action_allows, as_list, maybe_json, of_type, record_program, statements

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
FAKE_SECRET = "sk_live_acceptanceFAKE0123456789abcdefXYZ"
CFG = yaml.safe_load((REPO / "backup.yaml").read_text())
LOCK_DAYS = CFG["destination"]["immutability"]["days"]
DEST_ACCOUNT = CFG["destination"]["account"]
DEST_REGION = CFG["destination"]["region"]
REPLICA_REGION = CFG["destination"]["replica"]["region"]


@pytest.fixture(scope="module")
def graph() -> list[dict]:
    env = {"STRIPE_SECRET_KEY": FAKE_SECRET, "SESSION_SECRET": FAKE_SECRET + "2"}
    # both programs, as the plan shows them: the media replication lives in infra/source/
    return record_program(REPO / "infra", {"deedbox:config": "backup.yaml"}, env) + record_program(
        REPO / "infra" / "source", {"deedbox-source:config": "backup.yaml"}, env)


@pytest.fixture(scope="module")
def by_urn(graph):
    return {r["urn"]: r for r in graph}


def provider_region(res: dict, by_urn: dict) -> str:
    if res["inputs"].get("region"):
        return res["inputs"]["region"]
    provider_urn = res["provider"].rsplit("::", 1)[0]
    return maybe_json(by_urn[provider_urn]["inputs"]["region"])


def config_of(graph: list[dict], type_: str, bucket: dict) -> list[dict]:
    """Sub-resources of ``bucket`` (linked by the bucket's id or name)."""
    keys = {f"{bucket['name']}-id", bucket["inputs"].get("bucket")}
    return [r for r in of_type(graph, type_) if r["inputs"].get("bucket") in keys]


def key_by_arn(graph: list[dict], arn: str) -> dict:
    hits = [r for r in of_type(graph, "aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey")
            if f"arn:aws:mock:::{r['name']}" == arn]
    assert len(hits) == 1, f"{arn} is not a key declared in the program"
    return hits[0]


@pytest.fixture(scope="module")
def buckets(graph) -> list[dict]:
    found = of_type(graph, *BUCKET_TYPES)
    assert len(found) == 2, [b["name"] for b in found]  # primary + cross-region replica
    return found


def test_program_read_the_configured_file(graph):
    names = {r["name"] for r in graph}
    assert any(n.startswith(CFG["name"] + "-") for n in names)
    assert f"{CFG['name']}-vault-SESSION_SECRET" in names


def test_versioning_on_every_bucket(graph, buckets):
    for b in buckets:
        v = config_of(graph, "aws:s3/bucketVersioning:BucketVersioning", b)
        assert len(v) == 1 and v[0]["inputs"]["versioningConfiguration"]["status"] == "Enabled", b["name"]


def test_object_lock_with_default_retention_at_least_configured(graph, buckets):
    for b in buckets:
        assert b["inputs"].get("objectLockEnabled") is True, b["name"]
        lock = config_of(graph, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", b)
        assert len(lock) == 1, b["name"]
        retention = lock[0]["inputs"]["rule"]["defaultRetention"]
        assert retention["mode"] == CFG["destination"]["immutability"]["mode"].upper()
        assert retention.get("days", 0) + 365 * retention.get("years", 0) >= LOCK_DAYS


def test_sse_kms_with_a_rotating_customer_managed_key(graph, buckets, by_urn):
    for b in buckets:
        sse = config_of(graph, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", b)
        assert len(sse) == 1, b["name"]
        (rule,) = sse[0]["inputs"]["rules"]
        default = rule["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms"
        key = key_by_arn(graph, default["kmsMasterKeyId"])
        assert key["type"] == "aws:kms/key:Key" and key["inputs"].get("enableKeyRotation") is True
        assert provider_region(key, by_urn) == provider_region(b, by_urn), "bucket key must be in the bucket's region"


def test_all_four_public_access_flags(graph, buckets):
    for b in buckets:
        pab = config_of(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b)
        assert len(pab) == 1, b["name"]
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            assert pab[0]["inputs"].get(flag) is True, (b["name"], flag)


def test_acls_disabled(graph, buckets):
    for b in buckets:
        own = config_of(graph, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", b)
        assert len(own) == 1 and own[0]["inputs"]["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_tls_only_bucket_policy(graph, buckets):
    for b in buckets:
        pols = config_of(graph, "aws:s3/bucketPolicy:BucketPolicy", b)
        assert len(pols) == 1, b["name"]
        arn = f"arn:aws:s3:::{b['inputs']['bucket']}"
        denies = [s for s in statements(pols[0]["inputs"]["policy"])
                  if s["Effect"] == "Deny" and s.get("Principal") in ("*", {"AWS": "*"})
                  and str(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"]
        assert denies, f"{b['name']}: no aws:SecureTransport deny"
        assert any(action_allows(as_list(s["Action"]), "s3:GetObject") and action_allows(as_list(s["Action"]), "s3:PutObject")
                   and {arn, arn + "/*"} <= set(as_list(s["Resource"])) for s in denies)


def test_lifecycle_aborts_multipart_and_keeps_noncurrent_at_least_the_lock(graph, buckets):
    for b in buckets:
        lc = config_of(graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", b)
        assert len(lc) == 1, b["name"]
        rules = [r for r in lc[0]["inputs"]["rules"] if r["status"] == "Enabled"]
        assert any(r.get("abortIncompleteMultipartUpload", {}).get("daysAfterInitiation", 0) >= 1 for r in rules)
        noncurrent = [r["noncurrentVersionExpiration"]["noncurrentDays"] for r in rules if r.get("noncurrentVersionExpiration")]
        assert noncurrent and min(noncurrent) >= LOCK_DAYS
        for r in rules:  # nothing expires current versions before the lock ends
            if r.get("expiration", {}).get("days") is not None:
                assert r["expiration"]["days"] >= LOCK_DAYS


def test_backup_store_replicates_cross_region_with_replica_key_and_no_delete_markers(graph, buckets, by_urn):
    primary = next(b for b in buckets if provider_region(b, by_urn) == DEST_REGION)
    replica = next(b for b in buckets if provider_region(b, by_urn) == REPLICA_REGION)
    rcs = config_of(graph, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", primary)
    assert len(rcs) == 1
    rc = rcs[0]
    assert set(rc["dependencies"]) >= {r["urn"] for b in (primary, replica)
                                       for r in config_of(graph, "aws:s3/bucketVersioning:BucketVersioning", b)}
    for rule in rc["inputs"]["rules"]:
        assert rule["status"] == "Enabled"
        assert rule["deleteMarkerReplication"]["status"] == "Disabled"
        assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"]["status"] == "Enabled"
        dest = rule["destination"]
        assert dest["bucket"] == f"arn:aws:s3:::{replica['inputs']['bucket']}"
        replica_key = key_by_arn(graph, dest["encryptionConfiguration"]["replicaKmsKeyId"])
        assert provider_region(replica_key, by_urn) == REPLICA_REGION != DEST_REGION
        if CFG["destination"]["replica"].get("replication_time_control"):
            assert dest["replicationTime"]["status"] == "Enabled"
    # object lock on the destination of the replication
    assert replica["inputs"].get("objectLockEnabled") is True


def test_media_replication_uses_replica_key_and_no_delete_markers(graph):
    rcs = [r for r in of_type(graph, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
           if r["inputs"]["bucket"] == CFG["source"]["media"]["bucket"]]
    assert len(rcs) == 1  # backups.media.mode = replicate
    for rule in rcs[0]["inputs"]["rules"]:
        assert rule["deleteMarkerReplication"]["status"] == "Disabled"
        assert rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"]
        assert rule["destination"]["account"] == DEST_ACCOUNT


def test_destination_provider_pins_allowed_account_ids(graph, by_urn):
    providers = of_type(graph, "pulumi:providers:aws")
    assert providers
    for p in providers:
        assert maybe_json(p["inputs"].get("allowedAccountIds")), f"{p['name']} pins no account"
    dest_urns = {r["provider"].rsplit("::", 1)[0] for r in of_type(graph, *BUCKET_TYPES)}
    for urn in dest_urns:
        assert maybe_json(by_urn[urn]["inputs"]["allowedAccountIds"]) == [DEST_ACCOUNT]


def test_secrets_use_cmk_recovery_window_and_replicas(graph, by_urn):
    secrets = of_type(graph, "aws:secretsmanager/secret:Secret")
    keys = [k if isinstance(k, str) else k["name"] for k in CFG["backups"]["secrets"]["keys"]]
    assert sorted(s["inputs"]["name"].rsplit("/", 1)[-1] for s in secrets) == sorted(keys)
    for s in secrets:
        key = key_by_arn(graph, s["inputs"]["kmsKeyId"])
        assert key["type"] == "aws:kms/key:Key" and key["inputs"].get("enableKeyRotation") is True
        assert s["inputs"]["recoveryWindowInDays"] >= 7
        assert s["inputs"]["recoveryWindowInDays"] == CFG["backups"]["secrets"]["recovery_window_days"]
        replicas = s["inputs"].get("replicas") or []
        assert replicas, s["name"]
        for rep in replicas:
            assert rep["region"] != provider_region(s, by_urn)
            assert rep.get("kmsKeyId"), "replica without a customer managed key"


def test_no_secret_value_enters_the_program(graph):
    assert not of_type(graph, "aws:secretsmanager/secretVersion:SecretVersion")
    import json
    dump = json.dumps(graph)
    assert FAKE_SECRET not in dump and "secretString" not in dump


def test_runner_cannot_delete_or_reconfigure(graph):
    oidc_roles = [r for r in of_type(graph, "aws:iam/role:Role")
                  if any("sts:AssumeRoleWithWebIdentity" in as_list(s.get("Action"))
                         for s in statements(r["inputs"]["assumeRolePolicy"]))]
    assert len(oidc_roles) == 1
    runner = oidc_roles[0]
    assert not of_type(graph, "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                       "aws:iam/policyAttachment:PolicyAttachment")
    policies = [p for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if p["inputs"]["role"] == f"{runner['name']}-id"]
    assert policies
    allowed = [a for p in policies for s in statements(p["inputs"]["policy"]) if s["Effect"] == "Allow"
               for a in as_list(s["Action"])]
    assert action_allows(allowed, "s3:PutObject") and action_allows(allowed, "s3:GetObject")
    forbidden = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration",
                 "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutObjectRetention",
                 "s3:PutBucketObjectLockConfiguration", "s3:PutReplicationConfiguration",
                 "s3:BypassGovernanceRetention", "s3:DeleteBucket", "kms:ScheduleKeyDeletion",
                 "secretsmanager:DeleteSecret"]
    for action in forbidden:
        assert not action_allows(allowed, action), f"runner may {action}"


def test_production_backup_resources_are_protected(graph):
    data_holders = of_type(graph, *BUCKET_TYPES, "aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey",
                           "aws:secretsmanager/secret:Secret",
                           "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                           "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketPolicy:BucketPolicy")
    assert len(data_holders) >= 10
    unprotected = [r["name"] for r in data_holders if not r["protect"]]
    assert not unprotected
    assert all(r["inputs"].get("forceDestroy") is not True for r in of_type(graph, *BUCKET_TYPES))


def test_every_custom_resource_has_an_explicit_provider(graph):
    custom = [r for r in graph if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    assert len(custom) > 30
    missing = [r["name"] for r in custom if not r["provider"]]
    assert not missing
    # explicit = one of the program's own providers, not the default provider
    assert all("::default" not in r["provider"] for r in custom)


def test_other_config_changes_names(tmp_path: Path):
    other = (REPO / "backup.yaml").read_text().replace("name: guild ", "name: acme  ", 1)
    path = tmp_path / "other.yaml"
    path.write_text(other)
    g = record_program(REPO / "infra", {"deedbox:config": str(path)})
    assert any(r["name"].startswith("acme-") for r in g) and not any(r["name"].startswith("guild-") for r in g)


def test_drill_program_resources_carry_ttl_and_are_never_protected():
    """infra/drill/, run the same way with the config `deedbox drill run` sets (docs/drill.md)."""
    token = "team_ACCEPTANCEtoken0123456789"
    g = record_program(REPO / "infra" / "drill", {
        "deedbox-drill:config": str(REPO / "backup.yaml"), "deedbox-drill:drillId": "20261127T031500Z",
        "deedbox-drill:expiresAt": "2026-11-27T07:15:00Z", "deedbox-drill:bucket": "guild-backup-222222222222-eu-west-1",
    }, env={"CONVEX_PROJECT_ID": "acceptance-project", "CONVEX_TEAM_TOKEN": token})
    custom = [r for r in g if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    assert len(custom) >= 2  # the deployment and its key; the drill creates nothing in AWS
    assert not [r["name"] for r in g if r["protect"]]
    for r in custom:
        if r["type"] == "aws:iam/rolePolicy:RolePolicy":
            continue  # an inline policy takes no tags; it goes with its (tagged) role
        assert r["inputs"].get("tags", {}).get("deedbox:expires") == "2026-11-27T07:15:00Z", r["name"]
    import json
    assert token not in json.dumps(g)
    for r in custom:
        if r["type"].startswith("aws:"):
            provider = next(p for p in g if p["urn"] == r["provider"].rsplit("::", 1)[0])
            assert maybe_json(provider["inputs"]["allowedAccountIds"]) == [DEST_ACCOUNT]
