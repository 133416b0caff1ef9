"""Streaming reader of Convex snapshot ZIPs: the manifest's content section, and one-record lookup.

``summarize`` makes one pass over every entry (so every CRC is checked), with bounded memory:
documents are streamed line by line, never a whole table. For each user table it records the
document count and an order- and encoding-independent digest (see ``deedbox.convex.canonical``);
for file storage the number of files and their bytes, after checking each blob's size and sha256
against ``_storage/documents.jsonl``. Components are the non-root component paths (``"a"``,
``"a/b"``). ``find_document`` streams only the one table it needs and parses only the lines that
hold the wanted id.

Hostile snapshots (see ``deedbox.convex.zipio`` for the ZIP layer) end in one ``SnapshotError``
line naming the entry and line, never another exception: besides what the ZIP layer refuses, a
table (or ``_storage``) holding the same ``_id`` twice, and a table listed twice in ``_tables``,
are refused (Convex's import refuses both too: ``DuplicateId``, ``DuplicateTableName`` in
crates/application/src/snapshot_import/mod.rs), because the manifest could then describe another
copy than the one a restore imports. Duplicate ids are found with a set of 64-bit keyed hashes of the ids of the table being
read (about 70 bytes a document, e.g. ~70 MB for a table of a million documents, freed after the
table); a hash seen twice is confirmed by re-reading the table up to that line, so a collision
(odds ~n^2/2^65) never refuses a good snapshot. ``find_document`` reads its table to the end, so
a second copy of the wanted document is refused there too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
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
                or not isinstance(row.get("id"), int) or isinstance(row.get("id"), bool):
            raise SnapshotError(f"{comp.tables_entry} line {number}: expected {{name, id}}")
        name, table_number = row["name"], row["id"]
        if name in tables:  # Convex's import: DuplicateTableName (snapshot_import/mod.rs)
            raise SnapshotError(f"{comp.tables_entry} line {number}: table {zipio.show(name)} is listed twice")
        tables[name] = table_number
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
    numbered: list[tuple[int, str]] = []
    for n, line in reader.lines(entry):
        try:
            numbered.append((n, line.decode("utf-8")))
        except UnicodeDecodeError:
            raise SnapshotError(f"invalid UTF-8 in {entry} line {n}") from None
    try:
        return _legacy_or_uniform(numbered, entry, table)
    except RecursionError:  # a shape or context deeper than the parsers can follow
        raise SnapshotError(f"{entry}: a shape nested too deeply to read") from None


def _legacy_or_uniform(numbered: list[tuple[int, str]], entry: str, table: str) -> _Schema:
    lines = [text for _, text in numbered]
    first = _json_or_text(lines[0], entry, 1) if lines else None
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
        row = _json_or_text(text, entry, number)
        try:
            if not isinstance(row, dict) or len(row) != 1:
                raise ValueError("override line should be an object with one item")
            ((doc_id, context),) = row.items()
            decode_id(doc_id)
            overrides[doc_id] = parse_context(context)
        except (ValueError, TypeError) as err:
            log.warning("table %s: generated_schema line %d ignored: %s", table, number, err)
    return _Schema("legacy", lines, LegacyTyper(shape, overrides, fallback=shape is None))


def _json_or_text(text: str, entry: str, number: int) -> Any:
    try:
        return zipio.decode_json(text)
    except zipio.NestingError:
        raise SnapshotError(zipio.nesting_message(entry, number)) from None
    except ValueError:
        return text


def _digest_table(reader: zipio.Reader, entry: str, table: str, number: int,
                  schema: _Schema) -> Digest:
    digest = Digest()
    seen: set[int] = set()
    for line_no, line, doc in reader.json_lines(entry):
        if not isinstance(doc, dict):
            raise SnapshotError(f"{entry} line {line_no}: a document must be a JSON object")
        doc_id = _check_id(doc.get("_id"), table, number, entry, line_no)
        key = _id_key(doc_id)
        if key in seen:
            _refuse_duplicate(reader, entry, doc_id, line_no)
        seen.add(key)
        try:
            if schema.typer is None:
                digest.add(canonical_uniform(line, doc))
            else:
                digest.add(canonical_legacy(doc, schema.typer))
        except (ValueError, TypeError, struct.error, binascii.Error) as err:
            raise SnapshotError(f"{entry} line {line_no}: value not valid in Convex: "
                                f"{zipio.show(str(err))}") from None
        except RecursionError:
            raise SnapshotError(f"{entry} line {line_no}: a value or shape nested too deeply to read") from None
    if schema.typer is not None and schema.typer.untyped:
        log.warning("table %s: %d values of undetermined type digested as raw JSON",
                    table, schema.typer.untyped)
    return digest


_ID_KEY = os.urandom(16)  # keyed: nobody can choose ids whose hashes collide


def _id_key(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8, key=_ID_KEY).digest(), "little")


def _refuse_duplicate(reader: zipio.Reader, entry: str, doc_id: str, line_no: int) -> None:
    """Raise if an earlier line of ``entry`` has ``_id`` ``doc_id`` (a hash was seen twice)."""
    first = _first_line_with(reader, entry, doc_id, before=line_no)
    if first is not None:
        raise SnapshotError(f"{entry} line {line_no}: duplicate _id {doc_id} (also on line {first}): "
                            "a restore could import either copy")


def _first_line_with(reader: zipio.Reader, entry: str, doc_id: str, *, before: int) -> int | None:
    needle = doc_id.encode("ascii")
    for line_no, line in zipio.Reader(reader.zf).lines(entry):
        if line_no >= before:
            return None
        if needle in line:
            doc = zipio.parse_json(line, entry, line_no)
            if isinstance(doc, dict) and doc.get("_id") == doc_id:
                return line_no
    return None


def _table_of(doc_id: object) -> int:
    """The table number of an id, decoded and checked (alphabet, length, footer) in full."""
    if not isinstance(doc_id, str):
        raise ValueError("an _id is a string")
    return decode_id(doc_id)[0]


def _check_id(doc_id: object, table: str, number: int, entry: str, line_no: int) -> str:
    """The document's valid ``_id`` of this table, or a SnapshotError."""
    try:
        found = _table_of(doc_id)
    except ValueError:
        raise SnapshotError(f"{entry} line {line_no}: invalid _id {doc_id!r}") from None
    if found != number:
        raise SnapshotError(
            f"table {table} (number {number}) holds _id {doc_id} of table number {found}")
    assert isinstance(doc_id, str)  # _table_of refuses anything else
    return doc_id


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
        if sid in seen:
            raise SnapshotError(f"{comp.storage_entry} line {line_no}: duplicate _id {zipio.show(sid)}: "
                                "storage file listed twice")
        info = comp.blobs.get(sid)
        if info is None:
            raise SnapshotError(f"storage file {zipio.show(sid)} is listed but missing from the snapshot")
        _check_blob(reader, info, doc, comp.storage_entry, line_no)
        seen.add(sid)
        count += 1
        total += info.file_size
    orphans = sorted(set(comp.blobs) - seen)
    if orphans:
        raise SnapshotError(f"storage file {orphans[0]} has no entry in {comp.storage_entry}")
    return count, total


