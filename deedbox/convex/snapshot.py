"""Streaming reader of Convex snapshot ZIPs: the manifest's content section, and one-record lookup.

``summarize`` makes one pass over every entry (so every CRC is checked), with bounded memory:
documents are streamed line by line, never a whole table. For each user table it records the
document count and an order- and encoding-independent digest (see ``deedbox.convex.canonical``);
for file storage the number of files and their bytes, after checking each blob's size and sha256
against ``_storage/documents.jsonl``. Components are the non-root component paths (``"a"``,
``"a/b"``). ``find_document`` streams only the one table it needs and stops at the match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deedbox.convex import zipio
from deedbox.convex.canonical import Digest, LegacyTyper, canonical_legacy, canonical_uniform
from deedbox.convex.ids import decode_id
from deedbox.convex.shapes import ShapeSyntaxError, parse_context, parse_shape
from deedbox.errors import SnapshotError, UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableSummary:
    component: str  # "" = root app, "a/b" = nested component
    name: str
    number: int
    count: int
    digest: str  # hex, see deedbox.convex.canonical


@dataclass(frozen=True)
class SnapshotSummary:
    encoding: str  # "uniform" | "legacy" | "mixed"
    tables: tuple[TableSummary, ...]
    components: tuple[str, ...]
    storage_count: int
    storage_bytes: int

    def to_dict(self) -> dict:
        """The manifest's content section (plain JSON types)."""
        return {
            "encoding": self.encoding,
            "tables": [vars(t).copy() for t in self.tables],
            "components": list(self.components),
            "storage": {"count": self.storage_count, "bytes": self.storage_bytes},
        }

    @classmethod
    def from_dict(cls, d: dict) -> SnapshotSummary:
        return cls(
            encoding=d["encoding"],
            tables=tuple(TableSummary(**t) for t in d["tables"]),
            components=tuple(d["components"]),
            storage_count=d["storage"]["count"],
            storage_bytes=d["storage"]["bytes"],
        )


@dataclass(frozen=True)
class FoundDocument:
    line: bytes  # the raw JSONL line, in the snapshot's encoding
    document: dict
    table_number: int
    encoding: str
    generated_schema: list[str]


@dataclass
class _Schema:
    encoding: str
    lines: list[str]
    typer: LegacyTyper | None = None


def _read_tables(reader: zipio.Reader, comp: zipio.Component) -> dict[str, int]:
    if comp.tables_entry is None:
        where = f" of component {comp.path}" if comp.path else ""
        raise SnapshotError(f"snapshot has no {zipio.prefix_of(comp.path)}{zipio.TABLES}{where}")
    tables: dict[str, int] = {}
    for number, _, row in reader.json_lines(comp.tables_entry):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) \
                or not isinstance(row.get("id"), int):
            raise SnapshotError(f"{comp.tables_entry} line {number}: expected {{name, id}}")
        tables[row["name"]] = row["id"]
    return tables


def _read_schema(reader: zipio.Reader, entry: str | None, table: str) -> _Schema:
    """The table's encoding and, for legacy, the typer built from its schema lines.

    As ``parse_generated_schema`` (crates/application/src/snapshot_import/parse.rs): line 1 is a
    JSON string, ``"uniform"`` or a shape (``Shape::from_str``); each further line is an object
    with exactly one key, a document id (``DeveloperDocumentId::decode``), whose value is an
    export context (``ExportContext::try_from``); a later line for the same id wins. Without the
    file the import types values with the ``unknown`` shape (``GeneratedSchema::apply``, None).
    Where the real import would refuse the file, deedbox warns and carries on: an unreadable
    shape types the table as with no schema (counted as untyped), a bad override line is skipped.
    """
    if entry is None:
        return _Schema("legacy", [], LegacyTyper(None))
    numbered = [(n, line.decode("utf-8")) for n, line in reader.lines(entry)]
    lines = [text for _, text in numbered]
    first = _json_or_text(lines[0]) if lines else None
    if first == "uniform":
        return _Schema("uniform", lines)
    shape = None
    if isinstance(first, str):
        try:
            shape = parse_shape(first)
        except ShapeSyntaxError as err:
            log.warning("table %s: generated_schema shape not understood (%s); values read as with "
                        "no schema", table, err)
    else:
        log.warning("table %s: generated_schema line 1 is not a JSON string; values read as with "
                    "no schema", table)
    overrides: dict[str, Any] = {}
    for number, text in numbered[1:]:
        row = _json_or_text(text)
        try:
            if not isinstance(row, dict) or len(row) != 1:
                raise ValueError("override line should be an object with one item")
            ((doc_id, context),) = row.items()
            decode_id(doc_id)
            overrides[doc_id] = parse_context(context)
        except ValueError as err:
            log.warning("table %s: generated_schema line %d ignored: %s", table, number, err)
    return _Schema("legacy", lines, LegacyTyper(shape, overrides, fallback=shape is None))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _digest_table(reader: zipio.Reader, entry: str, table: str, number: int,
                  schema: _Schema) -> Digest:
    digest = Digest()
    for line_no, line, doc in reader.json_lines(entry):
        if not isinstance(doc, dict):
            raise SnapshotError(f"{entry} line {line_no}: a document must be a JSON object")
        _check_id(doc.get("_id"), table, number, entry, line_no)
        try:
            if schema.typer is None:
                digest.add(canonical_uniform(line, doc))
            else:
                digest.add(canonical_legacy(doc, schema.typer))
        except (ValueError, TypeError, struct.error, binascii.Error) as err:
            raise SnapshotError(f"{entry} line {line_no}: value not valid in Convex: {err}") from None
    if schema.typer is not None and schema.typer.untyped:
        log.warning("table %s: %d values of undetermined type digested as raw JSON",
                    table, schema.typer.untyped)
    return digest


