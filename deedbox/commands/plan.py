"""``deedbox plan``: the offline plan a reviewer reads, with no cloud credentials.

validate the config → record the real ``infra/`` program under the mock engine → evaluate the
policy pack → (with ``--base``) record the config as it was at a git ref and diff → render.
Exit 0 when every mandatory policy passes, 1 on a violation or an invalid config, 2 when the
ref or the repository cannot be used.
"""

from __future__ import annotations

import atexit
import gc
import subprocess
import sys
import tempfile
from pathlib import Path

from deedbox.errors import ConfigError, UsageError

INFRA = Path(__file__).resolve().parent.parent.parent / "infra"


def run(*, config: Path, base: str | None = None, format: str = "text") -> int:
    # Python's cyclic garbage collector re-walks every object Pulumi and pulumi-aws create while
    # they import, again when it is switched back on, and once more at interpreter exit: ~40% of
    # this command's time (bench/plan_bench.py). So for the run it is off; after it, what the run
    # made moves to the oldest generation without a walk (freeze + unfreeze), so its garbage is
    # still collected by a later full collection (tests run this in-process); at exit, what is
    # alive is frozen so teardown skips it (a plan leaves nothing for a finalizer to flush:
    # the interpreter flushes stdout, temporary files are closed by then). Peak RSS: +~1 MiB.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(config=Path(config), base=base, format=format)
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()
        if not _EXIT_FREEZE:
            _EXIT_FREEZE.append(atexit.register(gc.freeze))


_EXIT_FREEZE: list = []  # registered once per process


def _run(*, config: Path, base: str | None, format: str) -> int:
    try:
        model = _load(config)
    except ConfigError as err:
        _print_diagnostics(config, err)
        return 1
    from deedbox.plan import diff as diffing
    from deedbox.plan.engine import record
    from deedbox.plan.evaluate import evaluate, mandatory_failures

    head = record(INFRA, config={"deedbox:config": str(config.resolve())})
    base_graph = _record_base(config, base, record) if base else None
    changes = diffing.diff(base_graph, head) if base_graph is not None else None
    verdicts = evaluate(head)
    sys.stdout.write(_render(format, head, verdicts, changes, base_graph, model))
    return 1 if mandatory_failures(verdicts) else 0


def _load(path: Path):
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


def _record_base(config: Path, ref: str, record):
    from deedbox.plan.graph import Graph

    text = base_text(config, ref)
    if text is None:
        return Graph(())
    with tempfile.TemporaryDirectory(prefix="deedbox-base-") as tmp:
        path = Path(tmp) / config.name
        path.write_text(text)
        try:
            _load(path)
        except ConfigError as err:
            raise UsageError(f"--base {ref}: {config.name} there is invalid ({err})") from None
        return record(INFRA, config={"deedbox:config": str(path)})
