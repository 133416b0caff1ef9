"""Helpers over a recorded graph (list of dicts from ``recorder``): run in a fresh process, index."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable  # the environment running the tests (deedbox installed in it)


def record_program(program_dir: Path, config: dict[str, str], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run ``program_dir`` under the acceptance recorder in a fresh interpreter (Pulumi globals)."""
    args = [PYTHON, "-m", "tests.acceptance.recorder", str(program_dir)] + [f"{k}={v}" for k, v in config.items()]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def maybe_json(value: Any) -> Any:
    """Provider inputs arrive JSON-encoded as strings; policies are JSON strings."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def of_type(graph: list[dict], *types: str) -> list[dict]:
    return [r for r in graph if r["type"] in types]


def statements(policy: Any) -> list[dict]:
    doc = maybe_json(policy)
    st = doc.get("Statement", [])
    return st if isinstance(st, list) else [st]


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def action_allows(patterns: list[str], action: str) -> bool:
    """Does any IAM action pattern (wildcards allowed, case-insensitive) cover ``action``?"""
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)