def _table_of(doc_id: object) -> int:
    """The table number of an id, decoded and checked (alphabet, length, footer) in full."""
    if not isinstance(doc_id, str):
        raise ValueError("an _id is a string")
    return decode_id(doc_id)[0]


def _check_id(doc_id: object, table: str, number: int, entry: str, line_no: int) -> None:
    try:
        found = _table_of(doc_id)
    except ValueError:
        raise SnapshotError(f"{entry} line {line_no}: invalid _id {doc_id!r}") from None
    if found != number:
        raise SnapshotError(
            f"table {table} (number {number}) holds _id {doc_id} of table number {found}")


def _storage(reader: zipio.Reader, comp: zipio.Component) -> tuple[int, int]:
    """Check every storage blob against its document; return (files, bytes)."""
    if comp.storage_entry is None:
        if comp.blobs:
            raise SnapshotError(f"{zipio.prefix_of(comp.path)}_storage has files but no documents.jsonl")
        return 0, 0
    count = total = 0
    seen: set[str] = set()
    for line_no, _, doc in reader.json_lines(comp.storage_entry):
        if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
            raise SnapshotError(f"{comp.storage_entry} line {line_no}: expected a file document")
        sid = doc["_id"]
        info = comp.blobs.get(sid)
        if info is None:
            raise SnapshotError(f"storage file {sid} is listed but missing from the snapshot")
        _check_blob(reader, info, doc)
        seen.add(sid)
        count += 1
        total += info.file_size
    orphans = sorted(set(comp.blobs) - seen)
    if orphans:
        raise SnapshotError(f"storage file {orphans[0]} has no entry in {comp.storage_entry}")
    return count, total


def _check_blob(reader: zipio.Reader, info: Any, doc: dict) -> None:
    sha = hashlib.sha256()
    size = 0
    for chunk in reader.chunks(info.filename):
        sha.update(chunk)
        size += len(chunk)
    if doc.get("size") is not None and int(doc["size"]) != size:
        raise SnapshotError(f"storage file {info.filename} is {size} bytes, documents say {doc['size']}")
    want = doc.get("sha256")
    if isinstance(want, str) and base64.b64decode(want) != sha.digest():
        raise SnapshotError(f"storage file {info.filename} does not match its sha256")


def summarize(source: Any, *, progress: Callable[[int], None] | None = None) -> SnapshotSummary:
    """Read a whole snapshot once and return its content summary; SnapshotError if it is bad."""
    with zipio.open_zip(source) as zf:
        comps = zipio.index(zf)
        comps.setdefault("", zipio.Component(""))
        reader = zipio.Reader(zf, progress)
        tables: list[TableSummary] = []
        encodings: set[str] = set()
        files = size = 0
        for path in sorted(comps):
            comp = comps[path]
            for name in comp.other:
                reader.drain(name)
            tables += _summarize_component(reader, comp, encodings)
            f, b = _storage(reader, comp)
            files, size = files + f, size + b
    encoding = encodings.pop() if len(encodings) == 1 else ("mixed" if encodings else "uniform")
    components = tuple(p for p in sorted(comps) if p)
    return SnapshotSummary(encoding, tuple(tables), components, files, size)


def _summarize_component(reader: zipio.Reader, comp: zipio.Component,
                         encodings: set[str]) -> list[TableSummary]:
    numbers = _read_tables(reader, comp)
    stray = sorted(set(comp.documents) - set(numbers))
    if stray:
        raise SnapshotError(f"table {stray[0]} has documents but no entry in {comp.tables_entry}")
    out = []
    for name in sorted(numbers):
        entry = comp.documents.get(name)
        if entry is None:
            raise SnapshotError(f"table {name} is listed in {comp.tables_entry} but has no documents.jsonl")
        schema = _read_schema(reader, comp.schemas.get(name), name)
        encodings.add(schema.encoding)
        digest = _digest_table(reader, entry, name, numbers[name], schema)
        out.append(TableSummary(comp.path, name, numbers[name], digest.count, digest.hexdigest()))
    return out


def find_document(source: Any, *, table: str, doc_id: str,
                  component: str = "") -> FoundDocument | None:
    """Stream one table until the document with ``doc_id`` appears; None if it is not there."""
    try:
        wanted_number = decode_id(doc_id)[0]
    except ValueError as err:
        raise UsageError(str(err)) from None
    with zipio.open_zip(source) as zf:
        comp = zipio.index(zf).get(component)
        if comp is None:
            return None
        reader = zipio.Reader(zf)
        number = _read_tables(reader, comp).get(table)
        if number is None or table not in comp.documents:
            return None
        if number != wanted_number:
            raise UsageError(f"id {doc_id} belongs to table number {wanted_number}, "
                             f"but table {table} has number {number}")
        schema = _read_schema(reader, comp.schemas.get(table), table)
        needle = doc_id.encode("ascii")
        for line_no, line in reader.lines(comp.documents[table]):
            if needle in line:
                doc = zipio.parse_json(line, comp.documents[table], line_no)
                if isinstance(doc, dict) and doc.get("_id") == doc_id:
                    return FoundDocument(line, doc, number, schema.encoding, schema.lines)
    return None
