"""The policy pack, started as the Pulumi CLI starts it and driven over the Analyzer gRPC protocol.

``tests/support/analyzer.py`` documents the contract (argv, port on stdout, RPC order, how
properties, unknowns and secrets are marshalled) with its sources. Two views of the reference
program: fully known (what an update's AnalyzeStack sees) and a first ``pulumi preview`` of a stack
that does not exist yet (ids and computed attributes unknown, applies over them not run), each
analyzed by a pack started with the matching ``PULUMI_DRY_RUN``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_policy
import pytest
from pulumi.runtime.proto import analyzer_pb2

from deedbox.config import load
from deedbox.plan.engine import record
from deedbox.plan.evaluate import evaluate
from deedbox.plan.graph import Graph
from deedbox.policy import RULES
from deedbox.topology import program
from tests.policy.builders import edit
from tests.support.analyzer import (
    PACK_DIR,
    UNKNOWN,
    Diagnostic,
    PolicyPackProcess,
    Recording,
    contains_unknown,
    mandatory,
    policy_packs,  # noqa: F401 (the session fixture)
    record_for_engine,
    secret,
)

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
VIEWS = ("known", "first preview")
DELETE_GRANT = {"Sid": "Weakened", "Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"}


# --------------------------------------------------------------------------------------------
# programs and views


def reference_program(repo_root) -> Callable[[], None]:
    config = repo_root / "backup.yaml"
    return lambda: program(load(config))


def _grant_delete(document: str) -> str:
    """The runner's document allowing s3:DeleteObject: its explicit Deny statements (which would
    override any grant) removed, an Allow added."""
    doc = json.loads(document)
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Effect") != "Deny"] + [DELETE_GRANT]
    return json.dumps(doc)


def runner_granted_delete(repo_root) -> Callable[[], None]:
    """The reference program whose runner policy (however the topology builds it) also allows
    s3:DeleteObject: a stack transformation wraps the document in an ``apply``, so the grant is as
    (un)known at preview as the document itself."""

    def weaken(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != ROLE_POLICY or "runner" not in args.name:
            return None
        props = dict(args.props)
        props["policy"] = pulumi.Output.from_input(props["policy"]).apply(_grant_delete)
        return pulumi.ResourceTransformationResult(props, args.opts)

    def weakened() -> None:
        pulumi.runtime.register_stack_transformation(weaken)
        reference_program(repo_root)()

    return weakened


@pytest.fixture(scope="module")
def views(repo_root) -> dict[str, Recording]:
    return {view: record_for_engine(reference_program(repo_root), preview=view != "known") for view in VIEWS}


@pytest.fixture(scope="module")
def planned(repo_root) -> Graph:
    """What ``deedbox plan`` records (and ``evaluate`` judges)."""
    return record(reference_program(repo_root))


def pack_for(packs, view: str) -> PolicyPackProcess:
    return packs.get(dry_run=view != "known")


def failing(diagnostics: list[Diagnostic]) -> set[str]:
    return {d.policy for d in mandatory(diagnostics)}


def evaluated(graph: Graph) -> set[str]:
    return {v.policy for v in evaluate(graph) if v.status == "fail" and v.level == "mandatory"}


def find(graph: Graph, type_: str, contains: str = "") -> str:
    """The name of the primary store's (not the replica's, not media's) record of ``type_``."""
    names = sorted(r.name for r in graph.of_type(type_)
                   if contains in r.name and "replica" not in r.name and "media" not in r.name)
    assert names, f"the reference topology declares no {type_} matching {contains!r}"
    return names[0]


# --------------------------------------------------------------------------------------------
# the process and the handshake


def test_the_pack_starts_as_the_cli_starts_it(policy_packs):
    pack = policy_packs.get()
    python, *args = pack.argv
    assert args == ["-u", "-m", "pulumi.policy", pack.engine.address, "."]
    assert python == str((PACK_DIR / "../.venv/bin/python").absolute())  # PulumiPolicy.yaml's virtualenv
    assert pack.process.args == pack.argv and pack.process.poll() is None
    assert pack.handshake_code.name == "UNIMPLEMENTED"  # the CLI falls back to the argv contract
    assert pack.plugin_info().version == pulumi_policy.version.VERSION
    assert pack.engine.logs == []  # pulumi.policy never dials the engine address


