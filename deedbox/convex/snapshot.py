"""Streaming readers of Convex snapshot ZIPs, one per job (docs/export.md, "What the manifest carries").

- ``summarize``: the manifest's snapshot section (format 2), at the cost of the bytes. Every entry
  is read once, so every CRC is checked; each table's ``documents.jsonl`` is digested as stored
  (``zipio.JsonlDigest``: SHA-256, size, lines); every file-storage blob is checked against
  ``_storage/documents.jsonl``. No document is parsed. Entries are independent, so ``WORKERS``
  threads read them, biggest first (ISA-L and hashlib release the GIL). ``export`` and
  ``verify --read-data`` use it.
- ``content_summary``: what the data *is*, whatever its encoding and the order of its documents:
  every document decoded, typed and checked like Convex's import does, and digested
  (``deedbox.convex.canonical``). The drill holds the restored deployment's re-export against
  the stored snapshot this way; format-1 manifests carry these digests, so verifying one reads
  its snapshot this way too.
- ``find_document``: one document of one table (``restore record``), reading only that table,
  ``_tables`` and the table's schema (over ranged GETs: ``deedbox.bucket.client.RangedReader``).

Hostile snapshots (see ``deedbox.convex.zipio`` for the ZIP layer) end in one ``SnapshotError``
line naming the entry and line, never another exception. Besides what the ZIP layer refuses,
every reader refuses a table listed twice in ``_tables`` and a storage file listed twice
(Convex's import refuses both: ``DuplicateTableName``, crates/application/src/snapshot_import/mod.rs).
What needs the documents parsed is refused by the readers that parse them (``content_summary``,
and ``find_document`` for the lines holding the id): invalid JSON, values Convex cannot hold, an
``_id`` that is invalid or of another table, and a table holding the same ``_id`` twice
(``DuplicateId``: a restore could import either copy). Duplicate ids are found with a set of
64-bit keyed hashes of the ids of the table being read (about 70 bytes a document, freed after
the table); a hash seen twice is confirmed by re-reading the table up to that line, so a
collision (odds ~n^2/2^65) never refuses a good snapshot. ``find_document`` reads its table to
the end, so a second copy of the wanted document is refused there too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import struct
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any

from deedbox.convex import zipio
from deedbox.convex.canonical import Digest, LegacyTyper, canonical_legacy, canonical_uniform
from deedbox.convex.ids import decode_id
from deedbox.convex.shapes import ShapeSyntaxError, parse_context, parse_shape
from deedbox.errors import SnapshotError, UsageError

log = logging.getLogger(__name__)
WORKERS = max(1, min(2, os.cpu_count() or 1))  # entry readers of ``summarize``


@dataclass(frozen=True)
class TableSummary:
    """One table as a manifest (format 2) records it: its ``documents.jsonl`` as exported."""

    component: str  # "" = root app, "a/b" = nested component
    name: str
    number: int
    count: int  # lines: documents
    size: int  # bytes of documents.jsonl, uncompressed
    digest: str  # "sha256:<hex>" of its data as stored in the ZIP (deflated), see zipio.JsonlDigest


@dataclass(frozen=True)
class TableContent:
    """One table's data, whatever its encoding and order (format-1 manifests, the drill)."""

    component: str
    name: str
    number: int
    count: int
    digest: str  # 64 hex digits, see deedbox.convex.canonical


@dataclass(frozen=True)
class SnapshotSummary:
    encoding: str  # "uniform" | "legacy" | "mixed"
    tables: tuple[TableSummary | TableContent, ...]
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
            tables=tuple(TableSummary(**t) if "size" in t else TableContent(**t) for t in d["tables"]),
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
    table: TableSummary  # the table it was found in, digested as summarize digests it


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


@dataclass(frozen=True)
class _Blob:
    """A storage file and what its document in ``_storage/documents.jsonl`` says about it."""

    info: Any  # zipfile.ZipInfo
    size: int | None
    sha256: bytes | None
    declared: object  # the document's "size", as written


def _storage_plan(reader: zipio.Reader, comp: zipio.Component) -> list[_Blob]:
    """Every storage file of ``comp`` with its document, after the checks that need no blob read."""
    if comp.storage_entry is None:
        if comp.blobs:
            raise SnapshotError(f"{zipio.prefix_of(comp.path)}_storage has files but no documents.jsonl")
        return []
    blobs: list[_Blob] = []
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
        blobs.append(_blob(info, doc, comp.storage_entry, line_no))
        seen.add(sid)
    orphans = sorted(set(comp.blobs) - seen)
    if orphans:
        raise SnapshotError(f"storage file {orphans[0]} has no entry in {comp.storage_entry}")
    return blobs


