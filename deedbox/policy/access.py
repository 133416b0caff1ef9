"""Rules on who can act: the runner and other roles, and the accounts providers may touch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from deedbox.policy import iam
from deedbox.policy.catalog import rule
from deedbox.policy.view import AWS_PROVIDER, Res, Stack, as_list, is_marker, peek

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
# AWS managed policies that grant delete-class actions on every bucket.
BROAD_MANAGED = ("AdministratorAccess", "PowerUserAccess", "AmazonS3FullAccess")


def _role_of(stack: Stack, res: Res) -> Res | None:
    found = stack.find(res.props.get("role"), ROLE)
    if found is not None:
        return found
    roles = {r.urn for r in stack.of_type(ROLE)}
    linked = [u for u in res.prop_deps.get("role", ()) or res.dependencies if u in roles]
    return stack.by_urn(linked[0]) if len(linked) == 1 else None


def _broad(arns: list[Any]) -> list[str]:
    return [str(a).rsplit("/", 1)[-1] for a in arns if str(a).rsplit("/", 1)[-1] in BROAD_MANAGED]


@rule(id="runner-no-delete", severity="critical", level="mandatory", scanners=(),
      description="No role can delete or unlock backups (delete, retention, lock, lifecycle, policy, replication).",
      fix="allow only put/get/list actions; remove wildcards such as s3:* or s3:Delete* and add an explicit "
          "Deny of the delete-class actions")
def no_delete(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    """Fails closed: a document this mandatory rule cannot read (unknown at a first preview,
    because it was built inside ``apply()``, or not JSON) is a violation, not a pass."""
    documents: dict[str, list[Any]] = {r.urn: [p.get("policy") for p in as_list(r.props.get("inlinePolicies"))
                                               if isinstance(p, dict)] for r in stack.of_type(ROLE)}
    managed: dict[str, list[Any]] = {r.urn: as_list(r.props.get("managedPolicyArns")) for r in stack.of_type(ROLE)}
    for policy in stack.of_type(ROLE_POLICY):
        role = _role_of(stack, policy)
        document = peek(policy.props, "policy")
        if is_marker(document) or iam.parse(document) is None:
            yield policy.urn, (f"{policy.name}: its policy document is not known here (built from outputs "
                               "unknown at preview?) or not JSON, so it cannot be shown to deny deletes; "
                               "build it from deterministic ARNs")
            continue
        documents.setdefault(role.urn if role else policy.urn, []).append(document)
    for attachment in stack.of_type(ATTACHMENT):
        role = _role_of(stack, attachment)
        managed.setdefault(role.urn if role else attachment.urn, []).append(attachment.props.get("policyArn"))
    for urn in documents.keys() | managed.keys():
        name = (stack.by_urn(urn) or Res("", urn, urn)).name
        allowed = iam.allowed_actions(documents.get(urn, ()))
        if allowed:
            yield urn, f"{name} is allowed {', '.join(allowed)}"
        for broad in _broad(managed.get(urn, [])):
            yield urn, f"{name} has the managed policy {broad}"


def account_ids(provider: Res) -> list[str]:
    """``allowedAccountIds`` as recorded: a list, or the JSON string the SDK sends for providers."""
    value = provider.get("allowedAccountIds")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    return [str(v) for v in as_list(value) if v]


@rule(id="provider-allowed-accounts", severity="high", level="mandatory", scanners=(),
      description="Every AWS provider pins allowedAccountIds, so a wrong credential cannot touch another account.",
      fix="pass an explicit aws.Provider(allowed_account_ids=[<account>]) to every AWS resource")
def pinned_accounts(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for provider in stack.providers.values():
        if provider.type == AWS_PROVIDER and not account_ids(provider):
            yield provider.urn, f"provider {provider.name} has no allowedAccountIds"
    for res in stack.resources:
        if res.type.startswith("aws:") and res.provider is None:
            yield res.urn, f"{res.name} uses the default aws provider, which pins no account"
