"""The semantic rule registry: ``@rule(id)`` and the helpers every rule uses (``at``, ``get``).

``rules`` and ``references`` register their rules here on import; ``semantic`` imports both and
runs them. A rule is a function ``(doc) -> Iterator[Diagnostic]``; its docstring documents it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from deedbox.config.diagnostics import Diagnostic, PathT, Severity, dotted
from deedbox.config.yamlread import Document

Rule = Callable[[Document], Iterator[Diagnostic]]
RULES: dict[str, Rule] = {}


def rule(rule_id: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[rule_id] = fn
        return fn
    return register


def at(doc: Document, path: PathT, rule_id: str, message: str, severity: Severity = "error", *,
       key: bool = False) -> Diagnostic:
    line, col = doc.position(path, key=key)
    return Diagnostic(line, col, dotted(path), rule_id, message, severity)


def get(data: Any, path: PathT, default: Any = None) -> Any:
    for part in path:
        match data:
            case dict() if part in data:
                data = data[part]
            case list() if isinstance(part, int) and part < len(data):
                data = data[part]
            case _:
                return default
    return data


