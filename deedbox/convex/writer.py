"""Write snapshot ZIPs in Convex's export format (used by one-record restore and tests).

The layout mirrors a real export: ``README.md`` first, then per component its
``_tables/documents.jsonl`` (``{"name", "id"}`` per table, so import keeps table numbers and
therefore ``_id``s valid), ``<table>/documents.jsonl`` (the raw lines, untouched: they already
carry the snapshot's encoding) and ``<table>/generated_schema.jsonl``, all Deflate-compressed.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from deedbox.convex.zipio import prefix_of

README = (
    "# Welcome to your Convex snapshot export!\n\n"
    "This ZIP file contains a snapshot of the tables in your Convex deployment.\n\n"
    "Documents for each table are listed as lines of JSON in\n"
    "<table_name>/documents.jsonl files.\n\n"
    "For details on the format and how to use this snapshot with npx convex import,\n"
    "check out [the docs](https://docs.convex.dev/database/import-export/export) or\n"
    "ask us in [Discord](http://convex.dev/community).\n"
)


@dataclass(frozen=True)
class TableData:
    component: str  # "" = root
    name: str
    number: int
    lines: list[bytes] = field(default_factory=list)
    generated_schema: list[str] | None = None  # None: the uniform marker line


def _jsonl(rows: Iterable[bytes]) -> bytes:
    return b"".join(row.rstrip(b"\n") + b"\n" for row in rows)


def write_snapshot(dest: str | Path | IO[bytes], tables: list[TableData], *,
                   readme: bool = True) -> None:
    """Write ``tables`` as one snapshot ZIP to a path or a writable binary file object."""
    target = str(dest) if isinstance(dest, Path) else dest
    by_component: dict[str, list[TableData]] = {}
    for table in tables:
        by_component.setdefault(table.component, []).append(table)
    by_component.setdefault("", [])
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        if readme:
            zf.writestr("README.md", README)
        for component in sorted(by_component):
            _write_component(zf, prefix_of(component), by_component[component])


def _write_component(zf: zipfile.ZipFile, prefix: str, tables: list[TableData]) -> None:
    index = [json.dumps({"name": t.name, "id": t.number}).encode() for t in tables]
    zf.writestr(f"{prefix}_tables/documents.jsonl", _jsonl(index))
    for t in tables:
        zf.writestr(f"{prefix}{t.name}/documents.jsonl", _jsonl(t.lines))
        schema = t.generated_schema if t.generated_schema is not None else ['"uniform"']
        zf.writestr(f"{prefix}{t.name}/generated_schema.jsonl",
                    _jsonl(s.encode("utf-8") for s in schema))
