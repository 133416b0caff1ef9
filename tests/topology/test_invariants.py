"""DESIGN.md's security invariants, asserted on the recorded graph of every config variant."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from deedbox.plan.graph import Graph, ResourceRecord
from tests.topology.conftest import VARIANTS

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
PROVIDER = "pulumi:providers:aws"
COMPONENTS = {"deedbox:store:BackupStore", "deedbox:replica:Replica", "deedbox:vault:SecretVault",
              "deedbox:media:SourceReplication",
              "deedbox:runner:RunnerIdentity", "deedbox:media:MediaBackup",
              "deedbox:deadman:DeadMansSwitch", "deedbox:scheduler:JobScheduler",
              "deedbox:batch:BatchJobRoles"}

pytestmark = pytest.mark.parametrize("variant", list(VARIANTS))


def _for_bucket(g: Graph, type_suffix: str, bucket: str) -> ResourceRecord:
    found = [r for r in g if r.type.endswith(type_suffix) and r.inputs.get("bucket") == bucket]
    assert len(found) == 1, f"{bucket}: expected one {type_suffix}, got {[r.urn for r in found]}"
    return found[0]


def _runner_statements(g: Graph) -> dict[str, dict] | None:
    """The runner's inline policy statements by Sid; None when the config declares no runner."""
    policies = [p for p in g.of_type("aws:iam/rolePolicy:RolePolicy")
                if g.by_urn(p.parent).type == "deedbox:runner:RunnerIdentity"]
    if not policies:
        return None
    return {s["Sid"]: s for s in json.loads(policies[0].inputs["policy"])["Statement"]}


def _providers(g: Graph) -> dict[str, ResourceRecord]:
    return {r.urn: r for r in g.of_type(PROVIDER)}


def test_every_custom_resource_names_an_explicit_aws_provider(planned, variant):
    cfg, g = planned(variant)
    providers = _providers(g)
    for r in g:
        if r.custom and r.type != PROVIDER:
            assert r.provider_urn in providers, f"{r.urn} has no explicit provider ({r.provider})"
        if not r.custom:
            assert r.type in COMPONENTS, r.urn
        elif r.type != PROVIDER:
            assert g.by_urn(r.parent).type in COMPONENTS, f"{r.urn} is not inside a deedbox component"


def test_providers_are_pinned_to_their_accounts(planned, variant):
    cfg, g = planned(variant)
    pinned = {r.name: (json.loads(r.inputs["allowedAccountIds"]), r.inputs["region"]) for r in g.of_type(PROVIDER)}
    assert pinned[f"{cfg.name}-destination"] == ([cfg.destination.account], cfg.destination.region)
    replicate = cfg.backups.media is not None and cfg.backups.media.mode == "replicate"
    assert (f"{cfg.name}-source" in pinned) == replicate
    if replicate:
        assert pinned[f"{cfg.name}-source"][0] == [cfg.source.account]
    dest = next(r for r in g.of_type(PROVIDER) if r.name.endswith("-destination"))
    roles = json.loads(dest.inputs.get("assumeRoles", "null")) or []
    # camelCase, as the provider reads its JSON config (snake_case keys are ignored: pulumi-aws#5271)
    assert [r["roleArn"] for r in roles] == ([cfg.destination.assume_role_arn] if cfg.destination.assume_role_arn else [])
    source_side = [r for r in g if r.provider_urn and g.by_urn(r.provider_urn).name.endswith("-source")]
    assert all(g.by_urn(r.parent).type == "deedbox:media:SourceReplication" for r in source_side)
    # the two programs never mix credentials: source-side resources are in the source program only
    assert all(":deedbox-source::" in r.urn for r in source_side)
    assert not [r for r in g if ":deedbox-source::" in r.urn and r.provider_urn
                and g.by_urn(r.provider_urn).name.endswith("-destination")]


