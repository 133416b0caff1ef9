"""``deedbox drill run | list | reap``.

run: exit 0 only when every step passed and the stack was torn down; 1 when the drill failed;
130 when interrupted (the stack is still torn down). list/reap: 0, or 1 when a reap failed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


def run(*, action: str, config: Path, bucket: str | None, format: str) -> int:
    from deedbox.bucket.client import BucketClient
    from deedbox.commands.output import load_config
    from deedbox.drill.stacks import AutomationBackend

    cfg = load_config(config)
    if action == "reap":  # needs the stack backend only, not the bucket
        return _reap(AutomationBackend(config_path=config), format)
    store = BucketClient.resolve(cfg, bucket)
    if action == "run":
        return _run(cfg, store, AutomationBackend(config_path=config), format)
    return _list(store, lambda: _backend_or_reason(config), format)


def _backend_or_reason(config: Path):
    """The stack backend, or the one-line reason it is unavailable (list still shows reports)."""
    from deedbox.drill.stacks import AutomationBackend
    from deedbox.errors import EnvironmentProblem

    try:
        return AutomationBackend(config_path=config), None
    except EnvironmentProblem as err:
        return None, str(err)


def _run(cfg, store, backend, fmt: str) -> int:
    from deedbox.commands.output import emit
    from deedbox.drill.run import DrillTools, run_drill

    report, code = run_drill(cfg, DrillTools(store=store, backend=backend))
    lines = [f"drill {report.drill_id}: {'PASSED' if code == 0 else 'FAILED'}"
             + (f" at step `{report.failed_step}`" if report.failed_step else ""),
             f"snapshot {report.snapshot}  RPO {report.rpo_s}s  RTO {report.rto_s}s"]
    lines += [f"  {s.status:7} {s.name:16} {s.duration_s:8.1f}s  {s.detail}" for s in report.steps]
    lines += [f"  check {c.status:7} {c.name}: {c.detail}" for c in report.checks]
    if report.report_keys:
        lines.append(f"report: {', '.join(report.report_keys)}")
    emit(fmt, report.to_dict(), lines)
    return code


def _list(store, open_backend, fmt: str) -> int:
    from deedbox.commands.output import emit
    from deedbox.drill.admin import drill_stacks, list_reports
    from deedbox.errors import EnvironmentProblem

    reports = list_reports(store)
    backend, unavailable = open_backend()
    stacks = []
    if backend is not None:
        try:
            stacks = drill_stacks(backend, datetime.now(UTC))
        except EnvironmentProblem as err:
            unavailable = str(err)
    doc = {"reports": reports, "stacks_unavailable": unavailable, "stacks": [
        {"stack": s.name, "expires_at": s.expires_at.isoformat() if s.expires_at else None,
         "expired": s.expired, "resources": s.resources} for s in stacks]}
    lines = [_report_line(r) for r in reports] or ["no drill reports"]
    rtos = [r["rto_s"] for r in reports if r.get("status") == "passed" and isinstance(r.get("rto_s"), int | float)]
    if rtos:
        lines.append(f"RTO of {len(rtos)} passed drills: newest {_dur(rtos[0])}, worst {_dur(max(rtos))}, "
                     f"best {_dur(min(rtos))}")
    lines += [f"stack {s['stack']}: expires {s['expires_at']}{' (EXPIRED: run `deedbox drill reap`)' if s['expired'] else ''}"
              for s in doc["stacks"]]
    if unavailable:
        lines.append(f"stacks not listed: {unavailable}")
    emit(fmt, doc, lines)
    return 0


def _dur(seconds: float | None) -> str:
    from deedbox.drill.report import format_duration

    return format_duration(seconds)


def _report_line(r: dict) -> str:
    stores = r.get("stores") or {}
    verdicts = " ".join(f"{name}:{verdict}" for name, verdict in stores.items() if verdict != "skipped")
    return (f"{r.get('drill_id') or r['key']}: {r['status']}"
            + (f" (failed at {r['failed_step']})" if r.get("failed_step") else "")
            + f"  RPO {_dur(r.get('rpo_s'))}  RTO {_dur(r.get('rto_s'))}" + (f"  [{verdicts}]" if verdicts else ""))


def _reap(backend, fmt: str) -> int:
    from deedbox.commands.output import emit
    from deedbox.drill.admin import reap

    rows = reap(backend)
    emit(fmt, {"stacks": rows}, [f"{r['action']:7} {r['stack']}: {r['detail']}" for r in rows] or ["no drill stacks"])
    return 1 if any(r["action"] == "failed" for r in rows) else 0
