"""``deedbox doctor``: the live prerequisites, one checklist line each. Exit 1 if any check fails."""

from __future__ import annotations

from pathlib import Path


def run(*, config: Path, bucket: str | None, format: str) -> int:
    from deedbox.commands.output import emit, load_config
    from deedbox.doctor.diagnose import diagnose
    from deedbox.doctor.report import document, lines

    cfg = load_config(config)
    checks = diagnose(cfg, bucket)
    doc = document(checks)
    emit(format, doc, lines(checks))
    return 0 if doc["ok"] else 1
