"""Run the policy pack over a recorded ``Graph``: the same ``pulumi_policy`` objects the pack
serves to ``pulumi preview``, fed with argument objects built from the graph.

Resource policies see a resource's inputs (as the engine's analyzer does before a create);
stack policies see inputs overlaid on the mock outputs, plus dependencies. Every policy yields
at least one verdict row: a ``pass`` when it found nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from deedbox.plan.graph import Graph, ResourceRecord
from deedbox.policy import POLICIES, RULES


@dataclass(frozen=True)
class Verdict:
    """One row of the policy table (the DESIGN.md JSON shape)."""

    policy: str
    level: str  # mandatory | advisory
    status: str  # pass | fail
    resource: str | None  # URN, None for a pass or a stack-wide finding
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "level": self.level, "status": self.status,
                "resource": self.resource, "message": self.message}


def _options(record: ResourceRecord) -> PolicyResourceOptions:
    return PolicyResourceOptions(record.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], record.parent)


def _provider(record: ResourceRecord, graph: Graph) -> PolicyProviderResource | None:
    found = graph.by_urn(record.provider_urn) if record.provider_urn else None
    if found is None:
        return None
    return PolicyProviderResource(found.type, dict(found.inputs), found.urn, found.name)


def _stack_props(record: ResourceRecord) -> dict[str, Any]:
    props = {**dict(record.outputs), **dict(record.inputs)}
    if record.id is not None:
        props.setdefault("id", record.id)
    return props


def stack_args(graph: Graph, config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    built: dict[str, PolicyResource] = {}
    for r in graph:
        built[r.urn] = PolicyResource(r.type, _stack_props(r), r.urn, r.name, _options(r),
                                      _provider(r, graph), None, [], {})
    for r in graph:
        built[r.urn].parent = built.get(r.parent) if r.parent else None
        built[r.urn].dependencies = [built[d] for d in r.dependencies if d in built]
    return StackValidationArgs(list(built.values()), config)


def resource_args(record: ResourceRecord, graph: Graph, config: Mapping[str, Any] | None = None):
    return ResourceValidationArgs(record.type, dict(record.inputs), record.urn, record.name,
                                  _options(record), _provider(record, graph), config)


def evaluate(graph: Graph, config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Verdict]:
    """Every policy's verdicts on ``graph``; ``config`` maps a policy id to its settings."""
    config = config or {}
    verdicts: list[Verdict] = []
    for rule, policy in zip(RULES, POLICIES, strict=True):
        found: list[tuple[str | None, str]] = []
        report = lambda message, urn=None, found=found: found.append((urn, message))  # noqa: E731
        if isinstance(policy, ResourceValidationPolicy):
            for record in graph:
                before = len(found)
                policy.validate(resource_args(record, graph, config.get(rule.id)), report)
                found[before:] = [(record.urn, m) for _, m in found[before:]]
        else:
            policy.validate(stack_args(graph, config.get(rule.id)), report)
        rows = [Verdict(rule.id, rule.level, "fail", urn, msg) for urn, msg in found]
        verdicts.extend(rows or [Verdict(rule.id, rule.level, "pass", None, rule.description)])
    return verdicts


def mandatory_failures(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.status == "fail" and v.level == "mandatory"]
