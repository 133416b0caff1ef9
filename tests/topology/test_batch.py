"""BatchJobRoles under the recording mock engine: the roles, their documents, the SDK's input
types, and the policy pack's verdicts on the recorded graph (the same path ``deedbox plan`` takes)."""

from __future__ import annotations

import json

import pulumi
import pytest

from deedbox.config import load
from deedbox.media import batch as media_batch
from deedbox.plan.engine import record
from deedbox.plan.evaluate import stack_args
from deedbox.policy import batch as batch_rule
from deedbox.policy import rule_by_id
from deedbox.policy.pack import stack_from_args, to_policy
from deedbox.topology.batch import (
    BACKFILL_PURPOSE,
    RESTORE_PURPOSE,
    BatchJobRoles,
    batch_args,
    batch_role_arns,
    batch_trust_policy,
)
from deedbox.topology.layout import layout
from deedbox.topology.names import role_name
from tests.support.sdk_inputs import check_graph
from tests.topology.conftest import REFERENCE, _media_sync_aws, _media_sync_endpoint, write_variant

ROLE, POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"


def _graph(cfg, *, runner=True):
    def program():
        runner_role = None
        if runner:
            import pulumi_aws as aws

            runner_role = aws.iam.Role("guild-runner-role", name="guild-deedbox-runner", assume_role_policy="{}").name
        args = batch_args(cfg, layout(cfg), runner_role=runner_role)
        assert args is not None
        BatchJobRoles(f"{cfg.name}-batch", args)

    return record(program)


def _docs(graph):
    return {r.name: json.loads(r.inputs["policy"]) for r in graph.of_type(POLICY)}


@pytest.fixture(scope="module")
def reference():
    cfg = load(REFERENCE)
    return cfg, _graph(cfg)


def test_the_reference_declares_both_roles_trusted_by_batch_operations_only(reference):
    cfg, graph = reference
    roles = {r.inputs["name"]: r for r in graph.of_type(ROLE)}
    assert set(roles) == {"guild-deedbox-runner", "guild-deedbox-batch-restore", "guild-deedbox-batch-backfill"}
    for name in ("guild-deedbox-batch-restore", "guild-deedbox-batch-backfill"):
        assert json.loads(roles[name].inputs["assumeRolePolicy"]) == batch_trust_policy()
        assert roles[name].parent.endswith("deedbox:batch:BatchJobRoles::guild-batch")


def test_the_restore_role_reads_versions_and_manifests_and_writes_only_classes_and_reports(reference):
    _, graph = reference
    doc = {s["Sid"]: s for s in _docs(graph)["guild-batch-restore-policy"]["Statement"]}
    store = "arn:aws:s3:::guild-backup-222222222222-eu-west-1"
    assert doc["ReadBackupVersions"]["Resource"] == [f"{store}/uploads/*", f"{store}/courses/*", f"{store}/recordings/*"]
    assert doc["ReadManifests"]["Resource"] == [f"{store}/restores/manifests/*"]
    assert doc["WriteReports"] == {"Sid": "WriteReports", "Effect": "Allow", "Action": ["s3:PutObject"],
                                   "Resource": [f"{store}/restores/jobs/*"]}
    assert doc["WriteRestoredMedia"]["Resource"] == ["arn:aws:s3:::guild-media-prod/uploads/*",
                                                     "arn:aws:s3:::guild-media-prod/courses/*",
                                                     "arn:aws:s3:::guild-media-prod/recordings/*"]
    assert doc["UseStoreKey"]["Condition"] == {"ForAnyValue:StringEquals": {
        "kms:ResourceAliases": ["alias/deedbox/guild/store"]}}
    assert doc["NeverDestroy"]["Effect"] == "Deny" and "s3:DeleteObject*" in doc["NeverDestroy"]["Action"]


def test_the_runner_may_create_and_follow_jobs_and_pass_exactly_the_batch_roles(reference):
    _, graph = reference
    (jobs,) = [r for r in graph.of_type(POLICY) if r.inputs["name"] == "deedbox-batch-jobs"]
    doc = {s["Sid"]: s for s in json.loads(jobs.inputs["policy"])["Statement"]}
    assert doc["PassBatchRoles"]["Resource"] == ["arn:aws:iam::222222222222:role/guild-deedbox-batch-backfill",
                                                 "arn:aws:iam::222222222222:role/guild-deedbox-batch-restore"]
    assert doc["FollowMediaJobs"]["Resource"] == ["arn:aws:s3:us-east-1:222222222222:job/*"]
    assert doc["CreateMediaJobs"]["Condition"] == {"StringEquals": {
        "s3:RequestJobOperation": ["S3PutObjectCopy", "S3ReplicateObject"]}}


