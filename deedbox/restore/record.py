"""Restore one document (a deleted post, a member) from a verified snapshot, keeping its ``_id``.

Finding is a streaming lookup in the snapshot ZIP (only the one table is read, and it stops at
the match). Putting it back (``apply``) is a ZIP import in ``append`` mode of a one-document
snapshot written in the export's own format: the ``_tables`` entry carries the table number, so
the original ``_id`` stays valid, ``_creationTime`` is kept, and the table's
``generated_schema.jsonl`` goes along so Int64/float/bytes are read in the snapshot's encoding.

Existence check, honestly: Convex documents no code-free "get by id" for admins, so deedbox
takes a *safety export* of the live deployment first (stored and verified like any snapshot:
it is also the rollback point) and looks the id up in it. If the document is there, the restore
is refused. A document created between that export and the import is caught by the import
itself (Convex rejects a conflicting ``_id``), which is reported as a refusal too.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from deedbox.backend.export import export_snapshot
from deedbox.bucket.client import BucketClient
from deedbox.config.model import Config
from deedbox.convex.api import ConvexApi
from deedbox.convex.client import ConvexClient
from deedbox.convex.snapshot import FoundDocument, find_document
from deedbox.convex.writer import TableData, write_snapshot
from deedbox.errors import CheckFailed, ConvexError
from deedbox.restore.common import VerifiedSnapshot, local_copy, verified_snapshot, write_log


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
    with local_copy(store, snap) as path:
        found = find_document(path, table=table, doc_id=doc_id, component=component)
    if found is None:
        where = f"{component}/{table}" if component else table
        raise CheckFailed(f"no document {doc_id} in table {where} of snapshot {snap.ref.prefix}")
    return snap, found


def one_document_zip(found: FoundDocument, *, table: str, component: str) -> bytes:
    """A snapshot ZIP holding just ``found``, in its table (number) and component, as exported."""
    buf = io.BytesIO()
    write_snapshot(buf, [TableData(component=component, name=table, number=found.table_number,
                                   lines=[found.line], generated_schema=list(found.generated_schema))])
    return buf.getvalue()


def exists_live(config: Config, store: BucketClient, client: ConvexApi, *, table: str, doc_id: str,
                component: str) -> tuple[bool, str]:
    """Take a verified safety export of the live deployment; is ``doc_id`` in it? (+ its prefix)."""
    manifest = export_snapshot(config, store, client=client, reason="safety")
    prefix = manifest.object.folder
    safety = verified_snapshot(store, config, prefix, read_data=False)
    with local_copy(store, safety) as path:
        found = find_document(path, table=table, doc_id=doc_id, component=component)
    return found is not None, prefix


def restore_record(config: Config, store: BucketClient, *, table: str, doc_id: str,
                   snapshot: str = "latest", component: str = "", apply: bool = False,
                   client_factory: Callable[[], ConvexApi] | None = None) -> RecordResult:
    """Find the document; with ``apply`` put it back into ``source.convex`` and log it."""
    snap, found = find(store, config, table=table, doc_id=doc_id, snapshot=snapshot, component=component)
    result = RecordResult(table, doc_id, component, snap.ref.prefix, found.line, found.encoding)
    if not apply:
        return result
    client = (client_factory or _source_client(config))()
    present, safety = exists_live(config, store, client, table=table, doc_id=doc_id, component=component)
    if present:
        raise CheckFailed(f"refusing: document {doc_id} already exists in {table} of the live deployment "
                          f"(checked in safety export {safety})")
    try:
        written = client.import_zip(io.BytesIO(one_document_zip(found, table=table, component=component)),
                                    mode="append", chunked=False)
    except ConvexError as err:
        if "conflict" in str(err).lower() or "exists" in str(err).lower():
            raise CheckFailed(f"refusing: Convex rejected the import ({err})") from None
        raise
    log_key = write_log(store, "record", f"{table}-{doc_id}", {
        "table": table, "id": doc_id, "component": component, "snapshot": snap.ref.prefix,
        "target": config.source.convex.url, "safety_snapshot": safety, "mode": "append",
        "written": written})
    return RecordResult(table, doc_id, component, snap.ref.prefix, found.line, found.encoding,
                        True, safety, log_key, written)


def _source_client(config: Config) -> Callable[[], ConvexApi]:
    def make() -> ConvexApi:
        return ConvexClient.from_env(config.source.convex.url, key_env=config.source.convex.deploy_key.env)
    return make