def _check_blob(reader: zipio.Reader, info: Any, doc: dict, entry: str, line_no: int) -> None:
    declared = doc.get("size")
    want = doc.get("sha256")
    try:
        expected_size = None if declared is None else int(declared)
        expected_sha = base64.b64decode(want) if isinstance(want, str) else None
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise SnapshotError(f"{entry} line {line_no}: size or sha256 of storage file "
                            f"{info.filename} is not readable") from None
    sha = hashlib.sha256()
    size = 0
    for chunk in reader.chunks(info.filename):
        sha.update(chunk)
        size += len(chunk)
    if expected_size is not None and expected_size != size:
        raise SnapshotError(f"storage file {info.filename} is {size} bytes, documents say {declared}")
    if expected_sha is not None and expected_sha != sha.digest():
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
        entry = comp.documents[table]
        needle = doc_id.encode("ascii")
        found: FoundDocument | None = None
        first = 0
        for line_no, line in reader.lines(entry):
            if needle in line:
                doc = zipio.parse_json(line, entry, line_no)
                if isinstance(doc, dict) and doc.get("_id") == doc_id:
                    if found is not None:
                        raise SnapshotError(f"{entry} line {line_no}: duplicate _id {doc_id} (also on "
                                            f"line {first}): a restore could import either copy")
                    found, first = FoundDocument(line, doc, number, schema.encoding, schema.lines), line_no
    return found
