"""Parse ``.env`` files the way dotenv tools do, without ever putting a value in an error.

Supported: blank lines and ``#`` comments; an optional ``export`` prefix; ``KEY=value`` with
``=`` allowed inside the value; unquoted values trimmed, with `` #…`` comments cut; single
quotes literal; double quotes with escapes (``\\n \\t \\r \\" \\\\ \\$``); quoted values may
span lines (PEM keys). A later assignment of the same key wins, as in a shell.
"""

from __future__ import annotations

import re
from pathlib import Path

from deedbox.errors import UsageError

_KEY = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=(.*)$", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$", "'": "'"}


def parse_env_file(path: Path) -> dict[str, str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--env-file {path}: cannot read ({type(err).__name__})") from None
    return parse_env(text, source=str(path))


def parse_env(text: str, *, source: str = ".env") -> dict[str, str]:
    """Pure: ``.env`` text → {KEY: value}. UsageError names the line, never the value."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start, line = i + 1, lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        match = _KEY.match(line)
        if not match:
            raise UsageError(f"{source}:{start}: expected KEY=value")
        key, raw = match.group(1), match.group(2).lstrip()
        if raw[:1] in ("'", '"'):
            raw, i = _gather_quoted(raw, lines, i, source, start)
            values[key] = _unquote(raw, source, start)
        else:
            values[key] = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
    return values


def _gather_quoted(raw: str, lines: list[str], i: int, source: str, start: int) -> tuple[str, int]:
    """Extend ``raw`` with following lines until its closing quote."""
    while _closing(raw) is None:
        if i >= len(lines):
            raise UsageError(f"{source}:{start}: unterminated quoted value")
        raw, i = raw + "\n" + lines[i], i + 1
    return raw, i


def _closing(raw: str) -> int | None:
    quote, j = raw[0], 1
    while j < len(raw):
        if quote == '"' and raw[j] == "\\":
            j += 2
            continue
        if raw[j] == quote:
            return j
        j += 1
    return None


def _unquote(raw: str, source: str, start: int) -> str:
    end = _closing(raw)
    if end is None:  # _gather_quoted only hands over values with a closing quote
        raise UsageError(f"{source}:{start}: unterminated quoted value")
    rest = raw[end + 1:].strip()
    if rest and not rest.startswith("#"):
        raise UsageError(f"{source}:{start}: unexpected text after the closing quote")
    body = raw[1:end]
    if raw[0] == "'":
        return body
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body, flags=re.S)
