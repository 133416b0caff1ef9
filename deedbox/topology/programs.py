"""The Pulumi programs, as functions: what ``infra/`` runs and what ``deedbox plan`` records.

``program(model)`` is the whole backup stack and ``drill_program(...)`` one drill stack. The
entry points in ``infra/`` only load the config (``load_model``) and call them; ``deedbox plan``
calls ``program`` directly under the mock engine, so a wheel without ``infra/`` plans the same.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from deedbox.config import load
from deedbox.config.model import Config
from deedbox.errors import DeedboxError
from deedbox.topology.backup import declare, declare_source
from deedbox.topology.drill import declare_drill


def program(model: Config) -> None:
    """Declare the backup topology of ``model`` and export its outputs."""
    for output_name, value in declare(model).items():
        pulumi.export(output_name, value)


def source_program(model: Config) -> None:
    """Declare what must live in the platform account (``infra/source/``) and export its outputs."""
    for output_name, value in declare_source(model).items():
        pulumi.export(output_name, value)


def drill_program(model: Config, drill_id: str, expires_at: str, *, bucket: str) -> None:
    """Declare one drill stack (see ``deedbox.topology.drill``)."""
    declare_drill(model, drill_id, expires_at, bucket=bucket)


def load_model(root: Path, *, namespace: str = "deedbox", default: str | None = "backup.yaml") -> Config:
    """The config named by Pulumi config ``<namespace>:config`` (relative to ``root``).

    With ``default=None`` the key is required. The engine runs a program with its own directory as
    the working directory, so relative paths are resolved against ``root``, not the cwd. An invalid
    config is a ``pulumi.RunError``: ``pulumi preview`` shows its one message, not a traceback.
    """
    settings = pulumi.Config(namespace)
    name = (settings.get("config") or default) if default is not None else settings.require("config")
    path = Path(name)
    if not path.is_absolute():
        path = root / path
    try:
        return load(path)
    except DeedboxError as err:
        raise pulumi.RunError(str(err)) from err
