"""``deedbox init``: write a deedbox project's top level (``deedbox.scaffold``) into a repository.

Nothing is written when any of the files already exists (exit 2, naming them) unless ``--force``;
each file is written atomically (a new temp file in its own directory, then ``os.replace``), so
an interrupted init never leaves a half-written file. Prints what it wrote, then the next steps.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def run(*, directory: Path, force: bool = False, format: str = "text") -> int:
    from deedbox import __version__
    from deedbox.commands.output import emit
    from deedbox.errors import UsageError
    from deedbox.scaffold import files

    root = Path(directory)
    texts = files(__version__)
    if root.exists() and not root.is_dir():
        raise UsageError(f"--dir {root}: not a directory")
    blocked = _blocked(root, texts)
    if blocked:
        raise UsageError(f"init: cannot write into {root}: {', '.join(blocked)}; nothing written")
    existing = [rel for rel in texts if (root / rel).exists() or (root / rel).is_symlink()]
    if existing and not force:
        raise UsageError(f"init: {len(existing)} of its files exist in {root}: {', '.join(existing)}; "
                         "nothing written (--force overwrites them)")
    for rel, text in texts.items():
        try:
            _write_atomic(root / rel, text)
        except OSError as err:
            raise UsageError(f"init: cannot write {root / rel} ({err.strerror})") from None
    steps = next_steps(root)
    doc = {"dir": str(root), "version": __version__, "written": list(texts),
           "overwritten": existing, "next_steps": steps}
    lines = [f"wrote {root / rel}" + (" (overwritten)" if rel in existing else "") for rel in texts]
    lines += ["", f"A deedbox {__version__} project. Next:"]
    lines += [f"  {n}. {step}" for n, step in enumerate(steps, 1)]
    emit(format, doc, lines)
    return 0


def next_steps(root: Path) -> list[str]:
    """What a newcomer does after ``init``, in order (commands relative to the new repository)."""
    steps = [] if root == Path(".") else [f"cd {root}"]
    return steps + [
        "edit backup.yaml: it is a worked example (\"guild\"); put your accounts, Convex URL, media bucket, "
        "runner repository, drill checks and notifications in place of its values",
        "python -m venv .venv && .venv/bin/pip install -r infra/requirements.txt   "
        "(the virtualenv Pulumi.yaml, infra/drill, infra/source and policies/ run in)",
        "deedbox validate && deedbox plan   (the offline plan with every policy verdict: no cloud, no Pulumi CLI)",
        "pre-commit install   (validates backup.yaml on every commit: .pre-commit-config.yaml)",
        "keep .venv/, .env and .pulumi/ out of git (.gitignore)",
        "deploy (deploy.yml on merge, or `pulumi up --policy-pack policies/`); the platform owner applies "
        "infra/source with the platform's credentials; then `deedbox workflows` writes the scheduled jobs",
    ]


def _blocked(root: Path, texts: dict[str, str]) -> list[str]:
    """Targets that cannot be written even with --force: a directory there, or a file in the way."""
    out = []
    for rel in texts:
        target = root / rel
        if target.is_dir():
            out.append(f"{rel} is a directory")
            continue
        parent = target.parent
        while parent != root and parent != parent.parent:
            if parent.exists() and not parent.is_dir():
                out.append(f"{parent.relative_to(root)} is not a directory")
                break
            parent = parent.parent
    return list(dict.fromkeys(out))


def _write_atomic(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a new file beside it (mode from the umask), then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
