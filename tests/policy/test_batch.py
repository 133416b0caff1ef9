"""``batch-least-privilege`` on hand-built resources: each way a batch role or PassRole is too broad."""

from __future__ import annotations

import json

import pytest

from deedbox.policy.batch import RULE
from deedbox.policy.pack import to_policy
from deedbox.policy.view import Res, stack_of
from deedbox.topology.batch import batch_trust_policy, restore_role_policy, runner_jobs_policy

S = "urn:pulumi:s::p::"
ROLE, POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
GOOD = restore_role_policy(store_bucket="backups", media_prefixes=["uploads/"], target_bucket="media",
                           target_prefixes=["uploads/"], account="222222222222", region="eu-west-1",
                           store_key_alias="alias/deedbox/guild/store")


def role(trust=None, name="batch"):
    return Res(ROLE, name, S + f"{ROLE}::{name}", {"name": name, "id": name,
                                                   "assumeRolePolicy": json.dumps(trust or batch_trust_policy())})


def policy(document, role_name="batch", name="p"):
    text = document if isinstance(document, str) else json.dumps(document)
    return Res(POLICY, name, S + f"{POLICY}::{name}", {"role": role_name, "policy": text})


def findings(*resources):
    return [m for _, m in RULE.findings(stack_of(resources))]


def allow(action, resource, **extra):
    return {"Version": "2012-10-17", "Statement": [{"Sid": "X", "Effect": "Allow", "Action": action,
                                                    "Resource": resource, **extra}]}


def test_deedbox_s_own_documents_pass():
    runner = runner_jobs_policy(account="222222222222", regions=["us-east-1"],
                                roles=["arn:aws:iam::222222222222:role/guild-deedbox-batch-restore"])
    assert findings(role(), policy(GOOD), role(name="runner", trust={"Statement": []}),
                    policy(runner, "runner", "jobs")) == []


@pytest.mark.parametrize("document, problem", [
    (allow("s3:*", "arn:aws:s3:::media/uploads/*"), "allows the wildcard action s3:*"),
    (allow("s3:DeleteObject", "arn:aws:s3:::media/uploads/*"), "allows s3:deleteobject, which no deedbox media job"),
    (allow("s3:GetObject", "arn:aws:s3:::backups/*"), "allows s3:getobject on arn:aws:s3:::backups/*: name the prefixes"),
    (allow("s3:PutObject", "*"), "allows s3:putobject on *"),
    (allow("s3:PutObject", "arn:aws:s3:::media*/uploads/*"), "on arn:aws:s3:::media*/uploads/*"),
    (allow("kms:Decrypt", "arn:aws:kms:eu-west-1:222222222222:key/*"), "on any key without a condition"),
    ({"Statement": [{"Sid": "N", "Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "*"}]},
     "statement N uses NotAction/NotResource"),
    ("[unknown]", "its policy document is not known here"),
])
def test_a_broad_batch_role_is_reported_with_how_to_fix_it(document, problem):
    found = findings(role(), policy(document))
    assert any(problem in m and m.startswith("batch: ") for m in found), found
    assert all(m.endswith("Fix: " + RULE.fix) for m in found)
    if "NotAction" in str(document):  # NotAction grants everything else: PassRole on * included
        assert any("p allows iam:PassRole on *" in m for m in found)


def test_the_bucket_level_replication_actions_may_name_the_bucket():
    ok = allow(["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"], "arn:aws:s3:::media")
    assert findings(role(), policy(ok)) == []


def test_a_batch_role_trusted_by_someone_else_too():
    trust = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "Service": ["batchoperations.s3.amazonaws.com", "lambda.amazonaws.com"]}}]}
    (message,) = findings(role(trust))
    assert "is trusted by batchoperations.s3.amazonaws.com and also by ['lambda.amazonaws.com']" in message
    wide = {"Statement": [{"Effect": "Allow", "Action": "sts:*", "Principal": {"Service": "batchoperations.s3.amazonaws.com"}}]}
    assert "for sts:*, not only sts:AssumeRole" in findings(role(wide))[0]


def test_roles_not_trusted_by_batch_operations_are_left_to_the_other_rules():
    assert findings(role({"Statement": []}, name="runner"), policy(allow("s3:*", "*"), "runner")) == []


@pytest.mark.parametrize("resource", ["*", "arn:aws:iam::222222222222:role/*", "arn:aws:iam::222222222222:role/guild-?"])
def test_pass_role_on_a_wildcard_is_reported_on_any_role(resource):
    (message,) = findings(role({"Statement": []}, name="runner"), policy(allow("iam:PassRole", resource), "runner", "jobs"))
    assert message.startswith(f"jobs allows iam:PassRole on {resource}")


def test_the_crossguard_policy_reports_the_same():
    from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs

    def resource(res):
        opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
        return PolicyResource(res.type, dict(res.props), res.urn, res.name, opts, None, None, [], {})

    args = StackValidationArgs([resource(role()), resource(policy(allow("s3:*", "*")))], None)
    found: list = []
    to_policy(RULE).validate(args, lambda message, urn=None: found.append((urn, message)))
    assert [m for _, m in found] == [m for _, m in RULE.findings(stack_of([role(), policy(allow("s3:*", "*"))]))]
    assert found and found[0][0] == S + f"{POLICY}::p"
