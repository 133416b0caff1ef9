"""The BackupStore of the reference config, as recorded from the real entry point."""

from __future__ import annotations

import json


def _one(graph, type_, suffix):
    found = [r for r in graph.of_type(type_) if r.name == f"guild-{suffix}"]
    assert len(found) == 1, f"expected one {type_} named *{suffix}, got {[r.name for r in found]}"
    return found[0]


def test_store_bucket_is_locked_versioned_and_protected(reference_graph):
    g = reference_graph
    bucket = _one(g, "aws:s3/bucket:Bucket", "store-bucket")
    assert bucket.inputs["bucket"] == "guild-backup-222222222222-eu-west-1"
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.protect, bucket.urn
    lock = _one(g, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "store-object-lock")
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "days": 35.0}}
    versioning = _one(g, "aws:s3/bucketVersioning:BucketVersioning", "store-versioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert versioning.urn in lock.dependencies


def test_store_policy_is_applied_after_every_other_protection(reference_graph):
    policy = _one(reference_graph, "aws:s3/bucketPolicy:BucketPolicy", "store-policy")
    siblings = [r for r in reference_graph.children(policy.parent) if r.type.startswith("aws:s3/bucket") and
                r.name != policy.name and not r.type.endswith("bucket:Bucket")]
    assert {s.urn for s in siblings} <= set(policy.dependencies)
    doc = json.loads(policy.inputs["policy"])
    assert "DenyInsecureTransport" in {s["Sid"] for s in doc["Statement"]}
