"""Snapshot ZIP import, exactly as ``npx convex import`` does it: always the chunked protocol.

Steps (npm ``convex`` 1.48.0, ``dist/esm/cli/lib/convexImport.js``; routes in convex-backend
``crates/local_backend/src/snapshot_import.rs``):

1. ``POST /api/import/start_upload`` → ``{uploadToken}``;
2. ``POST /api/import/upload_part?uploadToken=…&partNumber=N`` (from 1, octet-stream) → the part
   token as a bare JSON string; parts are 5 MiB, or ``ceil(size / 9999)`` for files above ~48.8 GiB
   (the CLI's rule: at most 9999 parts; the backend's part number is a u16);
3. ``POST /api/import/finish_upload`` ``{import: {format: "zip", mode, componentPath?}, uploadToken,
   partTokens}`` → ``{importId}``;
4. poll ``_system/cli/queryImport {importId}``: the document's ``state`` is a tagged object
   (``crates/model/src/snapshot_imports/types.rs``): ``uploaded`` → ``waiting_for_confirmation``
   (then ``POST /api/perform_import {importId}``, once) → ``in_progress`` → ``completed``
   ``{num_rows_written}`` or ``failed`` ``{error_message}``.

The one-shot ``POST /api/import`` is not used: it answers only after the whole import, so any
client timeout shorter than the import leaves it unconfirmed or unknown (the CLI never uses it).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import urlencode

from deedbox.convex.transport import Transport
from deedbox.errors import ConvexError, ImportRejected

Query = Callable[[str, dict[str, Any]], Any]  # ConvexClient.query: path, args -> value
QUERY_IMPORT = "_system/cli/queryImport"
PART_SIZE = 5 * 1024 * 1024  # the CLI's DEFAULT_CHUNK_SIZE
MAX_PARTS = 9999  # the CLI's cap: chunk = max(5 MiB, ceil(size / 9999))
OCTET = {"Content-Type": "application/octet-stream"}
MODES = ("requireEmpty", "append", "replace", "replaceAll")


def size_of(fp: IO[bytes]) -> int:
    here = fp.tell()
    end = fp.seek(0, os.SEEK_END)
    fp.seek(here)
    return end - here


def part_size(total: int, default: int | None = None) -> int:
    """The CLI's rule: 5 MiB parts, larger when the file would need more than 9999."""
    return max(default or PART_SIZE, math.ceil(total / MAX_PARTS))


def import_chunked(transport: Transport, query: Query, fp: IO[bytes], *, mode: str,
                   component: str | None, deadline_s: float, poll_s: float) -> int:
    """Upload, confirm and wait; the number of documents written (files are not counted)."""
    if mode not in MODES:
        raise ValueError(f"unknown import mode {mode!r}")
    # starting an upload writes nothing: a retried start only leaves an unused token
    token = transport.call("POST", "/api/import/start_upload", idempotent=True).json()["uploadToken"]
    size = part_size(size_of(fp))
    parts, number = [], 1
    while chunk := fp.read(size):
        q = urlencode({"uploadToken": token, "partNumber": number})
        parts.append(transport.call("POST", f"/api/import/upload_part?{q}", data=chunk, headers=OCTET,
                                    idempotent=True).json())
        number += 1
    spec: dict[str, Any] = {"format": "zip", "mode": mode}
    if component:
        spec["componentPath"] = component
    body = {"import": spec, "uploadToken": token, "partTokens": parts}
    import_id = transport.call("POST", "/api/import/finish_upload", json=body, idempotent=False).json()["importId"]
    return _wait(transport, query, import_id, deadline_s=deadline_s, poll_s=poll_s)


def _wait(transport: Transport, query: Query, import_id: str, *, deadline_s: float, poll_s: float) -> int:
    end = time.monotonic() + deadline_s
    confirmed = False
    while True:
        doc = query(QUERY_IMPORT, {"importId": import_id})
        raw = doc.get("state") if isinstance(doc, dict) else None
        state: dict[str, Any] = raw if isinstance(raw, dict) else {}
        name = state.get("state")
        if name == "completed":
            return _written(state)
        if name == "failed":
            raise ImportRejected(f"Convex import failed: {_one_line(state.get('error_message'))}")
        if name == "waiting_for_confirmation" and not confirmed:
            transport.call("POST", "/api/perform_import", json={"importId": import_id}, idempotent=False).close()
            confirmed = True
            continue
        if name is None:  # no document, or a state that is not the tagged object
            raise ConvexError(f"Convex import {import_id}: unexpected import document (state {raw!r})")
        if time.monotonic() + poll_s > end:
            raise ConvexError(f"Convex import did not finish within {deadline_s:g}s (state: {name})")
        time.sleep(poll_s)


def _written(state: dict[str, Any]) -> int:
    value = state.get("num_rows_written")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    raise ConvexError("Convex import completed without num_rows_written")


def _one_line(message: object) -> str:
    """``Hit an error while importing:\\n<why>`` is two lines; errors are one."""
    text = " ".join(str(message or "no reason given").split())
    return text.removeprefix("Hit an error while importing: ")
