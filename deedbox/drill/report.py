"""The drill's evidence: steps, checks, RPO/RTO, and how it is rendered (pure: no I/O).

A report is written to ``drills/<UTC ts>/report.json``, ``report.md`` and ``report.html`` in the
backup bucket, with the browser screenshots under ``drills/<UTC ts>/screenshots/``.
RPO is the age of the snapshot when the drill started (how much data a disaster at that moment
would have lost); RTO is the time from the drill's start until the restored deployment was
verified (round trip and checks), i.e. how long a real restore takes, teardown excluded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from deedbox.config.model import Expectation
from deedbox.restore.point import describe as describe_point

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class Step:
    name: str
    status: str = SKIPPED
    started_at: str | None = None
    duration_s: float = 0.0
    detail: str = ""


@dataclass
class CheckOutcome:
    name: str
    query: str
    status: str
    detail: str
    as_user: str | None = None


@dataclass
class DrillReport:
    drill_id: str
    stack: str
    started_at: str
    snapshot: str | None = None
    snapshot_taken_at: str | None = None
    rpo_s: float | None = None
    rto_s: float | None = None
    steps: list[Step] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    finished_at: str | None = None
    deployment_url: str | None = None
    report_keys: list[str] = field(default_factory=list)
    restore_point: dict[str, Any] | None = None  # the manifest's: vault versions, newest media record
    secrets: list[dict[str, Any]] = field(default_factory=list)  # RestoreItem.to_dict(): never a value
    media: dict[str, Any] | None = None  # MediaOutcome.to_dict()
    web: list[dict[str, Any]] = field(default_factory=list)  # name, action, status, detail, duration_s, screenshot

    def stores(self) -> dict[str, str]:
        """The three stores' verdicts (plus the app): passed | failed | skipped (not configured / not reached)."""
        def of(*names: str) -> str:
            states = [self.step(n).status for n in names if any(s.name == n for s in self.steps)]
            if any(s == FAILED for s in states):
                return FAILED
            return PASSED if states and all(s == PASSED for s in states) else SKIPPED
        return {"backend": of("import snapshot", "round trip", "checks"), "secrets": of("restore secrets"),
                "media": of("media"), "web app": of("web app")}

    @property
    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps if s.status == FAILED), None)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(s.status in (PASSED, SKIPPED) for s in self.steps) \
            and any(s.status == PASSED for s in self.steps)

    def step(self, name: str) -> Step:
        """The step called ``name`` (every drill step is created with the report)."""
        found = next((s for s in self.steps if s.name == name), None)
        if found is None:
            raise KeyError(f"the drill report has no step {name!r}")
        return found

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.update(status=PASSED if self.passed else FAILED, failed_step=self.failed_step,
                   stores=self.stores(), format="deedbox.drill-report", format_version=1)
        return doc


def expectation_problem(expect: Expectation, value: Any) -> str | None:
    """None when ``value`` meets ``expect``, else one line saying how it does not."""
    if expect.not_null:
        return None if value is not None else "expected a value, got null"
    if expect.is_null:
        return None if value is None else f"expected null, got {_short(value)}"
    if expect.min_items is not None:
        if not isinstance(value, list):
            return f"expected a list of at least {expect.min_items}, got {_short(value)}"
        return None if len(value) >= expect.min_items else \
            f"expected at least {expect.min_items} items, got {len(value)}"
    if expect.has_equals:
        return None if value == expect.equals and type(value) is type(expect.equals) else \
            f"expected {_short(expect.equals)}, got {_short(value)}"
    return "the check has no expectation"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def seconds_between(a: str, b: str) -> float:
    return round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds(), 3)


def render_markdown(report: DrillReport) -> str:
    """``report.md``: what a reviewer or auditor reads."""
    d = report.to_dict()
    verdict = "PASSED" if report.passed else f"FAILED at step `{report.failed_step}`"
    lines = [f"# Restore drill {report.drill_id}: {verdict}", "",
             f"- stack: `{report.stack}`", f"- started: {report.started_at}",
             f"- finished: {report.finished_at}",
             f"- snapshot: `{report.snapshot}` (taken {report.snapshot_taken_at})",
             f"- RPO (snapshot age at start): {format_duration(report.rpo_s)}",
             f"- RTO (start to verified): {format_duration(report.rto_s)}",
             "- stores: " + ", ".join(f"{name} **{verdict}**" for name, verdict in report.stores().items()), "",
             "| step | status | duration | detail |", "|---|---|---|---|"]
    lines += [f"| {s['name']} | {s['status']} | {s['duration_s']:.1f}s | {_cell(s['detail'])} |" for s in d["steps"]]
    if report.checks:
        lines += ["", "| check | query | status | detail |", "|---|---|---|---|"]
        lines += [f"| {c.name} | `{c.query}` | {c.status} | {_cell(c.detail)} |" for c in report.checks]
    if report.snapshot:
        lines += ["", "Restore point:"] + [f"- {line}" for line in describe_point(report.snapshot, report.restore_point)]
    if report.secrets:
        lines += ["", "| secret | state | vault version | fingerprint |", "|---|---|---|---|"]
        lines += [f"| {s['key']} | {s['state']} | {s.get('source', '')} {(s.get('version_id') or '')[:8]} | "
                  f"{_match(s.get('matches'))} |" for s in report.secrets]
    if report.media:
        lines += ["", f"Media: {_cell(report.media.get('summary', ''))}"]
    if report.web:
        lines += ["", "| browser step | status | detail | screenshot |", "|---|---|---|---|"]
        lines += [f"| {w['name']} | {w['status']} | {_cell(w['detail'])} | {w.get('screenshot') or ''} |"
                  for w in report.web]
    return "\n".join(lines) + "\n"


def _match(matches: bool | None) -> str:
    return "n/a" if matches is None else ("matches" if matches else "DIFFERS")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    h, rem = divmod(int(seconds), 3600)
    return f"{h}h {rem // 60}m {rem % 60}s" if h else f"{rem // 60}m {rem % 60}s"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
