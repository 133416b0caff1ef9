"""Where drill stacks live: a small ``StackBackend`` interface and its Automation API implementation.

The orchestrator only needs five things from Pulumi (up, outputs, destroy, remove, list), so it
depends on this protocol, not on ``pulumi.automation``: tests drive the real implementation
with a fake ``pulumi`` executable, and the orchestration logic stays readable.

``AutomationBackend`` runs the project's drill program as a *local* program (the CLI starts it
with the project's virtualenv): ``infra/drill/`` beside the project's backup.yaml, which
``deedbox init`` writes (``program_dir``: an installed package has no program of its own). It
uses the local file state backend by default (``PULUMI_BACKEND_URL=file://<dir>``;
``PULUMI_CONFIG_PASSPHRASE`` encrypts the deploy key in that state). ``DEEDBOX_PULUMI_ROOT``
selects another CLI installation (``<root>/bin/pulumi``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from deedbox.errors import EnvironmentProblem

DRILL_PROJECT = "deedbox-drill"
DEFAULT_STATE_DIR = Path.home() / ".deedbox" / "pulumi-state"


def program_dir(config_path: str | Path | None = None) -> Path:
    """The drill program of the project whose config is ``config_path`` (default ``./backup.yaml``):
    ``infra/drill`` in the config's directory, the project root. EnvironmentProblem when it is missing."""
    config = Path(config_path if config_path is not None else "backup.yaml")
    where = config.resolve().parent / "infra" / "drill"
    if not (where / "Pulumi.yaml").is_file():
        raise EnvironmentProblem(f"no drill program at {where}: the project of {config.name} needs infra/drill/ "
                                 "(Pulumi.yaml, __main__.py) beside it, which `deedbox init` writes")
    return where


@dataclass(frozen=True)
class StackInfo:
    """One stack in the backend, with the tags/config ``reap`` reads the expiry from."""

    name: str
    tags: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, str] = field(default_factory=dict)
    resource_count: int | None = None


class StackBackend(Protocol):
    """What the drill needs from a Pulumi backend; each call raises ``DeedboxError`` on failure."""

    def up(self, stack: str, *, config: Mapping[str, str], tags: Mapping[str, str]) -> dict[str, Any]:
        """Create (or select) ``stack``, set config and tags, deploy; return its outputs."""

    def outputs(self, stack: str) -> dict[str, Any]: ...

    def destroy(self, stack: str) -> None: ...

    def remove(self, stack: str) -> None: ...

    def list(self) -> list[StackInfo]: ...


def _short(err: Exception) -> str:
    """The last meaningful line of a CLI failure (never the whole output, which is long)."""
    text = str(err)
    text = text.rsplit("stderr:", 1)[-1] if "stderr:" in text else text
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else type(err).__name__


class AutomationBackend:
    """``StackBackend`` over ``pulumi.automation.LocalWorkspace`` (the real CLI, or a fake one)."""

    def __init__(self, *, work_dir: Path | None = None, config_path: str | Path | None = None,
                 backend_url: str | None = None, pulumi_root: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        """``work_dir``: the drill program; default ``program_dir(config_path)``."""
        env = dict(os.environ if env is None else env)
        url = backend_url or env.get("PULUMI_BACKEND_URL") or f"file://{DEFAULT_STATE_DIR}"
        if url.startswith("file://"):
            Path(url[len("file://"):]).expanduser().mkdir(parents=True, exist_ok=True)
        if "PULUMI_CONFIG_PASSPHRASE" not in env and "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
            raise EnvironmentProblem("set PULUMI_CONFIG_PASSPHRASE (or _FILE): it encrypts the drill "
                                     "deployment's key in the local Pulumi state")
        self.work_dir = Path(work_dir) if work_dir is not None else program_dir(config_path)
        self.env_vars = {"PULUMI_BACKEND_URL": url}
        self.pulumi_root = pulumi_root or env.get("DEEDBOX_PULUMI_ROOT")
        self._workspace: Any = None

    def workspace(self) -> Any:
        if self._workspace is None:
            from pulumi import automation as auto

            try:
                command = auto.PulumiCommand(root=self.pulumi_root)
            except FileNotFoundError:
                raise EnvironmentProblem("the pulumi CLI is not installed (or set DEEDBOX_PULUMI_ROOT)") from None
            self._workspace = auto.LocalWorkspace(work_dir=str(self.work_dir), env_vars=self.env_vars,
                                                  pulumi_command=command)
        return self._workspace

    def _stack(self, name: str, *, create: bool) -> Any:
        from pulumi import automation as auto

        ws = self.workspace()
        return auto.Stack.create_or_select(name, ws) if create else auto.Stack.select(name, ws)

    def _guard(self, what: str, fn: Any) -> Any:
        from pulumi.automation import errors

        try:
            return fn()
        except errors.CommandError as err:
            raise EnvironmentProblem(f"pulumi {what} failed: {_short(err)}") from None

    def up(self, stack: str, *, config: Mapping[str, str], tags: Mapping[str, str]) -> dict[str, Any]:
        from pulumi import automation as auto

        def run() -> dict[str, Any]:
            st = self._stack(stack, create=True)
            st.set_all_config({k: auto.ConfigValue(v) for k, v in config.items()})
            for key, value in tags.items():
                st.set_tag(key, value)
            result = st.up()
            return {k: v.value for k, v in result.outputs.items()}

        return self._guard("up", run)

    def outputs(self, stack: str) -> dict[str, Any]:
        return self._guard("stack output", lambda: {
            k: v.value for k, v in self._stack(stack, create=False).outputs().items()})

    def destroy(self, stack: str) -> None:
        self._guard("destroy", lambda: self._stack(stack, create=False).destroy())

    def remove(self, stack: str) -> None:
        self._guard("stack rm", lambda: self.workspace().remove_stack(stack))

    def list(self) -> list[StackInfo]:
        def run() -> list[StackInfo]:
            ws = self.workspace()
            out = []
            for summary in ws.list_stacks():
                tags = _safe(lambda name=summary.name: ws.list_tags(name)) or {}
                config = _safe(lambda name=summary.name: {k: v.value for k, v in ws.get_all_config(name).items()
                                        if not v.secret}) or {}
                out.append(StackInfo(summary.name, tags, config, summary.resource_count))
            return out

        return self._guard("stack ls", run)


def _safe(fn: Any) -> Any:
    """Tags are optional for a backend (older DIY backends have none): fall back to config."""
    from pulumi.automation import errors

    try:
        return fn()
    except errors.CommandError:
        return None
