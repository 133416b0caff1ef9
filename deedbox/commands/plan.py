"""``deedbox plan``: the offline plan a reviewer reads, with no cloud credentials.

validate the config → record ``deedbox.topology.program(model)`` (what ``infra/`` runs) under the mock engine → evaluate the
policy pack → (with ``--base``) record the config as it was at a git ref and diff → render.
Exit 0 when every mandatory policy passes, 1 on a violation or an invalid config, 2 when the
ref or the repository cannot be used.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from deedbox.config.model import Config
from deedbox.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from deedbox.plan.graph import Graph


def run(*, config: Path, base: str | None = None, format: str = "text") -> int:
    config = Path(config)
    try:
        model = _load(config)
    except ConfigError as err:
        _print_diagnostics(config, err)
        return 1
    from deedbox.plan import diff as diffing
    from deedbox.plan.evaluate import evaluate, mandatory_failures

    head = record_topology(model)
    base_graph = _record_base(config, base) if base else None
    changes = diffing.diff(base_graph, head) if base_graph is not None else None
    verdicts = evaluate(head)
    sys.stdout.write(_render(format, head, verdicts, changes, base_graph, model))
    return 1 if mandatory_failures(verdicts) else 0


def _load(path: Path) -> Config:
    from deedbox.config import load

    return load(path)  # missing file, directory, binary: one UsageError line from the loader


def _print_diagnostics(path: Path, err: ConfigError) -> None:
    for d in err.diagnostics or ():
        print(f"{path}:{d.line}:{d.column}: [{d.rule}] {d.message}", file=sys.stderr)
    if not err.diagnostics:
        print(f"deedbox: error: {err}", file=sys.stderr)


def _render(format: str, head, verdicts, changes, base_graph, model) -> str:
    if format == "json":
        from deedbox.plan.render import as_json

        return as_json(head, verdicts, changes)
    if format == "markdown":
        from deedbox.plan.markdown import markdown

        source = f"Convex {model.source.convex.deployment}"
        if model.source.media and model.source.media.bucket:
            source += f" + {model.source.media.bucket}"
        return markdown(head, verdicts, changes, base=base_graph, source=source)
    from deedbox.plan.render import text

    return text(head, verdicts, changes)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as err:
        raise UsageError(f"--base needs git: {err.strerror}") from None


def base_text(config: Path, ref: str) -> str | None:
    """The config's content at ``ref``; None when the file did not exist there yet."""
    where = config.resolve().parent
    top = _git(where, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"--base {ref}: {where} is not inside a git repository")
    if _git(where, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise UsageError(f"--base {ref}: no such git ref (fetch it first, e.g. git fetch origin)")
    relative = config.resolve().relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    shown = _git(where, "show", f"{ref}:{relative}")
    return shown.stdout if shown.returncode == 0 else None


def record_topology(model: Config) -> Graph:
    """Both programs under the mock engine: the backup stack and what the platform account applies."""
    from deedbox.plan.engine import merge, record
    from deedbox.topology import program, source_program

    return merge(record(lambda: program(model)),
                 record(lambda: source_program(model), project="deedbox-source"))


def _record_base(config: Path, ref: str) -> Graph:
    from deedbox.plan.graph import Graph

    text = base_text(config, ref)
    if text is None:
        return Graph(())
    with tempfile.TemporaryDirectory(prefix="deedbox-base-") as tmp:
        path = Path(tmp) / config.name
        path.write_text(text)
        try:
            model = _load(path)
        except ConfigError as err:
            raise UsageError(f"--base {ref}: {config.name} there is invalid ({err})") from None
    return record_topology(model)