def _blob(info: Any, doc: dict, entry: str, line_no: int) -> _Blob:
    declared = doc.get("size")
    want = doc.get("sha256")
    try:
        expected_size = None if declared is None else int(declared)
        expected_sha = base64.b64decode(want) if isinstance(want, str) else None
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise SnapshotError(f"{entry} line {line_no}: size or sha256 of storage file "
                            f"{info.filename} is not readable") from None
    return _Blob(info, expected_size, expected_sha, declared)


def _check_blob(reader: zipio.Reader, blob: _Blob) -> int:
    """Read one storage file whole; its size, after checking it against its document."""
    sha = hashlib.sha256()
    size = 0
    for chunk in reader.chunks(blob.info.filename):
        sha.update(chunk)
        size += len(chunk)
    if blob.size is not None and blob.size != size:
        raise SnapshotError(f"storage file {blob.info.filename} is {size} bytes, documents say {blob.declared}")
    if blob.sha256 is not None and blob.sha256 != sha.digest():
        raise SnapshotError(f"storage file {blob.info.filename} does not match its sha256")
    return size


# ---- the two whole-snapshot readers --------------------------------------------------------------
TableReader = Callable[[zipio.Reader, str, str, int, "_Schema | None"], "TableSummary | TableContent"]


def summarize(source: Any, *, progress: Callable[[int], None] | None = None,
              workers: int = WORKERS) -> SnapshotSummary:
    """The manifest's snapshot section (format 2): every entry read once, no document parsed."""
    return _read_snapshot(source, progress, workers, _table_bytes, schemas=False)


def content_summary(source: Any, *, progress: Callable[[int], None] | None = None) -> SnapshotSummary:
    """What the snapshot holds, independent of encoding and order: every document decoded and
    checked; per table the count and canonical digest (format-1 manifests, the drill)."""
    return _read_snapshot(source, progress, 1, _table_content, schemas=True)


def _table_bytes(reader: zipio.Reader, entry: str, component: str, number: int,
                 schema: _Schema | None) -> TableSummary:
    digest = reader.digest(entry)
    return TableSummary(component, _table_name(entry), number, digest.count, digest.size, digest.hexdigest())


def _table_content(reader: zipio.Reader, entry: str, component: str, number: int,
                   schema: _Schema | None) -> TableContent:
    assert schema is not None  # content_summary reads every schema
    name = _table_name(entry)
    digest = _digest_table(reader, entry, name, number, schema)
    return TableContent(component, name, number, digest.count, digest.hexdigest())


def _table_name(entry: str) -> str:
    return zipio.split_entry(entry)[1].split("/", 1)[0]


@dataclass(frozen=True)
class _Job:
    weight: int  # bytes to inflate: the biggest go first, so two readers finish together
    run: Callable[[], Any]


def _read_snapshot(source: Any, progress: Callable[[int], None] | None, workers: int,
                   read_table: TableReader, *, schemas: bool) -> SnapshotSummary:
    """Plan every entry's read (the small index entries are read here), run the reads, check."""
    stop = threading.Event()

    def tick(done: int) -> None:
        if stop.is_set():
            raise _Cancelled()
        if progress is not None:
            progress(done)

    with zipio.open_zip(source) as zf:
        comps = zipio.index(zf)
        comps.setdefault("", zipio.Component(""))
        reader = zipio.Reader(zf, tick)
        jobs: list[_Job] = []
        tables: list[int] = []  # indexes of the table jobs, in summary order
        encodings: set[str] = set()
        storage: list[tuple[_Blob, int]] = []
        for path in sorted(comps):
            comp = comps[path]
            jobs += [_Job(zf.getinfo(n).file_size, partial(reader.drain, n)) for n in comp.other]
            for entry, number, schema in _plan_tables(reader, comp, encodings, schemas=schemas):
                tables.append(len(jobs))
                jobs.append(_Job(zf.getinfo(entry).file_size,
                                 partial(read_table, reader, entry, comp.path, number, schema)))
            for blob in _storage_plan(reader, comp):
                storage.append((blob, len(jobs)))
                jobs.append(_Job(blob.info.file_size, partial(_check_blob, reader, blob)))
        results = _run(jobs, workers if reader.parallel else 1, stop)
    encoding = encodings.pop() if len(encodings) == 1 else ("mixed" if encodings else "uniform")
    components = tuple(p for p in sorted(comps) if p)
    return SnapshotSummary(encoding, tuple(results[i] for i in tables), components, len(storage),
                           sum(results[i] for _, i in storage))


