"""``deedbox validate``: check backup.yaml and report in text, JSON or GitHub annotations.

Exit 0 valid (warnings allowed), 1 invalid (including YAML syntax errors, with their position),
2 unreadable (missing, a directory, binary): that one line goes to stderr through the CLI's
error handler. Imports stay minimal so the command starts fast: no rich, no Pulumi, no boto3.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from deedbox.config import Result, check


def run(*, config: Path, format: str = "text") -> int:  # noqa: A002 - the CLI option's name
    """Validate ``config`` and print the report; return the exit code."""
    result = check(config)
    REPORTERS[format](result, sys.stdout)
    return 0 if result.valid else 1


def report_text(result: Result, out: TextIO) -> None:
    for d in result.diagnostics:
        out.write(f"{result.path}:{d.line}:{d.column}: {d.severity} [{d.rule}] {d.message}\n")
    errors, warnings = len(result.errors), len(result.warnings)
    verdict = "valid" if result.valid else "invalid"
    out.write(f"{result.path}: {verdict}: {errors} error{_s(errors)}, {warnings} warning{_s(warnings)}\n")


def report_json(result: Result, out: TextIO) -> None:
    body = {"valid": result.valid,
            "errors": [d.as_json() for d in result.errors],
            "warnings": [d.as_json() for d in result.warnings]}
    out.write(json.dumps(body, indent=2) + "\n")


def report_github(result: Result, out: TextIO) -> None:
    """GitHub workflow commands; properties and data escaped as the runner expects."""
    for d in result.diagnostics:
        props = f"file={_prop(result.path)},line={d.line},col={d.column},title={_prop(f'deedbox [{d.rule}]')}"
        out.write(f"::{d.severity} {props}::{_data(d.message)}\n")
    if result.valid:
        out.write(f"{result.path}: valid ({len(result.warnings)} warning{_s(len(result.warnings))})\n")


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


REPORTERS: dict[str, Callable[[Result, TextIO], None]] = {
    "text": report_text, "json": report_json, "github": report_github,
}

__all__ = ["run", "report_text", "report_json", "report_github", "REPORTERS"]
