"""The rules as ``pulumi_policy`` policies: what ``policies/__main__.py`` assembles into a pack.

Each rule becomes a ``ResourceValidationPolicy`` (resource scope) or a ``StackValidationPolicy``
(stack scope) named by the rule id. The validate callbacks only adapt the engine's argument
objects to the ``deedbox.policy.view`` types and call the rule, so ``deedbox plan`` (which feeds
the same objects from a recorded graph) and ``pulumi preview --policy-pack`` agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _is_unknown

from deedbox.policy.catalog import Rule, check_resource
from deedbox.policy.view import UNKNOWN, Res, Stack, stack_of


def plain(value: Any) -> Any:
    """The engine's props as plain dicts/lists: ``pulumi_policy`` wraps them in proxies that raise
    on unknown values (and are not ``dict``s); unknowns become the recorder's ``[unknown]`` marker,
    so a rule reads the same shapes under ``pulumi preview`` as in ``deedbox plan``."""
    if isinstance(value, Mapping):
        target = _target(value)
        return {k: plain(target[k]) for k in target}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in _target(value)]
    return UNKNOWN if _is_unknown(value) else value


def _is_proxy(value: Any) -> bool:
    return type(value).__module__ == "pulumi_policy.proxy"


def _target(value: Any) -> Any:
    """The wrapped object of a proxy; a proxied list, too, answers ``["__target"]``."""
    return value["__target"] if _is_proxy(value) else value


def res_from_args(args: Any) -> Res:
    """A ``Res`` from ``ResourceValidationArgs`` or a ``PolicyResource`` (same field names)."""
    provider = getattr(args, "provider", None)
    return Res(
        type=args.resource_type,
        name=args.name,
        urn=args.urn,
        props=plain(args.props or {}),
        protect=bool(getattr(args.opts, "protect", False)),
        provider=provider.urn if provider is not None else None,
        dependencies=tuple(d.urn for d in getattr(args, "dependencies", None) or ()),
        prop_deps={k: tuple(d.urn for d in v) for k, v in (getattr(args, "property_dependencies", None) or {}).items()},
    )


def stack_from_args(args: StackValidationArgs) -> Stack:
    providers: dict[str, Res] = {}
    for resource in args.resources:
        p = resource.provider
        if p is not None:
            providers[p.urn] = Res(type=p.resource_type, name=p.name, urn=p.urn, props=plain(p.props or {}))
    return stack_of((res_from_args(r) for r in args.resources), providers)


def _resource_validate(rule: Rule):
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for message in check_resource(rule, res_from_args(args), args.get_config()):
            report(message, None)

    return validate


def _stack_validate(rule: Rule):
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for urn, message in rule.findings(stack_from_args(args), args.get_config()):
            report(message, urn)

    return validate


def to_policy(rule: Rule) -> ResourceValidationPolicy | StackValidationPolicy:
    """The ``pulumi_policy`` object for one rule."""
    common: Mapping[str, Any] = dict(
        description=rule.description,
        enforcement_level=EnforcementLevel(rule.level),
        config_schema=PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config.items()})
        if rule.config else None,
        severity=Severity(rule.severity),
        tags=list(rule.scanners) or None,
        remediation_steps=rule.fix,
    )
    if rule.scope == "resource":
        return ResourceValidationPolicy(rule.id, validate=_resource_validate(rule), **common)
    return StackValidationPolicy(rule.id, validate=_stack_validate(rule), **common)
