"""Low-level snapshot ZIP access: open, index entries by component, stream lines, map errors.

Every failure of the ZIP layer (bad central directory, CRC mismatch at end of entry, corrupt
Deflate data, truncation) becomes one ``SnapshotError`` line naming the entry.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from deedbox.errors import SnapshotError

CHUNK = 1 << 20
TABLES = "_tables/documents.jsonl"
STORAGE = "_storage/documents.jsonl"


@dataclass
class Component:
    """The entries of one component (``""`` is the root app)."""

    path: str
    tables_entry: str | None = None
    documents: dict[str, str] = field(default_factory=dict)  # table -> entry name
    schemas: dict[str, str] = field(default_factory=dict)  # table -> entry name
    storage_entry: str | None = None
    blobs: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # storage id -> info
    other: list[str] = field(default_factory=list)


def split_entry(name: str) -> tuple[str, str]:
    """``_components/a/_components/b/t/documents.jsonl`` -> ``("a/b", "t/documents.jsonl")``."""
    parts = name.split("/")
    comps: list[str] = []
    while len(parts) >= 3 and parts[0] == "_components":
        comps.append(parts[1])
        parts = parts[2:]
    return "/".join(comps), "/".join(parts)


def prefix_of(component: str) -> str:
    """The entry-name prefix of a component path."""
    return "".join(f"_components/{c}/" for c in component.split("/") if c)


@contextlib.contextmanager
def open_zip(source: str | os.PathLike[str] | IO[bytes]) -> Iterator[zipfile.ZipFile]:
    """Open a snapshot; a file that is not a readable ZIP is a SnapshotError."""
    try:
        zf = zipfile.ZipFile(source if not isinstance(source, Path) else str(source))
    except (zipfile.BadZipFile, EOFError, ValueError) as err:
        raise SnapshotError(f"snapshot is not a readable ZIP (truncated or corrupt): {err}") from None
    except OSError as err:
        raise SnapshotError(f"cannot read snapshot: {err.strerror or err}: {source}") from None
    with zf:
        yield zf


def index(zf: zipfile.ZipFile) -> dict[str, Component]:
    """Group the entries by component and kind, without reading any data."""
    comps: dict[str, Component] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        path, rest = split_entry(info.filename)
        comp = comps.setdefault(path, Component(path))
        head, _, tail = rest.partition("/")
        if rest == TABLES:
            comp.tables_entry = info.filename
        elif rest == STORAGE:
            comp.storage_entry = info.filename
        elif head == "_storage" and tail:
            comp.blobs[tail.split(".", 1)[0]] = info
        elif tail == "documents.jsonl" and not head.startswith("_"):
            comp.documents[head] = info.filename
        elif tail == "generated_schema.jsonl" and not head.startswith("_"):
            comp.schemas[head] = info.filename
        else:
            comp.other.append(info.filename)
    return comps


class Reader:
    """Reads entries fully (so CRCs are checked) and reports uncompressed bytes to ``progress``."""

    def __init__(self, zf: zipfile.ZipFile, progress: Callable[[int], None] | None = None) -> None:
        self.zf = zf
        self.progress = progress
        self.done = 0

    def _tick(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done)

    def chunks(self, name: str) -> Iterator[bytes]:
        try:
            with self.zf.open(name) as fp:
                while chunk := fp.read(CHUNK):
                    self._tick(len(chunk))
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise SnapshotError(f"snapshot entry {name} is corrupt: {err}") from None

    def lines(self, name: str) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line number from 1, line without newline)``; a final newline is optional.

        A blank line is a SnapshotError: Convex's import refuses it ("Row n wasn't valid JSON",
        convex-backend crates/application/src/snapshot_import/parse.rs), so a snapshot holding one
        would verify and then fail to restore.
        """
        rest = b""
        number = 0
        for chunk in self.chunks(name):
            parts = (rest + chunk).split(b"\n")
            rest = parts.pop()
            for line in parts:
                number += 1
                yield number, _not_blank(line, name, number)
        if rest:
            yield number + 1, _not_blank(rest, name, number + 1)

    def json_lines(self, name: str) -> Iterator[tuple[int, bytes, object]]:
        for number, line in self.lines(name):
            yield number, line, parse_json(line, name, number)

    def drain(self, name: str) -> int:
        """Read an entry to the end (checking its CRC); return its size."""
        return sum(len(c) for c in self.chunks(name))


def _not_blank(line: bytes, name: str, number: int) -> bytes:
    if not line.strip():
        raise SnapshotError(f"{name} line {number} is blank: Convex's import refuses it (JsonInvalidRow)")
    return line


def _reject_constant(token: str) -> object:
    raise ValueError(f"{token} is not JSON")


_decode = json.JSONDecoder(parse_constant=_reject_constant).decode


def parse_json(line: bytes, name: str, number: int) -> object:
    """Strict JSON (bare NaN/Infinity are rejected: Convex never writes them)."""
    try:
        return _decode(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise SnapshotError(f"invalid UTF-8 in {name} line {number}") from None
    except ValueError as err:
        raise SnapshotError(f"invalid JSON in {name} line {number}: "
                            f"{getattr(err, 'msg', err)}") from None
