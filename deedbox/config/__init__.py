"""The backup.yaml contract: load with positions, validate, build the typed model.

``load(path) -> Config`` is the one entry point; it raises ``ConfigError`` whose
``diagnostics`` carry every problem with its line and column.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from deedbox.config.model import Config, from_dict

__all__ = ["Config", "load"]


def load(path: str | Path) -> Config:
    """Load, validate and build the model of a backup.yaml (provisional: no validation yet)."""
    path = Path(path)
    with path.open("rb") as fh:
        doc = yaml.safe_load(fh)
    return from_dict(doc, path=str(path))
