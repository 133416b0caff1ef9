"""Least privilege for S3 Batch Operations: the roles its jobs run as, and who may pass them.

A Batch Operations job acts on every object of its manifest with its role's rights, and whoever
can create a job and pass a role can act as that role: so a role trusted by
``batchoperations.s3.amazonaws.com`` must be narrow, and ``iam:PassRole`` must name roles.

``RULE`` (``batch-least-privilege``, stack scope) reports:

- a batch role trusted by anyone besides that service, or for more than ``sts:AssumeRole``;
- an Allow of an action outside ``BATCH_ACTIONS`` (what deedbox's copy and replication jobs need:
  AWS S3 User Guide, "Granting permissions for Amazon S3 Batch Operations" and "Configuring IAM
  policies for Batch Replication"), an action wildcard, or ``NotAction`` / ``NotResource``;
- an S3 object action on ``*`` or on a whole bucket (``arn:aws:s3:::b/*``): object grants name a
  prefix; a KMS grant on ``*`` keys without a condition (alias or ``kms:ViaService``);
- a policy this rule cannot read (built from outputs unknown at preview): fails closed;
- on *any* role, an Allow of ``iam:PassRole`` whose resource is ``*`` or a wildcard.

``RULE`` is not registered on import (tests evaluate it alone); the pack adds it to ``RULES``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deedbox.policy import iam
from deedbox.policy.catalog import Rule
from deedbox.policy.view import Res, Stack, as_list, is_marker, peek

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SERVICE = "batchoperations.s3.amazonaws.com"
BATCH_ACTIONS = frozenset(a.lower() for a in (
    "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging",
    "s3:PutObject", "s3:PutObjectTagging", "s3:InitiateReplication", "s3:GetReplicationConfiguration",
    "s3:PutInventoryConfiguration", "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt",
))
BUCKET_ACTIONS = frozenset(("s3:getreplicationconfiguration", "s3:putinventoryconfiguration"))


def _trusts_batch(role: Res) -> bool:
    return any(SERVICE in _strings(_principal(s).get("Service")) for s in iam.statements(role.get("assumeRolePolicy")))


def _principal(stmt: dict) -> dict:
    principal = stmt.get("Principal")
    return principal if isinstance(principal, dict) else {"AWS": principal} if principal else {}


def _strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in as_list(value) if isinstance(v, str)]


def _policies_of(stack: Stack, role: Res) -> list[Res]:
    """Inline policies whose ``role`` names this role (by name or id), or that depend on it alone."""
    ids = role.identifiers()
    roles = {r.urn for r in stack.of_type(ROLE)}
    out = []
    for policy in stack.of_type(ROLE_POLICY):
        ref = peek(policy.props, "role")
        linked = [u for u in policy.prop_deps.get("role", ()) or policy.dependencies if u in roles]
        if (isinstance(ref, str) and ref in ids) or linked == [role.urn]:
            out.append(policy)
    return out


def least_privilege(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for role in stack.of_type(ROLE):
        if _trusts_batch(role):
            yield from ((role.urn, p) for p in _trust_problems(role))
            documents = [(role, p.get("policy")) for p in as_list(role.props.get("inlinePolicies")) if isinstance(p, dict)]
            documents += [(p, peek(p.props, "policy")) for p in _policies_of(stack, role)]
            for owner, document in documents:
                yield from ((owner.urn, f"{role.name}: {p}") for p in _document_problems(document))
    for policy in stack.of_type(ROLE_POLICY):
        for stmt in iam.statements(peek(policy.props, "policy")):
            if stmt.get("Effect") == "Allow" and iam.statement_covers(stmt, "iam:PassRole"):
                wild = [r for r in _strings(stmt.get("Resource")) if "*" in r or "?" in r]
                if wild or "NotResource" in stmt:
                    yield policy.urn, f"{policy.name} allows iam:PassRole on {', '.join(wild) or 'NotResource'}"


def _trust_problems(role: Res) -> Iterator[str]:
    for stmt in iam.statements(role.get("assumeRolePolicy")):
        if stmt.get("Effect") != "Allow":
            continue
        principal = _principal(stmt)
        others = {k: v for k, v in principal.items() if k != "Service"}
        services = [s for s in _strings(principal.get("Service")) if s != SERVICE]
        if others or services:
            yield f"{role.name} is trusted by {SERVICE} and also by {others or services}"
        actions = _strings(stmt.get("Action"))
        if actions != ["sts:AssumeRole"]:
            yield f"{role.name} trusts {SERVICE} for {', '.join(actions) or 'NotAction'}, not only sts:AssumeRole"


def _document_problems(document: Any) -> Iterator[str]:
    if is_marker(document) or iam.parse(document) is None:
        yield "its policy document is not known here (unknown at preview?) or not JSON: build it from deterministic ARNs"
        return
    for stmt in iam.statements(document):
        if stmt.get("Effect") != "Allow":
            continue
        if "NotAction" in stmt or "NotResource" in stmt:
            yield f"statement {stmt.get('Sid', '?')} uses NotAction/NotResource"
            continue
        for action in _strings(stmt.get("Action")):
            yield from _action_problems(stmt, action.lower())


def _action_problems(stmt: dict, action: str) -> Iterator[str]:
    sid = stmt.get("Sid", "?")
    if "*" in action or "?" in action:
        yield f"statement {sid} allows the wildcard action {action}"
    elif action not in BATCH_ACTIONS:
        yield f"statement {sid} allows {action}, which no deedbox media job needs"
    elif action.startswith("s3:") and action not in BUCKET_ACTIONS:
        broad = [r for r in _strings(stmt.get("Resource")) if _no_prefix(r)]
        if broad:
            yield f"statement {sid} allows {action} on {', '.join(broad)}: name the prefixes the job needs"
    elif action.startswith("kms:") and not stmt.get("Condition") and "*" in "".join(_strings(stmt.get("Resource"))):
        yield f"statement {sid} allows {action} on any key without a condition (kms:ResourceAliases or kms:ViaService)"


def _no_prefix(resource: str) -> bool:
    """``*``, a wildcard bucket, a bucket ARN, or every key of a bucket (``arn:aws:s3:::b/*``)."""
    bucket, _, key = resource.split(":::", 1)[-1].partition("/")
    return resource == "*" or "*" in bucket or key == "" or key.startswith("*")


RULE = Rule(
    id="batch-least-privilege", severity="high", level="mandatory", scanners=(), check=least_privilege,
    description="Roles S3 Batch Operations runs as are trusted only by it and allowed only what deedbox's media "
                "jobs need, on named prefixes; iam:PassRole names the roles it passes.",
    fix="trust only batchoperations.s3.amazonaws.com for sts:AssumeRole; allow only the copy/replication actions "
        "on bucket ARNs with a key prefix (arn:aws:s3:::bucket/media/*); pass roles by their ARNs, never '*'",
)
