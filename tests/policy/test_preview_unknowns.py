"""Under `pulumi preview` the engine hands policies proxies whose not-yet-known values raise
``UnknownValueError``. The pack must judge the same compliant stack as compliant then too: joins
fall back to property dependencies, and an output of another resource counts as set."""

from __future__ import annotations

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as UNKNOWN
from pulumi_policy.proxy import unknown_checking_proxy

from deedbox.policy import POLICIES
from tests.policy.builders import good_graph

BUCKET = "aws:s3/bucket:Bucket"
OUTPUT_VALUED = ("kmsMasterKeyId", "replicaKmsKeyId", "kmsKeyId")


def _unknown_outputs(value, key=""):
    """Replace every value that would come from another resource's output by the unknown sentinel."""
    if isinstance(value, dict):
        return {k: _unknown_outputs(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknown_outputs(v, key) for v in value]
    return UNKNOWN if key in OUTPUT_VALUED else value


def preview_args(policy_name: str) -> StackValidationArgs:
    graph = good_graph()
    opts = lambda r: PolicyResourceOptions(r.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])  # noqa: E731
    buckets = {r.inputs["bucket"]: r for r in graph.of_type(BUCKET)}
    built = {}
    for r in graph:
        props = _unknown_outputs(dict(r.inputs))
        if r.type == BUCKET:
            props.update(arn=UNKNOWN, id=UNKNOWN)
        elif props.get("bucket") in buckets:
            props["bucket"] = UNKNOWN  # e.g. bucket=store.id: not known before the bucket exists
        provider = graph.by_urn(r.provider_urn) if r.provider_urn else None
        provider = provider and PolicyProviderResource(provider.type, unknown_checking_proxy(dict(provider.inputs)),
                                                       provider.urn, provider.name)
        built[r.urn] = PolicyResource(r.type, unknown_checking_proxy(props), r.urn, r.name, opts(r), provider, None,
                                      [], {})
    for r in graph:
        target = buckets.get(r.inputs.get("bucket"))
        if target is not None and r.type != BUCKET:
            built[r.urn].property_dependencies["bucket"] = [built[target.urn]]
    return StackValidationArgs(list(built.values()), {})


def test_stack_policies_pass_a_compliant_stack_with_unknown_outputs():
    for policy in POLICIES:
        if not hasattr(policy, "validate") or type(policy).__name__ != "StackValidationPolicy":
            continue
        reported = []
        policy.validate(preview_args(policy.name), lambda msg, urn=None, reported=reported: reported.append((urn, msg)))
        assert reported == [], policy.name


def test_a_weakness_is_still_seen_through_unknowns():
    args = preview_args("s3-public-access-block")
    pab = next(r for r in args.resources if r.resource_type.endswith("BucketPublicAccessBlock"))
    pab.props["__target"]["blockPublicPolicy"] = False
    policy = next(p for p in POLICIES if p.name == "s3-public-access-block")
    reported = []
    policy.validate(args, lambda msg, urn=None: reported.append(urn))
    assert reported == [pab.urn]


def test_resource_policies_count_an_unknown_key_arn_as_set():
    from pulumi_policy import ResourceValidationArgs

    props = unknown_checking_proxy({"kmsKeyId": UNKNOWN, "recoveryWindowInDays": 30.0,
                                    "replicas": [{"region": "eu-central-1", "kmsKeyId": UNKNOWN}]})
    opts = PolicyResourceOptions(True, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    args = ResourceValidationArgs("aws:secretsmanager/secret:Secret", props, "urn:s", "s", opts, None, {})
    reported = []
    for policy in POLICIES:
        if type(policy).__name__ == "ResourceValidationPolicy":
            policy.validate(args, lambda msg, urn=None, name=policy.name: reported.append((name, msg)))
    assert reported == []
