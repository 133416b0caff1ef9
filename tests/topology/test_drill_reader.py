"""The drill stack's read-only role: reads snapshots, writes nothing; and condition operators that
can actually match (``StringEquals`` takes no wildcard) in every recorded policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from fnmatch import fnmatchcase

import pytest

from deedbox.bucket.snapshots import folder_prefix
from deedbox.config import load
from deedbox.plan.engine import record
from deedbox.topology.access import DELETE_CLASS_ACTIONS, grants_any
from deedbox.topology.drill import declare_drill, reader_policy
from tests.topology.conftest import VARIANTS

BUCKET = "guild-backup-222222222222-eu-west-1"
READS = {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"}
WRITES = ("s3:PutObject", "s3:PutObjectTagging", "s3:RestoreObject", "s3:ReplicateObject", "s3:CopyObject",
          "s3:AbortMultipartUpload", "kms:Encrypt", "kms:GenerateDataKey", *DELETE_CLASS_ACTIONS)
EXACT_OPERATORS = ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals")


def _by_sid(doc: dict) -> dict:
    return {s["Sid"]: s for s in doc["Statement"]}


def _wildcards_under_exact_operators(doc: dict) -> list[str]:
    """Condition values with ``*``/``?`` under an operator that compares them literally."""
    found = []
    for s in doc.get("Statement", []):
        for op, pairs in (s.get("Condition") or {}).items():
            if op.split(":")[-1].removesuffix("IfExists") in EXACT_OPERATORS:
                for key, values in pairs.items():
                    for v in [values] if isinstance(values, str) else values:
                        if "*" in v or "?" in v:
                            found.append(f"{s.get('Sid')}: {op} {key} {v}")
    return found


def test_reader_reads_every_snapshot_object_and_version():
    s = _by_sid(reader_policy(BUCKET, "eu-west-1"))
    folder = folder_prefix("happy-otter-123", datetime(2026, 11, 27, tzinfo=UTC), "scheduled")
    for key in (folder + "snapshot.zip", folder + "manifest.json"):
        assert any(fnmatchcase(f"arn:aws:s3:::{BUCKET}/{key}", r) for r in s["ReadSnapshots"]["Resource"]), key
    assert s["ReadSnapshots"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]  # manifests pin a version id
    assert any(fnmatchcase(folder, p) for p in s["ListBackupPrefixes"]["Condition"]["StringLike"]["s3:prefix"])


def test_reader_writes_nothing_and_reads_nothing_outside_backend():
    doc = reader_policy(BUCKET, "eu-west-1")
    actions = {a for s in doc["Statement"] for a in s["Action"]}
    assert actions == READS
    assert grants_any(actions, WRITES) == []
    assert all(s["Effect"] == "Allow" for s in doc["Statement"])
    objects = [r for s in doc["Statement"] if s["Action"] != ["kms:Decrypt"] for r in s["Resource"] if "/" in r]
    assert objects == [f"arn:aws:s3:::{BUCKET}/backend/*"]  # not records/, restores/, media or drills/ contents


def test_reader_decrypts_only_through_s3_with_an_operator_that_matches():
    s = _by_sid(reader_policy(BUCKET, "eu-west-1"))["DecryptSnapshots"]
    assert s["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    regionless = _by_sid(reader_policy(BUCKET))["DecryptSnapshots"]
    assert regionless["Condition"] == {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}
    assert _wildcards_under_exact_operators(reader_policy(BUCKET)) == []
    assert _wildcards_under_exact_operators(reader_policy(BUCKET, "eu-west-1")) == []


def test_the_wildcard_check_catches_a_literal_comparison():
    doc = {"Statement": [{"Sid": "x", "Condition": {"StringEquals": {"kms:ViaService": "s3.*.amazonaws.com"}}}]}
    assert _wildcards_under_exact_operators(doc) == ["x: StringEquals kms:ViaService s3.*.amazonaws.com"]


def test_recorded_drill_reader_is_pinned_to_the_destination_region(reference_config_path, monkeypatch):
    config = load(reference_config_path)
    monkeypatch.setenv("CONVEX_TEAM_TOKEN", "t")
    env = {"CONVEX_TEAM_TOKEN": "t", "CONVEX_PROJECT_ID": "4242"}
    rec = record(lambda: declare_drill(config, "drill-x", "2026-11-27T06:00:00Z", bucket=BUCKET, env=env))
    (policy,) = rec.of_type("aws:iam/rolePolicy:RolePolicy")
    doc = json.loads(policy.inputs["policy"])
    assert doc == reader_policy(BUCKET, config.destination.region)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_no_recorded_policy_compares_a_wildcard_literally(planned, variant):
    cfg, g = planned(variant)
    docs = [json.loads(r.inputs[k]) for r in g for k in ("policy", "assumeRolePolicy")
            if isinstance(r.inputs.get(k), str) and r.inputs[k].startswith("{")]
    if g.outputs.get("media_source_policy"):
        docs.append(json.loads(g.outputs["media_source_policy"]))
    assert docs
    assert [w for d in docs for w in _wildcards_under_exact_operators(d)] == []
