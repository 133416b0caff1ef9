"""Restore one document (a post deleted an hour ago, a member) from a verified snapshot, keeping its ``_id``.

Convex refuses to insert an ``_id`` whose deletion is younger than document retention (14 days
by default): ``DocumentDeleted``, ``check_generated_ids`` in convex-backend
``crates/database/src/committer.rs``, ``DOCUMENT_RETENTION_DELAY`` in ``crates/common/src/knobs.rs``.
An ``append`` import inserts into the live table, so it cannot bring back a recent deletion: the
common case. A ``replace`` import writes the imported table into a *new* table that is swapped in
at the end (``prepare_table_for_import``/``finalize_import`` in
``crates/application/src/snapshot_import/mod.rs``), where that check has nothing to find. So:

1. find the document in a structure-verified snapshot, reading only the ZIP's central directory,
   ``_tables``, the table's schema and the table itself, through ranged GETs (two or three
   requests whatever the snapshot's size: entries that lie together are one request), and hold
   that table against the manifest's record of it (its SHA-256, size and count as exported:
   format 2; its count: format 1);
2. take a **safety export** of the live deployment, stored and verified (read-data) like any
   snapshot: it is the rollback point and the source of the rebuilt table;
3. refuse if the document is in it (it exists: nothing to restore);
4. build a one-table snapshot: that table exactly as the safety export holds it, plus the
   document (same table number, so every ``_id`` stays valid and references to it work again);
5. **guard the write window**: just before importing, the live table must still hold the safety
   export's document count (root tables; ``_system/cli/tableSize`` has no component argument);
6. import it with ``replace`` (only that table is replaced; every other table, ``_storage``
   included, is untouched), check the count is one more, and log the restore.

What the guard does not see, said plainly: writes to *that table* between the safety export and
the end of the import are lost if they change no count (an update in place), or happen while the
import runs. They are in no snapshot but the next one. Restore records when the table is quiet.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deedbox.backend.export import export_snapshot
from deedbox.bucket.client import BucketClient
from deedbox.bucket.manifest import Manifest
from deedbox.config.model import Config
from deedbox.convex import zipio
from deedbox.convex.api import ConvexApi
from deedbox.convex.client import ConvexClient
from deedbox.convex.snapshot import FoundDocument, TableSummary, find_document
from deedbox.convex.writer import TableData, write_snapshot
from deedbox.errors import CheckFailed, ConvexError, DeedboxError, EnvironmentProblem, ImportRejected
from deedbox.restore.common import VerifiedSnapshot, verified_snapshot, write_log


@dataclass(frozen=True)
class RecordResult:
    table: str
    doc_id: str
    component: str
    snapshot: str
    line: bytes  # the document as stored: JSONL in the snapshot's encoding
    encoding: str
    applied: bool = False
    safety_snapshot: str | None = None
    log_key: str | None = None
    written: int | None = None


def find(store: BucketClient, config: Config, *, table: str, doc_id: str, snapshot: str = "latest",
         component: str = "") -> tuple[VerifiedSnapshot, FoundDocument]:
    """The document in a structure-verified snapshot; CheckFailed when it is not there."""
    snap = verified_snapshot(store, config, snapshot, read_data=False)
    obj = snap.manifest.object
    with store.open_ranged(obj.key, obj.version_id, obj.size) as fp:
        found = find_document(fp, table=table, doc_id=doc_id, component=component)
    where = f"{component}/{table}" if component else table
    if found is None:
        raise CheckFailed(f"no document {doc_id} in table {where} of snapshot {snap.ref.prefix}")
    differs = table_differs(snap.manifest, found.table)
    if differs:
        raise CheckFailed(f"table {where} of snapshot {snap.ref.prefix} is not the one its manifest "
                          f"describes ({differs})")
    return snap, found


def table_differs(manifest: Manifest, read: TableSummary) -> str | None:
    """Pure: how the table just read differs from the manifest's record of it, or None. Format 2
    records its bytes (count, size, digest); format 1 a content digest, so only the count compares."""
    recorded = next((t for t in manifest.tables if (t.get("component") or "") == read.component
                     and t.get("name") == read.name), None)
    if recorded is None:
        return "the manifest does not list it"
    fields = ("count", "size", "digest") if manifest.byte_digests else ("count",)
    for name in fields:
        if recorded.get(name) != getattr(read, name):
            return f"{name}: manifest {recorded.get(name)!r}, read {getattr(read, name)!r}"
    return None


def one_document_zip(found: FoundDocument, *, table: str, component: str) -> bytes:
    """A snapshot ZIP holding just ``found``, in its table (number) and component, as exported."""
    buf = io.BytesIO()
    write_snapshot(buf, [TableData(component=component, name=table, number=found.table_number,
                                   lines=[found.line], generated_schema=list(found.generated_schema))])
    return buf.getvalue()


@dataclass(frozen=True)
class LiveTable:
    """One table of the safety export: what the rebuilt table is made of."""

    number: int | None  # None: the table does not exist in the live deployment
    lines: list[bytes]
    generated_schema: list[str] | None
    has: bool  # the document is in it

    @property
    def encoding(self) -> str:
        first = self.generated_schema[0] if self.generated_schema else '"uniform"'
        return "uniform" if first.strip() == '"uniform"' else "legacy"


def read_table(source: Any, *, table: str, component: str, doc_id: str) -> LiveTable:
    """The table ``table`` of a snapshot ZIP, whole (lines as stored), and whether ``doc_id`` is in it."""
    with zipio.open_zip(source) as zf:
        comp = zipio.index(zf).get(component)
        if comp is None or table not in comp.documents:
            return LiveTable(None, [], None, False)
        reader = zipio.Reader(zf)
        number = None
        if comp.tables_entry:
            number = next((row["id"] for _, _, row in reader.json_lines(comp.tables_entry)
                           if isinstance(row, dict) and row.get("name") == table), None)
        lines = [line for _, line in reader.lines(comp.documents[table])]
        schema = ([line.decode() for _, line in reader.lines(comp.schemas[table])]
                  if table in comp.schemas else None)
    needle = f'"_id": "{doc_id}"'.encode(), f'"_id":"{doc_id}"'.encode()
    return LiveTable(number, lines, schema, any(n in line for line in lines for n in needle))


def rebuilt_table_zip(found: FoundDocument, live: LiveTable, *, table: str, component: str) -> bytes:
    """Pure: the live table plus ``found``, as a one-table snapshot ZIP (for a ``replace`` import)."""
    if live.number is not None and live.number != found.table_number:
        raise CheckFailed(f"refusing: table {table} is number {live.number} in the live deployment, "
                          f"{found.table_number} in the snapshot; the document's _id would not be valid there")
    schema = _merged_schema(found, live, table)
    buf = io.BytesIO()
    write_snapshot(buf, [TableData(component=component, name=table, number=found.table_number,
                                   lines=[*live.lines, found.line], generated_schema=schema)])
    return buf.getvalue()


def _merged_schema(found: FoundDocument, live: LiveTable, table: str) -> list[str] | None:
    if found.encoding == "uniform" and (live.number is None or live.encoding == "uniform"):
        return None
    snapshot_schema = list(found.generated_schema)
    if live.number is None:
        return snapshot_schema
    if live.encoding == found.encoding == "legacy" and live.generated_schema \
            and live.generated_schema[0] == snapshot_schema[0]:
        doc_overrides = [line for line in snapshot_schema[1:] if found.document.get("_id", "") in line]
        return [*live.generated_schema, *doc_overrides]
    raise CheckFailed(f"refusing: table {table} is {live.encoding}-encoded in the live deployment and "
                      f"{found.encoding}-encoded in the snapshot; deedbox does not re-encode a document "
                      "between encodings (restore it from a newer snapshot)")


def exists_live(config: Config, store: BucketClient, client: ConvexApi, *, table: str, doc_id: str,
                component: str) -> tuple[LiveTable, str]:
    """Take a verified safety export of the live deployment; its ``table`` (+ the export's prefix)."""
    manifest = export_snapshot(config, store, client=client, reason="safety")
    prefix = manifest.object.folder
    safety = verified_snapshot(store, config, prefix, read_data=True).manifest.object
    with store.open_ranged(safety.key, safety.version_id, safety.size) as fp:  # the one table
        return read_table(fp, table=table, component=component, doc_id=doc_id), prefix


def restore_record(config: Config, store: BucketClient, *, table: str, doc_id: str,
                   snapshot: str = "latest", component: str = "", apply: bool = False,
                   client_factory: Callable[[], ConvexApi] | None = None) -> RecordResult:
    """Find the document; with ``apply`` put it back into ``source.convex`` and log it."""
    snap, found = find(store, config, table=table, doc_id=doc_id, snapshot=snapshot, component=component)
    result = RecordResult(table, doc_id, component, snap.ref.prefix, found.line, found.encoding)
    if not apply:
        return result
    client = (client_factory or _source_client(config))()
    live, safety = exists_live(config, store, client, table=table, doc_id=doc_id, component=component)
    if live.has:
        raise CheckFailed(f"refusing: document {doc_id} already exists in {table} of the live deployment "
                          f"(checked in safety export {safety})")
    data = rebuilt_table_zip(found, live, table=table, component=component)
    counted = not component  # tableSize addresses root tables only
    if counted:
        _guard(client, table, len(live.lines), safety)
    try:
        written = client.import_zip(io.BytesIO(data), mode="replace")
    except ImportRejected as err:  # Convex ran it and said no: nothing was written
        raise CheckFailed(f"refusing: Convex rejected the import ({err}); the table is as it was "
                          f"(safety export {safety})") from None
    except ConvexError as err:  # an outage: after perform_import the outcome is not known
        raise EnvironmentProblem(f"Convex failed during the import ({err}); the table may or may not have "
                                 f"been rebuilt: compare it with safety export {safety}") from None
    if counted and client.table_size(table) != len(live.lines) + 1:
        raise CheckFailed(f"table {table} does not hold {len(live.lines) + 1} documents after the restore: "
                          f"compare it with safety export {safety}")
    try:
        log_key = write_log(store, "record", f"{table}-{doc_id}", {
            "table": table, "id": doc_id, "component": component, "snapshot": snap.ref.prefix,
            "target": config.source.convex.url, "safety_snapshot": safety, "mode": "replace",
            "table_documents_before": len(live.lines), "written": written, "count_guarded": counted})
    except DeedboxError as err:
        raise EnvironmentProblem(f"restored {doc_id} into {table} (safety export {safety}), but the restore "
                                 f"log could not be written: {err}") from None
    return RecordResult(table, doc_id, component, snap.ref.prefix, found.line, found.encoding,
                        True, safety, log_key, written)


def _guard(client: ConvexApi, table: str, expected: int, safety: str) -> None:
    now = client.table_size(table)
    if now != expected:
        raise CheckFailed(f"refusing: table {table} changed since the safety export ({expected} → {now} "
                          f"documents); a replace would lose those writes. Retry when the table is quiet "
                          f"(safety export {safety})")


def _source_client(config: Config) -> Callable[[], ConvexApi]:
    def make() -> ConvexApi:
        return ConvexClient.from_env(config.source.convex.url, key_env=config.source.convex.deploy_key.env)
    return make