def test_every_backup_bucket_is_locked_encrypted_private_and_tls_only(planned, variant):
    cfg, g = planned(variant)
    buckets = g.of_type(BUCKET)
    assert len(buckets) == (2 if cfg.destination.replica else 1)
    assert not g.of_type("aws:s3/bucketV2:BucketV2")
    keys = {r.outputs["arn"]: r for r in g.of_type(KEY)}
    lock_days = cfg.destination.immutability.days
    for b in buckets:
        name = b.inputs["bucket"]
        assert b.inputs["objectLockEnabled"] is True and b.protect == cfg.destination.protect, b.urn
        assert _for_bucket(g, "BucketVersioning", name).inputs["versioningConfiguration"]["status"] == "Enabled"
        lock = _for_bucket(g, "BucketObjectLockConfiguration", name).inputs["rule"]["defaultRetention"]
        assert lock == {"mode": cfg.destination.immutability.mode.upper(), "days": lock_days}
        (sse,) = _for_bucket(g, "BucketServerSideEncryptionConfiguration", name).inputs["rules"]
        default = sse["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms" and sse["bucketKeyEnabled"] is True
        key = keys[default["kmsMasterKeyId"]]
        assert key.inputs["enableKeyRotation"] is True and key.protect == cfg.destination.protect
        assert key.parent == b.parent, "each store has its own key"
        pab = _for_bucket(g, "BucketPublicAccessBlock", name).inputs
        assert all(pab[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        assert _for_bucket(g, "BucketOwnershipControls", name).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        policy = json.loads(_for_bucket(g, "BucketPolicy", name).inputs["policy"])
        tls = [s for s in policy["Statement"] if s["Effect"] == "Deny"
               and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
        assert tls and tls[0]["Principal"] == "*" and "s3:*" in tls[0]["Action"]
        rules = _for_bucket(g, "BucketLifecycleConfiguration", name).inputs["rules"]
        assert any(r.get("abortIncompleteMultipartUpload", {}).get("daysAfterInitiation") == 7 for r in rules)
        noncurrent = [r["noncurrentVersionExpiration"]["noncurrentDays"] for r in rules if "noncurrentVersionExpiration" in r]
        assert noncurrent and min(noncurrent) >= lock_days


def test_bucket_policy_denies_destruction_to_all_but_the_exempt(planned, variant):
    cfg, g = planned(variant)
    dest = cfg.destination
    for b in g.of_type(BUCKET):
        policy = _for_bucket(g, "BucketPolicy", b.inputs["bucket"])
        doc = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
        destroy = doc["DenyDataDestruction"]
        assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention",
                "s3:PutObjectRetention", "s3:PutObjectLegalHold"} <= set(destroy["Action"])
        exempt = destroy["Condition"]["StringNotLike"]["aws:PrincipalArn"]
        assert exempt == [dest.break_glass_principal or f"arn:aws:iam::{dest.account}:root"]
        config = doc["DenyProtectionChanges"]
        assert {"s3:PutBucketPolicy", "s3:PutLifecycleConfiguration", "s3:PutBucketObjectLockConfiguration"} <= set(config["Action"])
        # the policy goes on last, so it cannot lock the deployer out of the rest of the bucket
        siblings = [r for r in g.children(policy.parent) if r.custom and r.type.startswith("aws:s3/bucket")
                    and r.type not in (BUCKET, policy.type)]
        assert len(siblings) == 6 and {s.urn for s in siblings} <= set(policy.dependencies)


def test_replication_to_another_region_keeps_kms_and_drops_delete_markers(planned, variant):
    cfg, g = planned(variant)
    replica = cfg.destination.replica
    configs = [r for r in g.of_type(REPLICATION) if g.by_urn(r.parent).type == "deedbox:replica:Replica"]
    assert len(configs) == (1 if replica else 0)
    if not replica:
        return
    (rc,) = configs
    store, copy = (_for_bucket(g, "BucketVersioning", n) for n in
                   (f"{cfg.name}-backup-{cfg.destination.account}-{cfg.destination.region}",
                    f"{cfg.name}-replica-{cfg.destination.account}-{replica.region}"))
    assert {store.urn, copy.urn} <= set(rc.dependencies), "replication must wait for both versionings"
    (rule,) = rc.inputs["rules"]
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"] == {"status": "Enabled"}
    dest = rule["destination"]
    assert dest["encryptionConfiguration"]["replicaKmsKeyId"].startswith(f"arn:aws:kms:{replica.region}:")
    assert ("replicationTime" in dest) == replica.replication_time_control
    if replica.replication_time_control:
        assert dest["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert dest["metrics"]["status"] == "Enabled"
    copy_bucket = next(b for b in g.of_type(BUCKET) if b.inputs["bucket"] == copy.inputs["bucket"])
    in_replica_region = g.children(copy_bucket.parent)
    assert len(in_replica_region) == 10 and all(r.inputs["region"] == replica.region for r in in_replica_region)
    replica_key = next(r for r in in_replica_region if r.type == KEY)
    assert dest["encryptionConfiguration"]["replicaKmsKeyId"] == replica_key.outputs["arn"]
    role = g.by_urn(next(d for d in rc.dependencies if "RolePolicy" in d))
    assert json.loads(g.by_urn(next(r.urn for r in g.of_type("aws:iam/role:Role") if r.inputs["name"] == role.inputs["role"])).inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}


def test_secrets_use_the_vault_key_with_replicas_and_no_values(planned, variant):
    cfg, g = planned(variant)
    assert not g.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    secrets = g.of_type("aws:secretsmanager/secret:Secret")
    wanted = [k.name for k in cfg.backups.secrets.keys] if cfg.backups.secrets else []
    assert sorted(s.inputs["name"] for s in secrets) == sorted(f"deedbox/{cfg.name}/{k}" for k in wanted)
    vault_keys = {r.outputs["arn"]: r for r in g.of_type(KEY) if r.inputs.get("multiRegion")}
    for s in secrets:
        key = vault_keys[s.inputs["kmsKeyId"]]
        assert key.inputs["enableKeyRotation"] is True
        assert s.inputs["recoveryWindowInDays"] >= 7 and s.protect == cfg.destination.protect
        replicas = s.inputs.get("replicas", [])
        if cfg.destination.replica:
            assert [r["region"] for r in replicas] == [cfg.destination.replica.region]
            replica_key = next(r for r in g.of_type("aws:kms/replicaKey:ReplicaKey"))
            assert replicas[0]["kmsKeyId"] == replica_key.outputs["arn"]
            assert replica_key.inputs["primaryKeyArn"] == key.outputs["arn"]
        policy = [p for p in g.of_type("aws:secretsmanager/secretPolicy:SecretPolicy") if p.inputs["secretArn"] == s.outputs["arn"]]
        assert len(policy) == 1 and policy[0].inputs["blockPublicPolicy"] is True


def test_runner_role_is_scoped_to_the_repository_and_cannot_destroy(planned, variant):
    from deedbox.topology.access import DELETE_CLASS_ACTIONS, allowed_actions, grants_any

    cfg, g = planned(variant)
    roles = [r for r in g.of_type("aws:iam/role:Role") if g.by_urn(r.parent).type == "deedbox:runner:RunnerIdentity"]
    assert len(roles) == (1 if cfg.runner.kind in ("github-actions", "aws") else 0)
    if not roles:
        assert "runnerRoleArn" not in g.outputs and g.outputs["deedbox"].get("runner_role_arn") is None
        return
    trust = json.loads(roles[0].inputs["assumeRolePolicy"])["Statement"]
    (stmt,) = trust
    oidc = g.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    if cfg.runner.kind == "aws":  # CodeBuild, for deedbox's project of this account only; no GitHub at all
        project = f"arn:aws:codebuild:{cfg.destination.region}:{cfg.destination.account}:project/{cfg.name}-deedbox-jobs"
        assert stmt["Principal"] == {"Service": "codebuild.amazonaws.com"} and stmt["Action"] == ["sts:AssumeRole"]
        assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": cfg.destination.account},
                                     "ArnLike": {"aws:SourceArn": [project]}}
        assert not oidc
    else:
        _github_trust(cfg, stmt, oidc)
    (policy,) = [p for p in g.of_type("aws:iam/rolePolicy:RolePolicy") if p.parent == roles[0].parent]
    doc = json.loads(policy.inputs["policy"])
    assert grants_any(allowed_actions(doc), DELETE_CLASS_ACTIONS) == []
    assert any(s["Effect"] == "Deny" and "s3:DeleteObject*" in s["Action"] for s in doc["Statement"])


def _github_trust(cfg, stmt: dict, oidc: list) -> None:
    cond = stmt["Condition"]["StringEquals"]
    sub = (f"repo:{cfg.runner.repository}:environment:{cfg.runner.environment}" if cfg.runner.environment
           else f"repo:{cfg.runner.repository}:ref:refs/heads/{cfg.runner.branch}")
    assert cond == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": sub}
    assert len(oidc) == (1 if cfg.runner.create_oidc_provider else 0)  # reused by default: one per URL
    assert all(o.protect and o.retain_on_delete for o in oidc)
    assert stmt["Principal"]["Federated"] == (
        cfg.runner.oidc_provider_arn
        or f"arn:aws:iam::{cfg.destination.account}:oidc-provider/token.actions.githubusercontent.com")


def test_protection_follows_destination_protect(planned, variant):
    cfg, g = planned(variant)
    production = g.of_type(BUCKET, KEY, "aws:kms/replicaKey:ReplicaKey", "aws:secretsmanager/secret:Secret")
    assert production and all(r.protect == cfg.destination.protect for r in production)
    assert not any(r.protect for r in g.of_type("aws:iam/role:Role", PROVIDER))


def test_deedbox_output_tells_operations_where_everything_is(planned, variant):
    cfg, g = planned(variant)
    out = g.outputs["deedbox"]
    assert out["schema"] == 1
    assert out["bucket"] == g.outputs["store_bucket"] == f"{cfg.name}-backup-{cfg.destination.account}-{cfg.destination.region}"
    assert out["region"] == cfg.destination.region
    assert out["prefixes"] == {"backend": "backend/", "media": "media/", "drills": "drills/",
                               "records": "records/", "restores": "restores/",
                               "status": "status/"}
    assert out.get("replica_bucket") == g.outputs.get("replica_bucket")
    assert out.get("secrets", {}) == g.outputs.get("secret_arns", {})
    classes = {c.name: c.prefix for c in cfg.media_classes()}
    if cfg.backups.media and cfg.backups.media.mode == "sync":
        classes = {c: f"media/{c}/" for c in classes}
    assert out.get("media_classes", {}) == classes


def test_secret_values_are_reserved_to_the_runner_and_break_glass(planned, variant):
    cfg, g = planned(variant)
    dest = cfg.destination
    expected = sorted({dest.break_glass_principal or f"arn:aws:iam::{dest.account}:root",
                       *([f"arn:aws:iam::{dest.account}:role/{cfg.name}-deedbox-runner"]
                         if cfg.runner.kind in ("github-actions", "aws") else [])})
    for p in g.of_type("aws:secretsmanager/secretPolicy:SecretPolicy"):
        (deny,) = json.loads(p.inputs["policy"])["Statement"]
        assert deny["Effect"] == "Deny" and "secretsmanager:GetSecretValue" in deny["Action"]
        assert deny["Condition"]["StringNotLike"]["aws:PrincipalArn"] == expected, p.urn


def test_media_backup_follows_its_mode(planned, variant):
    cfg, g = planned(variant)
    media = cfg.backups.media if cfg.media_classes() else None
    components = [r for r in g if r.type == "deedbox:media:MediaBackup"]
    assert len(components) == (1 if media else 0)
    replications = [r for r in g.of_type(REPLICATION) if g.by_urn(r.parent).type == "deedbox:media:SourceReplication"]
    # Both modes: the runner reads an AWS media bucket (sync copies; replicate checks and backfills),
    # so its owner gets the read-only half to apply.
    if media and cfg.source.media.endpoint_url is None and cfg.runner.kind in ("github-actions", "aws"):
        doc = json.loads(g.outputs["media_source_policy"])
        actions = {a for s in doc["Statement"] for a in s["Action"]}
        assert actions == {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes",
                           "s3:GetObjectVersionAttributes"}
        runner = f"arn:aws:iam::{cfg.destination.account}:role/{cfg.name}-deedbox-runner"
        assert all(s["Principal"] == {"AWS": runner} and s["Effect"] == "Allow" for s in doc["Statement"])
    else:
        assert "media_source_policy" not in g.outputs
    assert not [r for c in components for r in g.children(c.urn)]  # the backup stack creates nothing there
    if not media or media.mode == "sync":
        assert not replications
        assert f"{cfg.name}-source" not in {r.name for r in g.of_type(PROVIDER)}
        return
    (rc,) = replications
    assert rc.retain_on_delete  # destroying the source stack leaves the replication running
    assert rc.inputs["bucket"] == cfg.source.media.bucket
    classes = cfg.media_classes()
    assert [r["filter"]["prefix"] for r in rc.inputs["rules"]] == [c.prefix for c in classes]
    assert len({r["priority"] for r in rc.inputs["rules"]}) == len(classes)
    # the store key by its alias ARN: deterministic, so the source program needs no backup-stack output
    store_key = f"arn:aws:kms:{cfg.destination.region}:{cfg.destination.account}:alias/deedbox/{cfg.name}/store"
    assert any(a.inputs["name"] == f"alias/deedbox/{cfg.name}/store" for a in g.of_type("aws:kms/alias:Alias"))
    for rule in rc.inputs["rules"]:
        d = rule["destination"]
        assert d["account"] == cfg.destination.account and d["accessControlTranslation"] == {"owner": "Destination"}
        assert d["encryptionConfiguration"]["replicaKmsKeyId"] == store_key
        assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    store_policy = next(r for r in g.of_type("aws:s3/bucketPolicy:BucketPolicy") if r.name == f"{cfg.name}-store-policy")
    grants = [s for s in json.loads(store_policy.inputs["policy"])["Statement"] if s["Effect"] == "Allow"]
    role = f"arn:aws:iam::{cfg.source.account}:role/{cfg.name}-deedbox-media-replication"
    assert grants and all(s["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [role] for s in grants)


def test_runner_reaches_every_place_media_lands_and_reads_an_aws_source(planned, variant):
    cfg, g = planned(variant)
    doc = _runner_statements(g)
    if doc is None:
        return
    bucket = f"arn:aws:s3:::{g.outputs['store_bucket']}"
    reachable = doc["WriteAndReadBackups"]["Resource"]
    for prefix in g.outputs["deedbox"].get("media_classes", {}).values():
        assert any(f"{bucket}/{prefix}".startswith(r.rstrip("*")) for r in reachable), prefix
    media = cfg.source.media
    from_aws = bool(cfg.media_classes() and media and media.bucket and not media.endpoint_url)
    assert ("ReadMediaSource" in doc) == ("ListMediaSource" in doc) == ("DecryptMediaSource" in doc) == from_aws
    if not from_aws:
        return
    assert doc["ReadMediaSource"]["Action"] == ["s3:GetObject", "s3:GetObjectAttributes", "s3:GetObjectVersion",
                                                "s3:GetObjectVersionAttributes"]
    assert doc["ReadMediaSource"]["Resource"] == [f"arn:aws:s3:::{media.bucket}/{c.prefix}*" for c in cfg.media_classes()]
    region = media.region or cfg.source.region
    assert doc["DecryptMediaSource"]["Resource"] == [f"arn:aws:kms:{region}:{cfg.source.account}:key/*"]
    assert doc["DecryptMediaSource"]["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
    # The source owner's half names exactly what the runner's half reads.
    source = {s["Sid"]: s for s in json.loads(g.outputs["media_source_policy"])["Statement"]}
    assert source["DeedboxRunnerRead"]["Resource"] == doc["ReadMediaSource"]["Resource"]
    assert source["DeedboxRunnerRead"]["Action"] == doc["ReadMediaSource"]["Action"]
    assert source["DeedboxRunnerList"]["Condition"] == doc["ListMediaSource"]["Condition"]


def test_runner_may_write_and_list_every_key_the_operations_write(planned, variant):
    """The keys the ops actually build (not the prefixes they are supposed to use) against the
    recorded runner policy: a write outside its prefixes would be denied on real AWS."""
    from datetime import datetime
    from fnmatch import fnmatchcase

    from deedbox.bucket.records import record_key
    from deedbox.bucket.snapshots import folder_prefix, format_ts
    from deedbox.media.plan import dest_key
    from deedbox.restore.common import RESTORES_PREFIX, safe_key_part

    cfg, g = planned(variant)
    doc = _runner_statements(g)
    if doc is None:
        return
    bucket = f"arn:aws:s3:::{g.outputs['store_bucket']}"
    moment = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    snapshot = folder_prefix("happy-otter-123", moment, "scheduled")
    keys = [snapshot + "snapshot.zip", snapshot + "manifest.json",
            record_key("media-sync", moment), record_key("secrets-verify", moment),
            f"{RESTORES_PREFIX}{format_ts(moment)}-record-{safe_key_part('users:abc')}.json",
            f"drills/{format_ts(moment)}/report.json"]
    if cfg.backups.media:
        keys += [dest_key(cfg.backups.media.mode, c.name, f"{c.prefix}2026/a.png") for c in cfg.media_classes()]
    listed = doc["ListBackups"]["Condition"]["StringLike"]["s3:prefix"]
    for key in keys:
        assert any(fnmatchcase(f"{bucket}/{key}", r) for r in doc["WriteAndReadBackups"]["Resource"]), key
        folder = key.rsplit("/", 1)[0] + "/"
        assert any(fnmatchcase(folder, p) for p in listed), folder
    deny = doc["NeverDestroyOrReconfigure"]
    assert deny["Effect"] == "Deny" and deny["Resource"] == "*" and "s3:DeleteObject*" in deny["Action"]
