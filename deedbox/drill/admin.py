"""``drill list`` and ``drill reap``: what drills ran, and cleaning up after ones that were killed.

A drill stack is recognised by its name (``drill-<UTC ts>``) and its expiry, read from the
stack tag ``deedbox:expires`` or, for backends without tags, the stack config
``deedbox-drill:expiresAt``. ``reap`` destroys and removes only stacks that are both drill stacks
and past their expiry; anything else in the backend is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from deedbox.bucket.layout import PREFIXES
from deedbox.drill.stacks import StackBackend, StackInfo
from deedbox.errors import DeedboxError
from deedbox.topology.drill import TAG_EXPIRES

REPORTS_PREFIX = PREFIXES["drills"]


@dataclass(frozen=True)
class DrillStackState:
    name: str
    expires_at: datetime | None
    expired: bool
    resources: int | None


def expiry_of(stack: StackInfo) -> datetime | None:
    raw = stack.tags.get(TAG_EXPIRES) or stack.config.get("deedbox-drill:expiresAt")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def drill_stacks(backend: StackBackend, now: datetime) -> list[DrillStackState]:
    out = []
    for stack in backend.list():
        if not stack.name.startswith("drill-"):
            continue
        expires = expiry_of(stack)
        out.append(DrillStackState(stack.name, expires, expires is not None and expires <= now,
                                   stack.resource_count))
    return out


def reap(backend: StackBackend, now: datetime | None = None) -> list[dict[str, Any]]:
    """Destroy and remove every expired drill stack; one result row per drill stack seen."""
    now = now or datetime.now(UTC)
    rows = []
    for st in drill_stacks(backend, now):
        row = {"stack": st.name, "expires_at": st.expires_at.isoformat() if st.expires_at else None}
        if not st.expired:
            rows.append({**row, "action": "kept", "detail": "not expired" if st.expires_at else "no expiry tag"})
            continue
        try:
            backend.destroy(st.name)
            backend.remove(st.name)
            rows.append({**row, "action": "reaped", "detail": "destroyed and removed"})
        except DeedboxError as err:
            rows.append({**row, "action": "failed", "detail": str(err)})
    return rows


def list_reports(store: Any) -> list[dict[str, Any]]:
    """One row per ``drills/<ts>/report.json`` in the bucket, newest first (one reader: ``deedbox.bucket.drills``)."""
    from deedbox.bucket.drills import read_drill_reports

    return [r.to_dict() for r in read_drill_reports(store)]
