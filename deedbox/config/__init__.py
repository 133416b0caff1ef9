"""The backup.yaml contract: read with positions, validate, build the typed model.

Layers, each doing one thing (check-jsonschema's shape):

- ``yamlread``: bytes -> JSON types + ``path -> (line, column)``; duplicate keys, tabs, alias
  bombs and syntax errors become diagnostics. Unreadable files raise ``UsageError`` (exit 2).
- ``schema``: JSON Schema 2020-12 (``backup.schema.json``), every error at its node.
- ``secretscan``: any string or key that looks like a secret value (never echoed).
- ``rules``: semantic rules beyond the schema (off-platform, lock covers RPO, schedules, ...),
  run only when the schema passed.
- ``model``: frozen dataclasses with every default applied, built only from a valid document.

``check(path) -> Result`` reports everything; ``load(path) -> Config`` raises ``ConfigError``
(its ``diagnostics`` carry every problem) or returns the model. Pure: no network, no Pulumi.
"""

from __future__ import annotations

from pathlib import Path

from deedbox.config.diagnostics import Diagnostic, Result, sort_key
from deedbox.config.model import Config
from deedbox.errors import ConfigError

RECOVERABLE = {"yaml.duplicate-key"}

__all__ = ["Config", "Diagnostic", "Result", "check", "check_text", "load"]


def check(path: str | Path) -> Result:
    """Check one file. Raises ``UsageError`` only when it cannot be read at all."""
    from deedbox.config.yamlread import read_text

    path = Path(path)
    return check_text(read_text(path), path=str(path))


def check_text(text: str, *, path: str = "backup.yaml") -> Result:
    """Check YAML text: syntax, schema, secrets, then semantic rules and the model."""
    from deedbox.config import rules, schema, semantic, yamlread
    from deedbox.config.model import from_dict

    doc = yamlread.parse(text)
    found = list(doc.diagnostics)
    if doc.data is not None and not isinstance(doc.data, dict):
        found.append(_not_a_mapping(doc))
    # A duplicate key is reported and the first value kept, so checking can go on and report
    # everything else too; any other YAML problem leaves nothing trustworthy to check.
    if doc.data is None or any(d.rule not in RECOVERABLE for d in found):
        return _result(path, found, doc)
    found += schema.validate(doc)
    found += rules.secret_values(doc)
    if any(d.rule.startswith("schema") for d in found):
        return _result(path, found, doc)
    found += semantic.run(doc)
    if any(d.severity == "error" for d in found):
        return _result(path, found, doc)
    return _result(path, found, doc, model=from_dict(doc.data, path=path, text=text))


def load(path: str | Path) -> Config:
    """Load, validate and build the model of a backup.yaml.

    Raises ``ConfigError`` (exit 1) listing every error with its position, or ``UsageError``
    (exit 2) when the file cannot be read.
    """
    result = check(path)
    if result.errors:
        first = result.errors[0]
        more = len(result.errors) - 1
        tail = f" (and {more} more error{'s' if more != 1 else ''}; run `deedbox validate`)" if more else ""
        raise ConfigError(f"{result.path}:{first.line}:{first.column}: [{first.rule}] {first.message}{tail}",
                          result.errors)
    assert result.model is not None  # no errors: check_text built the model
    return result.model


def _not_a_mapping(doc) -> Diagnostic:  # noqa: ANN001 - yamlread.Document, imported lazily
    kind = "a list" if isinstance(doc.data, list) else "a single value"
    line, col = doc.position(())
    return Diagnostic(line, col, "", "yaml.root",
                      f"the top level must be a mapping (version, name, source, ...), found {kind}")


def _result(path: str, found: list[Diagnostic], doc, model: Config | None = None) -> Result:  # noqa: ANN001
    return Result(path=path, diagnostics=tuple(sorted(found, key=sort_key)), model=model, document=doc.data)