def test_the_pack_stops_cleanly_on_sigint():
    pack = PolicyPackProcess()
    assert pack.info().name == "deedbox"
    assert pack.close() == 0  # KeyboardInterrupt -> server.stop(0) -> pulumi.policy exits 0
    assert pack.process.poll() == 0 and "Traceback" not in pack.stderr()


def test_analyzer_info_lists_every_rule(policy_packs):
    info = policy_packs.get().info()
    assert info.name == "deedbox" and info.supportsConfig
    by_name = {p.name: p for p in info.policies}
    assert [p.name for p in info.policies] == [r.id for r in RULES]
    for rule in RULES:
        policy = by_name[rule.id]
        assert analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel).lower() == rule.level, rule.id
        assert policy.description == rule.description, rule.id
        assert policy.policy_type == (analyzer_pb2.POLICY_TYPE_STACK if rule.scope == "stack"
                                      else analyzer_pb2.POLICY_TYPE_RESOURCE), rule.id
        assert analyzer_pb2.PolicySeverity.Name(policy.severity) == f"POLICY_SEVERITY_{rule.severity.upper()}"
        assert policy.remediation_steps == rule.fix
        assert set(policy.configSchema.properties) == set(rule.config), rule.id


# --------------------------------------------------------------------------------------------
# the views themselves


def test_the_known_view_is_what_deedbox_plan_records(views, planned):
    known = views["known"].graph
    assert [r.urn for r in sorted(planned, key=lambda r: r.urn)] == [r.urn for r in known]
    for mine, theirs in zip(known, sorted(planned, key=lambda r: r.urn), strict=True):
        assert dict(mine.inputs) == dict(theirs.inputs), mine.name
    assert not any(contains_unknown(dict(r.inputs)) for r in known)


def test_the_first_preview_view_has_the_unknowns_of_a_first_preview(views):
    preview = views["first preview"]
    buckets = preview.graph.of_type("aws:s3/bucket:Bucket")
    assert buckets and all(b.id is None and b.outputs["arn"] == UNKNOWN for b in buckets)
    keys = preview.graph.of_type("aws:kms/key:Key")
    assert keys and all(k.outputs["arn"] == UNKNOWN for k in keys)
    secrets = preview.graph.of_type("aws:secretsmanager/secret:Secret")
    assert secrets and all(s.inputs["kmsKeyId"] == UNKNOWN for s in secrets)  # the vault key's ARN
    # an unknown reference still names its source: the engine sends the property dependencies
    runner = preview.graph.by_urn(next(r.urn for r in preview.graph.of_type(ROLE_POLICY) if r.name.endswith("-runner-policy")))
    assert runner.inputs["role"] == UNKNOWN and preview.property_dependencies[runner.urn]["role"]


# --------------------------------------------------------------------------------------------
# verdicts


@pytest.mark.parametrize("view", VIEWS)
def test_the_reference_program_has_no_mandatory_violation(policy_packs, views, view):
    diagnostics = pack_for(policy_packs, view).analyze_deployment(views[view])
    assert mandatory(diagnostics) == []
    assert [d for d in diagnostics if "during preview" in d.message] == []  # no policy hit an unknown


def test_the_known_view_agrees_with_deedbox_plan_on_the_reference(policy_packs, views, planned):
    assert failing(policy_packs.get().analyze_deployment(views["known"])) == evaluated(planned) == set()


def _put(path: str, value: Any) -> Callable[[dict], None]:
    *head, last = path.split(".")

    def change(inputs: dict) -> None:
        node = inputs
        for step in head:
            node = node[int(step)] if step.isdigit() else node[step]
        if value is KeyError:
            node.pop(last, None)
        else:
            node[last] = value

    return change


def _drop(inputs: dict) -> str:
    return "drop"


def _grant_in_record(inputs: dict) -> None:
    inputs["policy"] = _grant_delete(inputs["policy"])


