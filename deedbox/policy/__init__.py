"""The policy pack: deedbox's security invariants as plain rule functions.

- ``view``: the engine-neutral resource view (``Res``, ``Stack``) and the bucket joins.
- ``catalog``: ``Rule`` (id, severity, mandatory/advisory, scanner ids, how to fix, thresholds).
- ``buckets``, ``replication``, ``access``, ``lifecycle``, ``writeonce``, ``deadman`` (alarms when backups
  stop arriving), ``scheduled`` (the jobs run in the account), ``batch`` (the S3 Batch Operations roles): the
  rules, one function each.
- ``pack``: each rule as a ``pulumi_policy`` policy; ``POLICIES`` lists them in rule order.

``RULES`` is importable without Pulumi; ``POLICIES`` imports ``pulumi_policy`` on first use.
"""

from __future__ import annotations

from typing import Any

# Importing the rule modules registers their rules, in this (report) order.
# isort: off
from deedbox.policy import buckets, replication, lifecycle, access, writeonce, deadman, scheduled  # noqa: F401
# isort: on
from deedbox.policy.batch import RULE as _BATCH_RULE
from deedbox.policy.catalog import RULES, Rule

RULES.append(_BATCH_RULE)  # batch.py leaves registering to the pack (its tests evaluate it alone)

__all__ = ["POLICIES", "RULES", "Rule", "rule_by_id"]


def rule_by_id(rule_id: str) -> Rule:
    return next(r for r in RULES if r.id == rule_id)


def __getattr__(name: str) -> Any:
    if name == "POLICIES":
        from deedbox.policy.pack import to_policy

        policies = [to_policy(r) for r in RULES]
        globals()["POLICIES"] = policies
        return policies
    raise AttributeError(name)
