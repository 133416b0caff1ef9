"""Snapshot ZIP import: one-shot ``POST /api/import`` or the CLI's chunked upload protocol."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import urlencode

from deedbox.convex.transport import Transport
from deedbox.errors import ConvexError

Query = Callable[[str, dict[str, Any]], Any]  # ConvexClient.query: path, args -> value
QUERY_IMPORT = "_system/cli/queryImport"
PART_SIZE = 5 * 1024 * 1024  # the backend's minimum part size (except the last)
OCTET = {"Content-Type": "application/octet-stream"}


def size_of(fp: IO[bytes]) -> int:
    here = fp.tell()
    end = fp.seek(0, os.SEEK_END)
    fp.seek(here)
    return end - here


def _written(body: Any) -> int:
    for key in ("numWritten", "num_rows_written", "numRowsWritten"):
        if isinstance(body, dict) and isinstance(body.get(key), (int, float)):
            return int(body[key])
    raise ConvexError("Convex import finished without a written-documents count")


def import_one_shot(transport: Transport, fp: IO[bytes], *, mode: str,
                    component: str | None) -> int:
    params = {"format": "zip", "mode": mode}
    if component:
        params["component"] = component
    resp = transport.call("POST", f"/api/import?{urlencode(params)}", data=fp.read(),
                                 headers=OCTET, idempotent=False)
    return _written(resp.json())


def import_chunked(transport: Transport, query: Query, fp: IO[bytes], *, mode: str,
                   component: str | None, deadline_s: float, poll_s: float,
                   part_size: int | None = None) -> int:
    t = transport
    token = t.call("POST", "/api/import/start_upload", idempotent=False).json()["uploadToken"]
    parts = []
    number = 1
    while chunk := fp.read(part_size or PART_SIZE):
        q = urlencode({"uploadToken": token, "partNumber": number})
        parts.append(t.call("POST", f"/api/import/upload_part?{q}", data=chunk, headers=OCTET,
                            idempotent=True).json())
        number += 1
    spec: dict[str, Any] = {"format": "zip", "mode": mode}
    if component:
        spec["componentPath"] = component
    body = {"import": spec, "uploadToken": token, "partTokens": parts}
    import_id = t.call("POST", "/api/import/finish_upload", json=body,
                       idempotent=False).json()["importId"]
    end = time.monotonic() + deadline_s
    confirmed = False
    while True:
        state = query(QUERY_IMPORT, {"importId": import_id}) or {}
        name = state.get("state")
        if name == "completed":
            return _written(state)
        if name == "failed":
            raise ConvexError(f"Convex import failed: {state.get('error_message', 'no reason given')}")
        if name == "waiting_for_confirmation" and not confirmed:
            t.call("POST", "/api/perform_import", json={"importId": import_id},
                   idempotent=False).close()
            confirmed = True
            continue
        if time.monotonic() + poll_s > end:
            raise ConvexError(f"Convex import did not finish within {deadline_s:g}s (state: {name})")
        time.sleep(poll_s)