def _plan_tables(reader: zipio.Reader, comp: zipio.Component, encodings: set[str], *,
                 schemas: bool) -> list[tuple[str, int, _Schema | None]]:
    """``(entry, table number, schema)`` of every table of ``comp``, by name; ``schemas``: with
    the legacy typer built (else only the encoding is read)."""
    numbers = _read_tables(reader, comp)
    stray = sorted(set(comp.documents) - set(numbers))
    if stray:
        raise SnapshotError(f"table {stray[0]} has documents but no entry in {comp.tables_entry}")
    out: list[tuple[str, int, _Schema | None]] = []
    for name in sorted(numbers):
        entry = comp.documents.get(name)
        if entry is None:
            raise SnapshotError(f"table {name} is listed in {comp.tables_entry} but has no documents.jsonl")
        schema_entry = comp.schemas.get(name)
        if schemas:
            schema: _Schema | None = _read_schema(reader, schema_entry, name)
            encodings.add(schema.encoding if schema else "legacy")
        else:
            schema = None
            encodings.add(_encoding_of(reader, schema_entry))
        out.append((entry, numbers[name], schema))
    return out


def _encoding_of(reader: zipio.Reader, entry: str | None) -> str:
    """``uniform`` when the schema's first line is ``"uniform"``, else ``legacy`` (as ``_read_schema``)."""
    if entry is None:
        return "legacy"
    first = None
    for number, line in reader.lines(entry):  # to the end, so its CRC and size are checked
        if number == 1:
            first = line
    return "uniform" if first is not None and first.strip() == b'"uniform"' else "legacy"


class _Cancelled(Exception):
    """Another entry's read failed first: this one is no longer needed."""


def _run(jobs: list[_Job], workers: int, stop: threading.Event) -> list[Any]:
    """Every job's result, in job order; the first error in job order (as one reader would have
    met it) is raised, after the other readers stopped at their next chunk."""
    if workers <= 1 or len(jobs) < 2:
        return [job.run() for job in jobs]
    with ThreadPoolExecutor(workers, thread_name_prefix="deedbox-snapshot") as pool:
        futures: dict[int, Future[Any]] = {}
        for i in sorted(range(len(jobs)), key=lambda i: -jobs[i].weight):
            futures[i] = pool.submit(jobs[i].run)
        done, pending = wait(futures.values(), return_when=FIRST_EXCEPTION)
        if pending:
            stop.set()
            for f in pending:
                f.cancel()
    ordered = [futures[i] for i in range(len(jobs))]
    for f in ordered:
        err = None if f.cancelled() else f.exception()
        if err is not None and not isinstance(err, _Cancelled):
            raise err
    return [f.result() for f in ordered]


def find_document(source: Any, *, table: str, doc_id: str,
                  component: str = "") -> FoundDocument | None:
    """The document with ``doc_id`` in one table, or None. Reads ``_tables``, the table's schema and
    the table (to its end: a second copy is refused; only lines holding the id are parsed), and
    digests the table as ``summarize`` does, so a caller can hold it against the manifest."""
    try:
        wanted_number = decode_id(doc_id)[0]
    except ValueError as err:
        raise UsageError(str(err)) from None
    with zipio.open_zip(source) as zf:
        comp = zipio.index(zf).get(component)
        if comp is None:
            return None
        reader = zipio.Reader(zf)
        entry, schema_entry = comp.documents.get(table), comp.schemas.get(table)
        if comp.tables_entry is None:
            _read_tables(reader, comp)  # the refusal
        if entry is None:
            return None
        needle = doc_id.encode("ascii")
        digest = zipio.JsonlDigest(entry)
        found: tuple[bytes, dict] | None = None
        first = 0
        tables: dict[str, int] = {}
        schema = _Schema("legacy", [], LegacyTyper(None))
        # in the order they lie in the ZIP: over ranged GETs, one request reads all three
        for name in reader.span([comp.tables_entry, entry, schema_entry]):
            if name == comp.tables_entry:
                tables = _read_tables(reader, comp)
            elif name == schema_entry:
                schema = _read_schema(reader, schema_entry, table)
            else:
                for line_no, line in reader.matching_lines(entry, needle, digest):
                    doc = zipio.parse_json(line, entry, line_no)
                    if isinstance(doc, dict) and doc.get("_id") == doc_id:
                        if found is not None:
                            raise SnapshotError(f"{entry} line {line_no}: duplicate _id {doc_id} (also on "
                                                f"line {first}): a restore could import either copy")
                        found, first = (line, doc), line_no
        number = tables.get(table)
        if number is None:
            return None
        if number != wanted_number:
            raise UsageError(f"id {doc_id} belongs to table number {wanted_number}, "
                             f"but table {table} has number {number}")
    if found is None:
        return None
    stored = TableSummary(component, table, number, digest.count, digest.size, digest.hexdigest())
    return FoundDocument(found[0], found[1], number, schema.encoding, schema.lines, stored)