# name -> (record type, name filter, change of its inputs, rules that must fail)
WEAKENINGS: dict[str, tuple[str, str, Callable[[dict], Any], set[str]]] = {
    "bucket without versioning": ("aws:s3/bucketVersioning:BucketVersioning", "", _drop, {"s3-versioning"}),
    "bucket without encryption": (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "", _drop,
        {"s3-sse-kms-cmk"}),
    "bucket encrypted with AES256": (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "",
        _put("rules", [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]), {"s3-sse-kms-cmk"}),
    "public-access flag false": ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "",
                                 _put("blockPublicPolicy", False), {"s3-public-access-block"}),
    "store key not rotating": ("aws:kms/key:Key", "store", _put("enableKeyRotation", False), {"kms-key-rotation"}),
    "secret without customer key": ("aws:secretsmanager/secret:Secret", "", _put("kmsKeyId", KeyError),
                                    {"secrets-cmk"}),
    "runner policy grants s3:DeleteObject": (ROLE_POLICY, "runner-policy", _grant_in_record, {"runner-no-delete"}),
}


def weakened(recording: Recording, case: str) -> Recording:
    type_, contains, change, _ = WEAKENINGS[case]
    return recording.edited(lambda graph: edit(graph, find(graph, type_, contains), change))


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("case", sorted(WEAKENINGS))
def test_a_weakened_graph_gets_its_violations(policy_packs, views, case, view):
    diagnostics = pack_for(policy_packs, view).analyze_deployment(weakened(views[view], case))
    assert WEAKENINGS[case][3] <= failing(diagnostics)


@pytest.mark.parametrize("case", sorted(WEAKENINGS))
def test_the_known_view_agrees_with_deedbox_plan(policy_packs, views, planned, case):
    type_, contains, change, _ = WEAKENINGS[case]
    graph = edit(planned, find(planned, type_, contains), change)
    diagnostics = policy_packs.get().analyze_deployment(weakened(views["known"], case))
    assert failing(diagnostics) == evaluated(graph)
    verdicts = {(v.policy, v.resource) for v in evaluate(graph) if v.status == "fail" and v.level == "mandatory"}
    assert {(d.policy, d.urn) for d in mandatory(diagnostics)} == verdicts


@pytest.mark.parametrize("view", VIEWS)
def test_a_program_whose_runner_may_delete_is_caught(policy_packs, repo_root, view):
    """The weakness put into the program, not the record: the pack sees whatever the engine would."""
    recording = record_for_engine(runner_granted_delete(repo_root), preview=view != "known")
    assert "runner-no-delete" in failing(pack_for(policy_packs, view).analyze_deployment(recording))


def test_a_runner_document_unknown_at_first_preview_fails_closed(policy_packs, views):
    """A first preview of a runner policy built from outputs (e.g. KMS key ARNs) carries no
    document at all: the mandatory rule cannot show that deletes are denied, so it must fail."""
    preview = views["first preview"]
    name = find(preview.graph, ROLE_POLICY, "runner")
    blind = preview.edited(lambda graph: edit(graph, name, _put("policy", UNKNOWN)))
    diagnostics = pack_for(policy_packs, "first preview").analyze_deployment(blind)
    runner_urn = blind.graph.by_urn(next(r.urn for r in blind.graph if r.name == name)).urn
    assert ("runner-no-delete", runner_urn) in {(d.policy, d.urn) for d in mandatory(diagnostics)}


def test_a_secret_input_reaches_the_rules_as_its_value(policy_packs, views):
    """The engine sends secrets in their envelope (``KeepSecrets``); the pack unwraps them, so a
    rule reads the plaintext: a secret runner document is judged like a plain one."""
    known = views["known"]
    name = find(known.graph, ROLE_POLICY, "runner-policy")

    def as_secret(change: Callable[[dict], Any] | None) -> Callable[[dict], None]:
        def wrap(inputs: dict) -> None:
            if change is not None:
                change(inputs)
            inputs["policy"] = secret(inputs["policy"])
        return wrap

    pack = policy_packs.get()
    assert mandatory(pack.analyze_deployment(known.edited(lambda g: edit(g, name, as_secret(None))))) == []
    weakened_secret = known.edited(lambda g: edit(g, name, as_secret(_grant_in_record)))
    assert "runner-no-delete" in failing(pack.analyze_deployment(weakened_secret))
