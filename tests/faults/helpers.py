"""Helpers of the fault suite: the CLI in-process, the contract's checks, what the bucket holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from deedbox.cli import app


# ---- the CLI ----------------------------------------------------------------------------------
def cli(*args: str | Path):
    """``deedbox <args>`` in-process; ``res.stdout`` / ``res.stderr`` kept apart."""
    return CliRunner().invoke(app, [str(a) for a in args])


def json_out(res) -> dict:
    return json.loads(res.stdout)


def assert_clean_failure(res, code: int, match: str | None = None) -> str:
    """Exit ``code``, exactly one line on stderr (a deedbox error, not a crash), no traceback."""
    lines = res.stderr.splitlines()
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("deedbox: error: "), lines[0]
    assert "Traceback" not in res.output and "unexpected error" not in res.stderr
    if match:
        assert re.search(match, lines[0]), lines[0]
    return lines[0]


def open_uploads(s3, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def keys(s3, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def manifests(s3, bucket: str) -> list[str]:
    return [k for k in keys(s3, bucket, "backend/") if k.endswith("/manifest.json")]


def config_file(tmp_path: Path, reference: Path, **replace: str) -> Path:
    """backup.yaml with textual replacements (a test server's URL, media mode sync...)."""
    text = reference.read_text()
    for old, new in replace.items():
        old = {"convex_url": "https://happy-otter-123.convex.cloud",
               "media_mode": "    mode: replicate\n"}.get(old, old)
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "backup.yaml"
    path.write_text(text)
    return path
