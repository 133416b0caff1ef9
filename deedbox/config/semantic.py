"""Every semantic rule, registered and run: ``rules`` (the plan's own), ``references`` (between
blocks) and ``jobrules`` (who runs the scheduled jobs, who hears the dead-man's switch)."""

from __future__ import annotations

# Registration order is report and docs order: the plan's own rules, then the references.
# isort: off
from deedbox.config import rules as _rules  # noqa: F401 - registers its rules on import
from deedbox.config import references as _references  # noqa: F401 - registers its rules on import
from deedbox.config import jobrules as _jobrules  # noqa: F401 - registers its rules on import
# isort: on
from deedbox.config.diagnostics import Diagnostic
from deedbox.config.registry import RULES, Rule
from deedbox.config.yamlread import Document


def registry() -> dict[str, Rule]:
    """Every registered rule by id, in registration order."""
    return RULES


def run(doc: Document) -> list[Diagnostic]:
    """Every semantic rule over a schema-valid document."""
    return [d for fn in registry().values() for d in fn(doc)]
