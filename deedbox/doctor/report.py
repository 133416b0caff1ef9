"""The doctor's checklist: a ``Check`` per line, the facts checks decide on, and the two renderings.

A fact is an ``Answer``: the boto3 response dict as it came, ``None`` when the setting does not
exist (``ReplicationConfigurationNotFoundError``, ``NoSuchEntity``, ...: ``probe`` maps each call's
own "not configured" code), or ``Refused(code)`` when the call failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"
LABEL = {OK: "ok", FAIL: "FAIL", WARN: "warn", SKIP: "skip"}
MISSING_CODES = frozenset({"NotFound", "NoSuchBucket", "NoSuchEntity", "ResourceNotFoundException"})


@dataclass(frozen=True)
class Check:
    """One line of the checklist. ``fix`` says what to do; every ``fail`` has one."""

    id: str
    status: str  # ok | fail | warn | skip
    message: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Refused:
    """A call that failed: AWS's error code (``AccessDenied``, ``NotFound``...) or the exception name."""

    code: str

    @property
    def missing(self) -> bool:
        return self.code in MISSING_CODES


Answer = Mapping[str, Any] | Refused | None


# --------------------------------------------------------------------------- the report

def document(checks: Sequence[Check]) -> dict[str, Any]:
    """``{"ok": bool, "checks": [{"id", "status", "message", "fix"}]}``."""
    return {"ok": not any(c.status == FAIL for c in checks), "checks": [c.to_dict() for c in checks]}


def lines(checks: Sequence[Check]) -> list[str]:
    """One line per check, then a summary line."""
    width = max((len(c.id) for c in checks), default=0)
    out = [f"{LABEL[c.status]:<4}  {c.id:<{width}}  {c.message}" + (f"; fix: {c.fix}" if c.fix else "")
           for c in checks]
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    verdict = f"{failed} of {len(checks)} checks failed" if failed else f"ok ({len(checks)} checks)"
    return [*out, f"doctor: {verdict}" + (f", {warned} warning{'s' * (warned != 1)}" if warned else "")]


def unreadable(check_id: str, what: str, refused: Refused, permission: str) -> Check:
    return Check(check_id, FAIL, f"cannot read {what} ({refused.code})",
                 f"run with credentials allowed {permission}")
