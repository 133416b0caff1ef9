"""Where the backup bucket is: --bucket / $DEEDBOX_BUCKET, else the Pulumi stack's output.

The topology exports one stack output, ``deedbox``, a JSON object (bucket, runner role, ...).
It is read with ``pulumi stack output deedbox --json`` when the Pulumi CLI exists, or from the
JSON file named by ``$DEEDBOX_STACK_OUTPUT`` (CI can save the output once and pass it on).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from deedbox.errors import EnvironmentProblem

BUCKET_KEYS = ("bucket", "backup_bucket", "bucket_name")
ROLE_KEYS = ("runner_role_arn", "role_arn", "runner_role")
HINT = ("no backup bucket: pass --bucket, set DEEDBOX_BUCKET, or make the stack output available "
        "(pulumi CLI logged in, or DEEDBOX_STACK_OUTPUT=<file with `pulumi stack output deedbox --json`>)")


def stack_output() -> dict[str, Any] | None:
    """The ``deedbox`` stack output as a dict, or None when neither source is available."""
    path = os.environ.get("DEEDBOX_STACK_OUTPUT")
    if path:
        try:
            return _as_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as err:
            raise EnvironmentProblem(f"DEEDBOX_STACK_OUTPUT={path}: unreadable ({type(err).__name__})") from None
    if shutil.which("pulumi") is None:
        return None
    try:
        done = subprocess.run(["pulumi", "stack", "output", "deedbox", "--json"],
                              capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    try:
        return _as_dict(json.loads(done.stdout))
    except ValueError:
        return None


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and isinstance(value.get("deedbox"), dict):
        return value["deedbox"]  # a whole `pulumi stack output --json` document
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def pick(output: dict[str, Any] | None, keys: tuple[str, ...]) -> str | None:
    """First present key of ``output`` (also looking one level down, e.g. ``store.bucket``)."""
    if not output:
        return None
    for key in keys:
        if isinstance(output.get(key), str):
            return output[key]
    for value in output.values():
        if isinstance(value, dict):
            found = pick(value, keys)
            if found:
                return found
    return None


def resolve_bucket(bucket: str | None) -> str:
    """The bucket name from the flag / environment / stack output; EnvironmentProblem if none."""
    bucket = bucket or os.environ.get("DEEDBOX_BUCKET")
    if bucket:
        return bucket
    found = pick(stack_output(), BUCKET_KEYS)
    if not found:
        raise EnvironmentProblem(HINT)
    return found
