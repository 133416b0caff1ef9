"""pre-commit entry point: validate every backup.yaml pre-commit passes, report each, worst exit wins.

``deedbox validate`` takes exactly one ``--config``; pre-commit appends all matching file names,
so the hook (``.pre-commit-hooks.yaml``: ``entry: python -m deedbox.commands.hook``) loops here
instead. Exit 0 all valid, 1 any invalid, 2 any unreadable (its one line goes to stderr).
"""

from __future__ import annotations

import sys
from pathlib import Path

from deedbox.commands.validate import report_text
from deedbox.config import check
from deedbox.errors import DeedboxError


def main(argv: list[str] | None = None) -> int:
    files = sys.argv[1:] if argv is None else argv
    if not files:
        files = ["backup.yaml"]
    worst = 0
    for name in files:
        try:
            result = check(Path(name))
        except DeedboxError as err:
            print(f"deedbox: error: {err}", file=sys.stderr)
            worst = max(worst, err.exit_code)
            continue
        if result.diagnostics or not result.valid:
            report_text(result, sys.stdout)
        worst = max(worst, 0 if result.valid else 1)
    return worst


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
