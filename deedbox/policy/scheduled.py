"""Rules on the jobs that run in the account (``runner.kind: aws``): what EventBridge Scheduler's
roles may do, and where a CodeBuild project's secrets come from."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from deedbox.policy import iam
from deedbox.policy.access import ATTACHMENT, ROLE, ROLE_POLICY, _role_of
from deedbox.policy.catalog import rule
from deedbox.policy.view import Res, Stack, as_list, dig, is_marker, peek

PROJECT = "aws:codebuild/project:Project"
SCHEDULER = "scheduler.amazonaws.com"
# what a scheduler role may be allowed: start builds of named projects; write data points of one namespace
START_BUILD = "codebuild:StartBuild"
PUT_METRIC_DATA = "cloudwatch:PutMetricData"
_PROJECT_ARN = re.compile(r"^arn:aws[a-z-]*:codebuild:[a-z0-9-]+:[0-9]{12}:project/[A-Za-z0-9][A-Za-z0-9_-]*$")
# names whose value is a credential: the deploy key, tokens, webhooks, passphrases, passwords...
SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|WEBHOOK|PRIVATE|AUTH|SIGNING|DSN",
                         re.IGNORECASE)


def _trusts(role: Res, service: str) -> list[dict[str, Any]]:
    """The trust statements of ``role`` that let ``service`` assume it."""
    out = []
    for s in iam.statements(role.get("assumeRolePolicy")):
        principal = s.get("Principal") or {}
        services = as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if s.get("Effect") == "Allow" and service in services:
            out.append(s)
    return out


def _condition_keys(stmt: Mapping[str, Any]) -> set[str]:
    condition = stmt.get("Condition") or {}
    return {k.lower() for op in condition.values() if isinstance(op, Mapping) for k in op}


def _documents(stack: Stack, role: Res) -> tuple[list[Any], list[str]]:
    """The role's policy documents (inline and RolePolicy) and its managed policy ARNs."""
    docs = [p.get("policy") for p in as_list(role.props.get("inlinePolicies")) if isinstance(p, Mapping)]
    docs += [peek(p.props, "policy") for p in stack.of_type(ROLE_POLICY) if _same(stack, p, role)]
    managed = [str(a) for a in as_list(role.props.get("managedPolicyArns"))]
    managed += [str(a.get("policyArn")) for a in stack.of_type(ATTACHMENT) if _same(stack, a, role)]
    return docs, managed


def _same(stack: Stack, attached: Res, role: Res) -> bool:
    found = _role_of(stack, attached)
    return found is not None and found.urn == role.urn


def _grant_problems(stmt: Mapping[str, Any]) -> list[str]:
    actions = [a for a in as_list(stmt.get("Action")) if isinstance(a, str)]
    if "NotAction" in stmt or not actions:
        return ["an Allow with NotAction (or no Action) grants everything else"]
    out = []
    for action in actions:
        if action == START_BUILD:
            bad = [r for r in as_list(stmt.get("Resource")) if not (isinstance(r, str) and _PROJECT_ARN.match(r))]
            if bad or not as_list(stmt.get("Resource")):
                out.append(f"{START_BUILD} on {', '.join(map(str, bad)) or 'no resource'} (name each project by ARN)")
        elif action == PUT_METRIC_DATA:
            if "cloudwatch:namespace" not in _condition_keys(stmt):
                out.append(f"{PUT_METRIC_DATA} without a cloudwatch:namespace condition")
        else:
            out.append(f"{action} (a scheduler role starts builds and writes due markers, nothing else)")
    return out


@rule(id="scheduler-least-privilege", severity="high", level="mandatory", scanners=(),
      description="Roles EventBridge Scheduler assumes are scoped to this account's schedules and may only start "
                  "named CodeBuild projects (or write data points of one metric namespace).",
      fix="trust scheduler.amazonaws.com with aws:SourceAccount (and aws:SourceArn of the schedule group) and "
          "allow only codebuild:StartBuild on the project's ARN, or cloudwatch:PutMetricData with a "
          "cloudwatch:namespace condition; no managed policies")
def scheduler_roles(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for role in stack.of_type(ROLE):
        trusts = _trusts(role, SCHEDULER)
        if not trusts:
            continue
        if not all("aws:sourceaccount" in _condition_keys(t) for t in trusts):
            yield role.urn, (f"{role.name} trusts {SCHEDULER} without aws:SourceAccount: schedules of any account "
                             "could act as it (confused deputy)")
        docs, managed = _documents(stack, role)
        if managed:
            yield role.urn, f"{role.name} has managed policies ({', '.join(managed)}), which cannot be shown least-privilege"
        for doc in docs:
            if is_marker(doc) or iam.parse(doc) is None:
                yield role.urn, f"{role.name}: a policy document is not known here, so it cannot be shown least-privilege"
                continue
            for stmt in iam.statements(doc):
                if stmt.get("Effect") == "Allow":
                    for problem in _grant_problems(stmt):
                        yield role.urn, f"{role.name} is allowed {problem}"


def _variables(project: Res) -> list[Mapping[str, Any]]:
    env = project.get("environment")
    return [v for v in as_list(dig(env, "environmentVariables")) if isinstance(v, Mapping)]


def _buildspec_variables(project: Res) -> list[str]:
    """Plain-text variables a buildspec declares itself (``env.variables``)."""
    text = dig(project.get("source"), "buildspec")
    try:
        spec = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        return []
    variables = dig(spec, "env", "variables") if isinstance(spec, Mapping) else None
    return [str(k) for k in variables] if isinstance(variables, Mapping) else []


@rule(id="codebuild-no-plaintext-secrets", severity="critical", level="mandatory", scanners=(),
      description="No CodeBuild environment variable with a secret-looking name (key, token, secret, password, "
                  "webhook, passphrase...) is PLAINTEXT: its value would sit in the project, the plan and the state.",
      fix="give the variable type SECRETS_MANAGER and the secret's ARN as its value (CodeBuild reads it at build "
          "time), or PARAMETER_STORE with a SecureString parameter")
def codebuild_secrets(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for project in stack.of_type(PROJECT):
        for var in _variables(project):
            name, kind = str(var.get("name", "")), var.get("type") or "PLAINTEXT"
            if kind == "PLAINTEXT" and SECRET_NAME.search(name):
                yield project.urn, f"{project.name}: environment variable {name} is PLAINTEXT"
        for name in _buildspec_variables(project):
            if SECRET_NAME.search(name):
                yield project.urn, f"{project.name}: the buildspec declares {name} in env.variables (plain text)"
