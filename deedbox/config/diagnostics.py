"""Diagnostics: one problem in backup.yaml, where it is, and which rule found it.

Every layer (YAML reading, the JSON Schema, the semantic rules, the secret scan) reports through
the same frozen ``Diagnostic`` so that reporters (text, JSON, GitHub annotations) need one shape.
Lines and columns are 1-based, like editors show them. ``path`` is dotted with list indexes in
brackets: ``drills.checks[1].expect``; the empty string is the whole document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from deedbox.config.paths import PathT
from deedbox.config.secretscan import secret_kind

__all__ = ["Diagnostic", "PathT", "Result", "Severity", "dotted", "sort_key"]

Severity = Literal["error", "warning"]


def dotted(path: PathT) -> str:
    """``("drills", "checks", 1, "expect")`` -> ``"drills.checks[1].expect"``.

    A key that looks like a secret is shown as ``<redacted>``: paths are printed too.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = "<redacted>" if secret_kind(str(part)) else str(part)
            out += f".{text}" if out else text
    return out


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding. ``message`` never contains a value that could be a secret."""

    line: int
    column: int
    path: str
    rule: str
    message: str
    severity: Severity = "error"

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of the CLI contract (severity is implied by the list it is in)."""
        return {"line": self.line, "column": self.column, "path": self.path,
                "rule": self.rule, "message": self.message}


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of checking one file: every diagnostic, and the model when there is no error."""

    path: str
    diagnostics: tuple[Diagnostic, ...] = ()
    model: Any = None  # deedbox.config.model.Config when valid
    document: Any = field(default=None, repr=False)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    @property
    def valid(self) -> bool:
        return not self.errors


def sort_key(d: Diagnostic) -> tuple[int, int, str, str]:
    return (d.line, d.column, d.rule, d.message)
