"""Semantic rules beyond the schema (placeholder filled in below)."""
from __future__ import annotations

from deedbox.config.diagnostics import Diagnostic, dotted
from deedbox.config.secretscan import scan
from deedbox.config.yamlread import Document


def secret_values(doc: Document) -> list[Diagnostic]:
    """Rule ``secret-value``: a string or key that looks like a secret; the value is never shown."""
    out = []
    for path, is_key, kind in scan(doc.data):
        line, col = doc.position(path, key=is_key)
        what = "a key" if is_key else "this value"
        out.append(Diagnostic(line, col, dotted(path), "secret-value",
                              f"{what} looks like {kind}; keep secrets out of backup.yaml and reference them as {{env: NAME}}"))
    return out


def run(doc: Document) -> list[Diagnostic]:
    return []