def test_the_platform_owner_gets_the_bucket_policy_halves(reference):
    cfg = reference[0]
    args = batch_args(cfg, layout(cfg))
    outputs: dict = {}

    def program():
        roles = BatchJobRoles("guild-batch", args)
        outputs.update(target=roles.target_policy, backfill=roles.backfill_source_policy)

    record(program)
    target = json.loads(outputs["target"])["Statement"][0]
    assert target["Principal"] == {"AWS": "arn:aws:iam::222222222222:role/guild-deedbox-batch-restore"}
    assert target["Action"] == ["s3:PutObject", "s3:PutObjectTagging"]
    backfill = {s["Sid"]: s for s in json.loads(outputs["backfill"])["Statement"]}
    assert backfill["DeedboxBatchManifest"]["Resource"] == ["arn:aws:s3:::guild-media-prod"]


def test_names_agree_with_the_ones_the_jobs_use(reference):
    cfg = reference[0]
    args = batch_args(cfg, layout(cfg))
    assert batch_role_arns(args) == [
        media_batch.role_arn("222222222222", "guild", media_batch.RESTORE_ROLE_PURPOSE),
        media_batch.role_arn("222222222222", "guild", media_batch.BACKFILL_ROLE_PURPOSE)]
    assert (RESTORE_PURPOSE, BACKFILL_PURPOSE) == (media_batch.RESTORE_ROLE_PURPOSE, media_batch.BACKFILL_ROLE_PURPOSE)
    assert args.restore_role_name == role_name("guild", RESTORE_PURPOSE)
    assert media_batch.RESTORE_REPORT_PREFIX + "/" == "restores/jobs/"  # the restore role may write there
    assert media_batch.BACKFILL_REPORT_PREFIX + "/" == "records/media-backfill/"
    assert media_batch.MANIFEST_PREFIX == "restores/manifests/"


def test_sync_mode_has_no_backfill_role_and_an_endpoint_store_no_batch_roles(tmp_path):
    synced = load(write_variant(tmp_path, "sync", _media_sync_aws))
    graph = _graph(synced)
    assert {r.inputs["name"] for r in graph.of_type(ROLE)} == {"guild-deedbox-runner", "guild-deedbox-batch-restore"}
    doc = {s["Sid"]: s for s in _docs(graph)["guild-batch-restore-policy"]["Statement"]}
    assert doc["ReadBackupVersions"]["Resource"][0] == "arn:aws:s3:::guild-backup-222222222222-eu-west-1/media/images/*"
    endpoint = load(write_variant(tmp_path, "endpoint", _media_sync_endpoint))
    assert batch_args(endpoint, layout(endpoint)) is None


def test_every_input_matches_the_sdk_types(reference, tmp_path):
    assert [str(v) for v in check_graph(reference[1])] == []
    assert [str(v) for v in check_graph(_graph(load(write_variant(tmp_path, "sync", _media_sync_aws)), runner=False))] == []


def test_the_pack_rules_pass_on_the_component(reference):
    _, graph = reference
    stack = stack_from_args(stack_args(graph))
    assert batch_rule.RULE.findings(stack) == []
    assert rule_by_id("runner-no-delete").findings(stack) == []
    found: list = []
    to_policy(batch_rule.RULE).validate(stack_args(graph), lambda message, urn=None: found.append(message))
    assert found == []  # the CrossGuard path, as pulumi preview --policy-pack runs it


def test_outputs_are_known_at_preview():
    """The documents are plain strings (deterministic ARNs), never built in apply()."""
    cfg = load(REFERENCE)
    args = batch_args(cfg, layout(cfg))
    seen: list = []

    def program():
        roles = BatchJobRoles("guild-batch", args)
        seen.append((isinstance(roles.target_policy, str), isinstance(roles.backfill_source_policy, str)))

    record(program)
    assert seen == [(True, True)] and not isinstance(args.runner_role, pulumi.Output)


def test_the_topology_declares_the_batch_roles_and_lets_them_use_the_store_key(planned):
    """``declare()`` wires BatchJobRoles in: the store key's policy names both roles, the runner
    role gets ``deedbox-batch-jobs``, and the outputs carry the ARNs and the owner's statements."""
    cfg, graph = planned("reference")
    key = next(r for r in graph.of_type("aws:kms/key:Key") if r.name == f"{cfg.name}-store-key")
    allowed = {a for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"].startswith("AllowBackupRoles")
               for a in s["Condition"]["ArnEquals"]["aws:PrincipalArn"]}
    arns = batch_role_arns(batch_args(cfg, layout(cfg)))
    assert len(arns) == 2 and set(arns) <= allowed
    jobs = next(p for p in graph.of_type(POLICY) if p.inputs.get("name") == "deedbox-batch-jobs")
    assert jobs.inputs["role"] == layout(cfg).runner_role
    assert {s["Sid"]: s for s in json.loads(jobs.inputs["policy"])["Statement"]}["PassBatchRoles"]["Resource"] == sorted(arns)


@pytest.mark.parametrize("variant", ["media-sync-endpoint", "no-media"])
def test_no_batch_roles_where_no_job_could_run(planned, variant):
    """An endpoint_url store (Batch Operations writes only S3) or no media: nothing declared."""
    cfg, graph = planned(variant)
    assert not [r for r in graph.of_type(ROLE) if "batch" in r.inputs["name"]]
    assert not [r for r in graph if r.type == "deedbox:batch:BatchJobRoles"]
