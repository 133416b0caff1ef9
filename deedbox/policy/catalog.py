"""Rule metadata and the registry every rule module adds itself to.

A rule is a plain function plus its metadata: an id, a severity, an enforcement level
(``mandatory`` blocks ``pulumi up`` and fails ``deedbox plan``; ``advisory`` only warns), the
scanner ids it corresponds to, how to fix it, and the configurable thresholds with defaults.

- ``scope="resource"``: ``check(res, settings) -> Iterable[str]``, called for each resource whose
  type is in ``types`` (every resource when empty); each string is a problem with that resource.
- ``scope="stack"``: ``check(stack, settings) -> Iterable[(urn, problem)]``, called once with
  every resource (most bucket rules: v7 splits a bucket's settings over several resources).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deedbox.policy.view import Res, Stack

RULES: list[Rule] = []


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: str  # low | medium | high | critical
    level: str  # mandatory | advisory
    fix: str  # how to fix, appended to every violation message
    scanners: tuple[str, ...]
    check: Callable[..., Iterable[Any]]
    scope: str = "stack"
    types: tuple[str, ...] = ()
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def settings(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Schema defaults overlaid with the configured values (engine config may omit any)."""
        values = {k: spec.get("default") for k, spec in self.config.items()}
        values.update({k: v for k, v in (given or {}).items() if k in self.config})
        return values

    def message(self, problem: str) -> str:
        return f"{problem.rstrip('.')}. Fix: {self.fix}"

    def findings(self, stack: Stack, given: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
        """Every (urn, message) this rule reports on ``stack``."""
        settings = self.settings(given)
        if self.scope == "stack":
            return [(urn, self.message(p)) for urn, p in self.check(stack, settings)]
        return [
            (res.urn, self.message(p))
            for res in stack.resources
            if self.applies(res)
            for p in self.check(res, settings)
        ]

    def applies(self, res: Res) -> bool:
        """Resource scope: ``types`` empty means every resource."""
        return not self.types or res.type in self.types


def rule(**meta: Any) -> Callable[[Callable], Callable]:
    """Register the decorated function as a rule with the given metadata."""

    def register(fn: Callable) -> Callable:
        RULES.append(Rule(check=fn, description=meta.pop("description", (fn.__doc__ or "").strip()), **meta))
        return fn

    return register


def check_resource(rule_: Rule, res: Res, given: Mapping[str, Any] | None = None) -> list[str]:
    """Messages of a resource-scoped rule for one resource (the CrossGuard resource path)."""
    if not rule_.applies(res):
        return []
    return [rule_.message(p) for p in rule_.check(res, rule_.settings(given))]
