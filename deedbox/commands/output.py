"""Small helpers shared by the ops commands: loading config, printing, a TTY-only progress bar.

Commands print one JSON document on stdout with ``--format json`` and plain lines otherwise;
progress goes to stderr and only when stderr is a terminal, so logs of scheduled jobs stay clean.
Inside ``capture()`` every ``emit`` also keeps its document, whatever the format, so the CLI can
hand a command's result to ``--notify`` without parsing what was printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def load_config(path: Path | str) -> Any:
    """``deedbox.config.load``: a missing file or a directory is one UsageError line from the loader."""
    from deedbox.config import load

    return load(path)


@dataclass
class Captured:
    """The documents ``emit`` printed inside one ``capture()``; ``document`` is the last (or None)."""

    documents: list[dict]

    @property
    def document(self) -> dict | None:
        return self.documents[-1] if self.documents else None


_CAPTURE: ContextVar[Captured | None] = ContextVar("deedbox_capture", default=None)


@contextmanager
def capture() -> Iterator[Captured]:
    """Keep what ``emit`` prints while the block runs (nested captures each see their own)."""
    captured = Captured([])
    token = _CAPTURE.set(captured)
    try:
        yield captured
    finally:
        _CAPTURE.reset(token)


def emit(fmt: str, document: dict, lines: list[str]) -> None:
    """Print ``document`` as JSON or ``lines`` as text on stdout."""
    captured = _CAPTURE.get()
    if captured is not None:
        captured.documents.append(document)
    if fmt == "json":
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    else:
        for line in lines:
            sys.stdout.write(line + "\n")
    sys.stdout.flush()


@contextmanager
def progress_bar(enabled: bool | None = None) -> Iterator[Callable[[str, int, int | None], None] | None]:
    """Yield ``progress(phase, advance, total)`` backed by a rich bar, or None when not on a TTY."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), console=Console(stderr=True), transient=True)
    tasks: dict[str, Any] = {}

    def advance(phase: str, n: int, total: int | None) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], advance=n)

    with bar:
        yield advance


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, ``kill``) behaves like Ctrl-C while the block runs, so the
    write in progress is cleaned up (its multipart upload aborted) and the exit is 130."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
