"""The recorded graphs conform to the installed pulumi-aws SDK's input types (no cloud needed).

The mock engine accepts any input bag, so a wrong key passes every other test and fails at the
first real preview (pulumi/pulumi-aws#5271). ``tests.support.sdk_inputs`` derives the wire schema
of each resource type from the SDK itself; here we prove the validator catches each class of
mistake, on hand-built inputs and on what the real SDK classes record, then run it over the
reference graph, every loadable positive config case, the ``infra/`` variants and a drill stack.

Known violations of the current topology are listed in ``KNOWN_VIOLATIONS``: those cases are
``xfail(strict=True)`` and fail only by raising ``KnownViolations`` with exactly those violations
(any other violation is a plain failure). When deedbox is fixed the case XPASSes, which strict
mode reports as a failure: remove its entry then.
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from deedbox import topology
from deedbox.config import load
from deedbox.errors import DeedboxError
from deedbox.plan.engine import record
from deedbox.plan.graph import SECRET, Graph, ResourceRecord
from deedbox.topology import drill_program, program
from tests.support.sdk_inputs import (
    ListOf,
    Obj,
    Scalar,
    check_graph,
    check_inputs,
    check_record,
    object_fields,
    resource_schema,
)
from tests.topology.conftest import VARIANTS

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "config" / "cases" / "positive"


class KnownViolations(Exception):
    """Raised by a case whose violations are exactly its ``KNOWN_VIOLATIONS`` entry."""


# Fixed: the destination provider's assumeRoles kept snake_case keys (pulumi/pulumi-aws#5271).
KNOWN_VIOLATIONS: dict[str, tuple[str, ...]] = {}


def _case(case_id: str, *values: object) -> object:
    known = KNOWN_VIOLATIONS.get(case_id)
    marks = () if known is None else pytest.mark.xfail(
        strict=True, raises=KnownViolations, reason="; ".join(known))
    return pytest.param(*values, id=case_id, marks=marks)


def assert_conforms(case_id: str, graph: Graph) -> None:
    found = [str(v) for v in check_graph(graph)]
    known = KNOWN_VIOLATIONS.get(case_id, ())
    unexpected = [v for v in found if v not in known]
    assert not unexpected, "\n".join(unexpected)
    if found:
        raise KnownViolations("\n".join(found))


def _only(graph: Graph, type_: str, name: str) -> ResourceRecord:
    (found,) = [r for r in graph if r.type == type_ and r.name == name]
    return found


# --- the schema comes from the SDK ---------------------------------------------------------------


def test_tokens_resolve_through_the_sdk_registrations():
    provider = resource_schema("pulumi:providers:aws")
    assert (provider.cls, provider.args) == (aws.Provider, aws.ProviderArgs)
    bucket = resource_schema("aws:s3/bucket:Bucket")
    assert (bucket.cls, bucket.args) == (aws.s3.Bucket, aws.s3.BucketArgs)
    assert bucket.json_encoded == frozenset()


def test_wire_names_and_types_come_from_the_input_types():
    bucket = resource_schema("aws:s3/bucket:Bucket").fields
    assert bucket["objectLockEnabled"].spec == Scalar(bool)
    assert "object_lock_enabled" not in bucket
    assert resource_schema("aws:kms/key:Key").fields["deletionWindowInDays"].spec == Scalar(int)
    rules = resource_schema("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").fields["rules"]
    assert rules.spec == ListOf(Obj(aws.s3.BucketLifecycleConfigurationRuleArgs))
    rule = object_fields(aws.s3.BucketLifecycleConfigurationRuleArgs)
    assert {name for name, f in rule.items() if f.required} == {"id", "status"}
    assert set(object_fields(aws.ProviderAssumeRoleArgs)) == {
        "duration", "externalId", "policy", "policyArns", "roleArn", "sessionName", "sourceIdentity", "tags",
        "transitiveTagKeys",
    }


def test_provider_config_the_sdk_json_encodes():
    provider = resource_schema("pulumi:providers:aws")
    assert {"assumeRoles", "allowedAccountIds", "defaultTags", "skipRegionValidation"} <= provider.json_encoded
    assert "region" not in provider.json_encoded
    assert provider.fields["assumeRoles"].spec == ListOf(Obj(aws.ProviderAssumeRoleArgs))


# --- the validator catches each mistake ----------------------------------------------------------


def test_unknown_top_level_key():
    found = check_inputs("aws:s3/bucket:Bucket", {"bucket": "b", "objectLockEnabeld": True})
    assert [v.path for v in found] == ["aws:s3/bucket:Bucket.inputs.objectLockEnabeld"]
    assert found[0].message.startswith("unknown key (expected one of: ")
    assert "objectLockEnabled" in found[0].message
    (wrong_case,) = check_inputs("aws:s3/bucket:Bucket", {"ForceDestroy": False})
    assert wrong_case.message.startswith("unknown key (did you mean 'forceDestroy'?) (expected one of: ")


def test_snake_case_key_in_a_nested_object():
    found = check_inputs("aws:s3/bucketVersioning:BucketVersioning", {
        "bucket": "b", "versioningConfiguration": {"status": "Enabled", "mfa_delete": "Disabled"},
    })
    assert [str(v).split(" (expected")[0] for v in found] == [
        "aws:s3/bucketVersioning:BucketVersioning.inputs.versioningConfiguration.mfa_delete: "
        "unknown key (the SDK's wire name of 'mfa_delete' is 'mfaDelete')",
    ]


def test_a_nested_key_the_sdk_cannot_translate_is_recorded_as_written_and_flagged():
    # rpc.serialize_property translates known Python names (py_name_to_pulumi_name.get(k) or k):
    # sse_algorithm becomes sseAlgorithm, the misspelt kms_master_key reaches the engine as is.
    graph = record(lambda: aws.s3.BucketServerSideEncryptionConfiguration("e", bucket="b", rules=[
        {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key": "k"}},
    ]))
    r = _only(graph, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "e")
    assert r.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                                          "kms_master_key": "k"}}]
    assert [v.path.rsplit(".", 1)[-1] for v in check_record(r)] == ["kms_master_key"]


def test_a_dict_where_the_sdk_wants_a_str():
    # what aws.kms.Key("k", policy={...}) sends: serialize_property passes a dict for a str-typed
    # input through untouched (rpc.py keeps this "magic" for BucketPolicy.policy)
    found = check_inputs("aws:kms/key:Key", {"policy": {"Version": "2012-10-17", "Statement": []}},
                         "aws:kms/key:Key::k.inputs")
    assert [str(v) for v in found] == ["aws:kms/key:Key::k.inputs.policy: expected str, got dict"]


def test_the_recorder_itself_rejects_that_dict_only_through_the_echoed_outputs():
    # Observed: the RegisterResource request carries the dict; the run then fails because AwsMocks
    # echo inputs as outputs and rpc.translate_output_properties type-checks outputs (str vs dict).
    # Inputs the mocks do not echo back as typed outputs get no such check: hence sdk_inputs.
    with pytest.raises(AssertionError, match="property `policy`"):
        record(lambda: aws.kms.Key("k", policy={"Version": "2012-10-17", "Statement": []}))


def test_a_str_where_the_sdk_wants_a_list():
    graph = record(lambda: aws.iam.OpenIdConnectProvider(
        "o", url="https://token.actions.githubusercontent.com", client_id_lists="sts.amazonaws.com"))
    r = _only(graph, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "o")
    assert [str(v) for v in check_record(r)] == [
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider::o.inputs.clientIdLists: expected list of str, got str",
    ]


def test_scalar_types_and_required_nested_keys():
    token = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    found = check_inputs(token, {"bucket": "b", "rules": [
        {"id": "a", "status": "Enabled", "expiration": {"days": "30"}},
        {"id": "b", "status": "Enabled", "expiration": {"days": 1.5}},
        {"id": "c", "status": "Enabled", "expiration": {"days": True}},
        {"status": "Enabled", "expiration": {"days": 30.0, "expiredObjectDeleteMarker": "true"}},
    ]})
    assert [str(v) for v in found] == [
        f"{token}.inputs.rules[0].expiration.days: expected int, got str",
        f"{token}.inputs.rules[1].expiration.days: expected int, got non-integral number 1.5",
        f"{token}.inputs.rules[2].expiration.days: expected int, got bool",
        f"{token}.inputs.rules[3].expiration.expiredObjectDeleteMarker: expected bool, got str",
        f"{token}.inputs.rules[3].id: missing required key",
    ]


def test_provider_assume_roles_as_plain_dicts_keep_snake_case_keys():
    graph = record(lambda: aws.Provider("p", assume_roles=[
        {"role_arn": "arn:aws:iam::1:role/x", "session_name": "s"},
    ]))
    r = _only(graph, "pulumi:providers:aws", "p")
    # Provider._internal_init JSON-encodes the raw value (pulumi.runtime.to_json): a plain dict (or a
    # ProviderAssumeRoleArgsDict, which is one at runtime) keeps its Python names
    assert isinstance(r.inputs["assumeRoles"], str)
    assert json.loads(r.inputs["assumeRoles"]) == [{"role_arn": "arn:aws:iam::1:role/x", "session_name": "s"}]
    assert [v.path for v in check_record(r)] == [
        "pulumi:providers:aws::p.inputs.assumeRoles[0].role_arn",
        "pulumi:providers:aws::p.inputs.assumeRoles[0].session_name",
    ]


def test_provider_assume_roles_as_input_types_record_wire_names_and_pass():
    graph = record(lambda: aws.Provider("p", assume_roles=[
        aws.ProviderAssumeRoleArgs(role_arn="arn:aws:iam::1:role/x", session_name="s"),
    ]))
    r = _only(graph, "pulumi:providers:aws", "p")
    assert json.loads(r.inputs["assumeRoles"]) == [{"roleArn": "arn:aws:iam::1:role/x", "sessionName": "s"}]
    assert check_record(r) == []


def test_provider_config_must_be_json_encoded():
    found = check_inputs("pulumi:providers:aws", {
        "assumeRoles": [{"roleArn": "arn:aws:iam::1:role/x"}],  # a list, not a JSON string
        "allowedAccountIds": "222222222222,333333333333",  # not JSON
        "skipRegionValidation": "true",  # JSON true: fine
        "maxRetries": "\"5\"",  # JSON "5": a str, not an int
        "region": "eu-west-1",  # not JSON-encoded by the SDK
    })
    assert [str(v) for v in found] == [
        "pulumi:providers:aws.inputs.assumeRoles: expected a JSON-encoded list of object ProviderAssumeRoleArgs "
        "(a str), got list",
        "pulumi:providers:aws.inputs.allowedAccountIds: expected a JSON-encoded list of str, got a non-JSON string",
        "pulumi:providers:aws.inputs.maxRetries: expected int, got str",
    ]


def test_secrets_pass_and_unregistered_types_fail():
    assert check_inputs("aws:secretsmanager/secret:Secret", {"name": SECRET, "replicas": SECRET}) == []
    assert check_inputs("pulumi:providers:aws", {"assumeRoles": SECRET}) == []
    assert [v.message for v in check_inputs("aws:s3/nope:Nope", {})] == [
        "no installed SDK registers the resource type aws:s3/nope:Nope"]


def test_components_and_dynamic_resources_are_skipped():
    component = ResourceRecord(type="deedbox:store:BackupStore", name="s", urn="u1", custom=False,
                               inputs={"anything": {"goes": 1}})
    dynamic = ResourceRecord(type="pulumi-python:dynamic/deedbox:ConvexDeployment", name="d", urn="u2",
                             custom=True, inputs={"__provider": "gASV", "free_form": [1]})
    assert check_graph([component, dynamic]) == []


def test_a_conforming_resource_recorded_by_the_sdk_passes():
    graph = record(lambda: aws.s3.BucketLifecycleConfiguration("l", bucket="b", rules=[
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="x", status="Enabled", filter={"prefix": ""}, expiration={"days": 30},
            noncurrent_version_expiration=pulumi.Output.secret({"noncurrent_days": 60}),
        ),
    ]))
    assert check_graph(graph) == []


# --- the deedbox graphs conform ------------------------------------------------------------------


def _config_paths() -> list[Path]:
    return [ROOT / "backup.yaml", *sorted(CASES.glob("*.yaml"))]


def _config_cases() -> list[object]:
    return [_case(f"config:{p.name}", p) for p in _config_paths()]


@pytest.mark.parametrize("path", _config_cases())
def test_program_graph_conforms(request, path: Path):
    try:
        model = load(path)
    except DeedboxError as err:
        pytest.skip(f"{path.name} does not load: {err}")
    assert_conforms(request.node.callspec.id, record(lambda: program(model)))


@pytest.mark.parametrize("path", [pytest.param(p, id=f"source:{p.name}") for p in _config_paths()])
def test_source_program_graph_conforms(path: Path):
    """The platform-account program (``infra/source/``); a replicate config without the take-over
    opt-in is refused by design, and that refusal is what is checked for it."""
    model = load(path)
    media = model.source.media
    refused = (model.backups.media is not None and model.backups.media.mode == "replicate"
               and media is not None and not media.endpoint_url and not media.take_over_replication)
    if refused:
        with pytest.raises(DeedboxError, match="take_over_replication: true"):
            record(lambda: topology.source_program(model))
        return
    assert_conforms(f"source:{path.name}", record(lambda: topology.source_program(model)))


@pytest.mark.parametrize("variant", [_case(f"infra:{v}", v) for v in VARIANTS])
def test_infra_variant_graph_conforms(request, planned, variant: str):
    assert_conforms(request.node.callspec.id, planned(variant)[1])


def test_drill_graph_conforms(monkeypatch):
    monkeypatch.setenv("CONVEX_TEAM_TOKEN", "team-token")
    monkeypatch.setenv("CONVEX_PROJECT_ID", "1234")
    model = load(ROOT / "backup.yaml")
    graph = record(lambda: drill_program(model, "drill-20261127T060000Z", "2026-11-27T06:00:00Z",
                                         bucket="guild-backups"))
    assert graph.resources  # (its AWS resources, where it has any, are checked; its dynamic ones skipped)
    assert_conforms("drill", graph)
