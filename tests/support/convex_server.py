"""A local Convex deployment over real HTTP, implementing the documented endpoints.

``with ConvexTestServer(admin_key="...") as srv:`` starts a ThreadingHTTPServer on 127.0.0.1:0.
State is an in-memory deployment: per component, tables with numbers holding documents as raw
JSON lines (uniform encoding, or as imported), plus ``_storage`` files. Exports are built in the
real ZIP format by ``tests.support.snapshots``; imports parse uploaded ZIPs with the same rules as
Convex (keep ``_id``/``_creationTime``, ImportConflict, TableNumberConflict, the four modes).
Failure injection: ``fail_next``, ``delay``, ``cut_stream_after``, ``fail_exports``.

Simplifications (documented, so a test never relies on them by accident): a table imported in
the legacy encoding is kept as-is and re-exported with its legacy ``generated_schema.jsonl``
(real Convex re-encodes to uniform; digests are encoding independent, so drills see no
difference); the auth header is ``Convex <key>`` or ``Convex <key>:<base64 identity>``, and keys
may contain ``:`` (``prod:name|secret``).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from convex.values import ConvexInt64, convex_to_json, json_to_convex

from tests.support.snapshots import StoredFile, Table, build_snapshot, id_table_number, make_id


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FunctionError(Exception):
    """Raise from a registered function: the response is ``{"status": "error"}``."""


@dataclass
class TableState:
    number: int
    docs: dict[str, bytes] = field(default_factory=dict)  # _id -> raw line
    schema_lines: list[str] | None = None  # None: uniform


@dataclass
class Deployment:
    tables: dict[str, dict[str, TableState]] = field(default_factory=dict)  # component -> name ->
    files: dict[str, dict[str, StoredFile]] = field(default_factory=dict)

    def component(self, path: str = "") -> dict[str, TableState]:
        return self.tables.setdefault(path, {})

    def next_number(self, component: str) -> int:
        used = [t.number for t in self.component(component).values()]
        return max(used, default=10000) + 1


class Db:
    """What registered functions see: decoded documents and inserts."""

    def __init__(self, dep: Deployment, idmaker: Callable[[int], str]) -> None:
        self._dep, self._mk = dep, idmaker

    def query(self, table: str, component: str = "") -> list[dict]:
        t = self._dep.component(component).get(table)
        return [json.loads(line) for line in t.docs.values()] if t else []

    def insert(self, table: str, doc: dict, component: str = "") -> str:
        comp = self._dep.component(component)
        t = comp.setdefault(table, TableState(self._dep.next_number(component)))
        doc_id = self._mk(t.number)
        full = {"_id": doc_id, "_creationTime": time.time() * 1000.0, **doc}
        t.docs[doc_id] = json.dumps(full).encode()
        return doc_id


class ConvexTestServer:
    def __init__(self, admin_key: str = "test-admin-key", *, act_as_user: bool = True,
                 export_polls: int = 2) -> None:
        self.admin_key = admin_key
        self.act_as_user = act_as_user
        self.export_polls = export_polls
        self.deployment = Deployment()
        self.lock = threading.RLock()
        self.functions: dict[tuple[str, str], Callable] = {}
        self.requests: list[tuple[str, str]] = []
        self.exports: list[dict] = []
        self.export_zips: dict[int, bytes] = {}
        self.imports: dict[str, dict] = {}
        self.uploads: dict[str, dict[str, bytes]] = {}
        self.fail_exports = False
        self._failures: list[list] = []
        self._delays: dict[str, float] = {}
        self._cut: int | None = None
        self._rng_seed = 0
        self._httpd: ThreadingHTTPServer | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> ConvexTestServer:
        handler = type("Handler", (_Handler,), {"srv": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # ---- test API ----------------------------------------------------------------------------
    def new_id(self, table_number: int) -> str:
        with self.lock:
            self._rng_seed += 1
            return make_id(table_number, uuid.UUID(int=self._rng_seed * 7919 + 13).bytes)

    def db(self) -> Db:
        return Db(self.deployment, self.new_id)

    def register_query(self, path: str, fn: Callable) -> None:
        self.functions[("query", path)] = fn

    def register_mutation(self, path: str, fn: Callable) -> None:
        self.functions[("mutation", path)] = fn

    def register_action(self, path: str, fn: Callable) -> None:
        self.functions[("action", path)] = fn

    def load_zip(self, data: bytes) -> int:
        """Seed the deployment from a snapshot ZIP (a replace-all import)."""
        with self.lock:
            return apply_import(self.deployment, data, "replaceAll", None)

    def fail_next(self, path_prefix: str, status: int = 500, times: int = 1) -> None:
        self._failures.append([path_prefix, status, times])

    def delay(self, path_prefix: str, seconds: float) -> None:
        self._delays[path_prefix] = seconds

    def cut_stream_after(self, nbytes: int | None) -> None:
        self._cut = nbytes

    def paths(self) -> list[str]:
        return [p for _, p in self.requests]

    # ---- hooks used by the handler -----------------------------------------------------------
    def injected_failure(self, path: str) -> int | None:
        with self.lock:
            for rule in self._failures:
                if path.startswith(rule[0]) and rule[2] > 0:
                    rule[2] -= 1
                    return rule[1]
        return None

    def injected_delay(self, path: str) -> float:
        return max((s for p, s in self._delays.items() if path.startswith(p)), default=0.0)

    def build_export(self) -> bytes:
        tables, files = [], []
        for comp, comp_tables in self.deployment.tables.items():
            for name, t in comp_tables.items():
                tables.append(Table(name, t.number, component=comp,
                                    raw_lines=list(t.docs.values()), schema_lines=t.schema_lines))
        for comp_files in self.deployment.files.values():
            files.extend(comp_files.values())
        buf = io.BytesIO()
        build_snapshot(buf, tables, files=files)
        return buf.getvalue()


def _identity(header: str, srv: ConvexTestServer) -> dict | None:
    if not header.startswith("Convex "):
        raise HttpError(401, "MissingAccessToken", "An admin key is required for this operation")
    token = header[len("Convex "):]
    # deploy keys themselves contain ":" (prod:name|secret): the identity is what follows the key
    rest = token[len(srv.admin_key):] if token.startswith(srv.admin_key) else None
    ident = rest[1:] if rest else ""
    if rest is None or (rest and not rest.startswith(":")):
        raise HttpError(401, "BadAdminKey", "The provided admin key was invalid for this instance")
    if not ident:
        return None
    if not srv.act_as_user:
        raise HttpError(403, "Forbidden",
                        "This key lacks the deployment:functions:actAsUser permission")
    try:
        return json.loads(base64.b64decode(ident))
    except ValueError:
        raise HttpError(400, "BadIdentity", "Could not parse the acting identity") from None


class _Handler(BaseHTTPRequestHandler):
    srv: ConvexTestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.srv.requests.append((method, url.path))
        time.sleep(self.srv.injected_delay(url.path))
        status = self.srv.injected_failure(url.path)
        if status is not None:
            return self._json(status, {"code": "InternalServerError", "message": "injected failure"})
        try:
            if url.path == "/version":
                return self._text(200, "test-backend-1.0")
            identity = _identity(self.headers.get("Authorization", ""), self.srv)
            result = route(self.srv, method, url.path, query, body, identity)
        except HttpError as err:
            return self._json(err.status, {"code": err.code, "message": err.message})
        except Exception as err:  # a bug in a registered function or here: a real 500
            return self._json(500, {"code": "InternalServerError", "message": repr(err)})
        if isinstance(result, bytes):
            return self._stream(result)
        return self._json(200, result)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain")

    def _send(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        cut = self.srv._cut
        self.wfile.write(data if cut is None else data[:cut])
        self.wfile.flush()
        if cut is not None:
            self.close_connection = True


# ---- import: parse an uploaded ZIP and apply it with Convex's rules --------------------------
def _split(name: str) -> tuple[str, str]:
    parts = name.split("/")
    comps = []
    while len(parts) >= 3 and parts[0] == "_components":
        comps.append(parts[1])
        parts = parts[2:]
    return "/".join(comps), "/".join(parts)


def parse_zip(data: bytes) -> dict[str, dict]:
    """component -> {"tables": {name: [number, lines, schema]}, "files": {id: StoredFile}}."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise HttpError(400, "InvalidZip", "The uploaded file is not a ZIP") from None
    out: dict[str, dict] = {}
    names = zf.namelist()
    for name in names:
        comp, rest = _split(name)
        entry = out.setdefault(comp, {"tables": {}, "files": {}, "storage": []})
        head, _, tail = rest.partition("/")
        if rest == "_tables/documents.jsonl":
            for line in zf.read(name).splitlines():
                if line.strip():
                    row = json.loads(line)
                    entry["tables"].setdefault(row["name"], [row["id"], [], None])[0] = row["id"]
        elif rest == "_storage/documents.jsonl":
            entry["storage"] = [json.loads(x) for x in zf.read(name).splitlines() if x.strip()]
        elif tail in ("documents.jsonl", "generated_schema.jsonl") and not head.startswith("_"):
            slot = entry["tables"].setdefault(head, [None, [], None])
            lines = [x for x in zf.read(name).splitlines() if x.strip()]
            slot[1 if tail == "documents.jsonl" else 2] = lines if tail == "documents.jsonl" \
                else [x.decode() for x in lines]
    for comp, entry in out.items():
        for doc in entry["storage"]:
            blob = next(n for n in names if _split(n) == (comp, f"_storage/{doc['_id']}")
                        or _split(n)[1].startswith(f"_storage/{doc['_id']}."))
            entry["files"][doc["_id"]] = StoredFile(doc["_id"], zf.read(blob), doc.get("contentType", ""),
                                                    comp, doc["_creationTime"])
    return out


def apply_import(dep: Deployment, data: bytes, mode: str, component: str | None) -> int:
    parsed = parse_zip(data)
    if component:
        parsed = {"/".join(p for p in (component, c) if p): v for c, v in parsed.items()}
    for comp, entry in parsed.items():
        _check(dep.component(comp), entry["tables"], mode)
    written = 0
    for comp, entry in parsed.items():
        target = dep.component(comp)
        if mode == "replaceAll":
            for name in [n for n in target if n not in entry["tables"]]:
                del target[name]
        for name, (number, lines, schema) in entry["tables"].items():
            table = target.get(name)
            if table is None or mode in ("replace", "replaceAll"):
                table = target[name] = TableState(number if table is None or mode != "append"
                                                  else table.number)
            table.schema_lines = None if not schema or schema[0] == '"uniform"' else schema
            for line in lines:
                table.docs[json.loads(line)["_id"]] = line
                written += 1
        dep.files.setdefault(comp, {}).update(entry["files"])
        written += len(entry["files"])
    return written


def _check(target: dict[str, TableState], tables: dict[str, list], mode: str) -> None:
    for name, (number, lines, _) in tables.items():
        existing = target.get(name)
        if mode == "requireEmpty" and existing is not None and existing.docs:
            raise HttpError(400, "ImportFailed", f"Table {name} is not empty (mode requireEmpty)")
        if number is None:
            raise HttpError(400, "ImportFailed", f"Table {name} has no entry in _tables")
        keeps = mode == "append" and existing is not None
        want = existing.number if keeps else number
        if not keeps:
            for other, t in target.items():
                gone = mode == "replaceAll" and other not in tables
                if other != name and t.number == number and not gone:
                    raise HttpError(400, "TableNumberConflict",
                                    f"Table number {number} of {name} is used by table {other}")
        for line in lines:
            doc_id = json.loads(line)["_id"]
            if id_table_number(doc_id) != want:
                raise HttpError(400, "ImportConflict",
                                f"_id {doc_id} does not belong to table {name} (number {want})")
            if keeps and doc_id in existing.docs:
                raise HttpError(400, "ImportConflict", f"_id {doc_id} already exists in {name}")


# ---- routing ------------------------------------------------------------------------------
def route(srv: ConvexTestServer, method: str, path: str, query: dict, body: bytes,
          identity: dict | None) -> Any:
    with srv.lock:
        if method == "POST" and path == "/api/export/request/zip":
            return _request_export(srv, query.get("includeStorage") == "true")
        if method == "GET" and path.startswith("/api/export/zip/"):
            return _download(srv, path.rsplit("/", 1)[1])
        if method == "POST" and path == "/api/import":
            return {"numWritten": apply_import(srv.deployment, body, query.get("mode", "requireEmpty"),
                                               query.get("component"))}
        if method == "POST" and path.startswith("/api/import/") or path == "/api/perform_import":
            return _chunked(srv, path, query, body)
    if method == "POST" and path in ("/api/query", "/api/mutation", "/api/action"):
        return _call(srv, path.rsplit("/", 1)[1], json.loads(body or b"{}"), identity)
    raise HttpError(404, "NotFound", f"No route for {method} {path}")


def _request_export(srv: ConvexTestServer, include_storage: bool) -> dict:
    if any(e["state"] in ("requested", "in_progress") for e in srv.exports):
        raise HttpError(400, "ExportInProgress", "There is already an export requested or in progress")
    start = max(time.time_ns(), (srv.exports[-1]["start_ts"] + 1) if srv.exports else 0)
    srv.exports.append({"state": "requested", "start_ts": start, "polls": 0,
                        "include_storage": include_storage})
    return {}


def _latest_export(srv: ConvexTestServer) -> dict | None:
    if not srv.exports:
        return None
    e = srv.exports[-1]
    if e["state"] in ("requested", "in_progress"):
        e["polls"] += 1
        e["state"] = "requested" if e["polls"] == 1 else "in_progress"
        if e["polls"] >= srv.export_polls:
            if srv.fail_exports:
                e["state"] = "failed"
            else:
                files = srv.deployment.files
                if not e["include_storage"]:
                    srv.deployment.files = {}
                try:
                    zdata = srv.build_export()
                finally:
                    srv.deployment.files = files
                srv.export_zips[e["start_ts"]] = zdata
                e.update(state="completed", complete_ts=time.time_ns(), size=len(zdata),
                         zip_object_key=str(uuid.uuid4()), expiration_ts=time.time_ns() + 14 * 86400 * 10**9)
    # the _exports system table stores timestamps and sizes as Int64
    return {k: ConvexInt64(v) if isinstance(v, int) else v
            for k, v in e.items() if k not in ("polls", "include_storage")}


def _download(srv: ConvexTestServer, ts: str) -> bytes:
    data = srv.export_zips.get(int(ts)) if ts.isdigit() else None
    if data is None:
        raise HttpError(404, "ExportNotFound", f"No completed export with start_ts {ts}")
    return data


def _chunked(srv: ConvexTestServer, path: str, query: dict, body: bytes) -> Any:
    if path == "/api/import/start_upload":
        token = str(uuid.uuid4())
        srv.uploads[token] = {}
        return {"uploadToken": token}
    if path == "/api/import/upload_part":
        parts = srv.uploads.get(query.get("uploadToken", ""))
        if parts is None:
            raise HttpError(400, "InvalidUploadToken", "Unknown upload token")
        parts[query["partNumber"]] = body
        return f"part-{query['partNumber']}"
    if path == "/api/import/finish_upload":
        req = json.loads(body)
        parts = srv.uploads.pop(req["uploadToken"])
        data = b"".join(parts[t.split("-", 1)[1]] for t in req["partTokens"])
        import_id = str(uuid.uuid4())
        srv.imports[import_id] = {"state": "waiting_for_confirmation", "data": data,
                                  "spec": req["import"], "message_to_confirm": "Import?"}
        return {"importId": import_id}
    if path == "/api/perform_import":
        imp = srv.imports[json.loads(body)["importId"]]
        spec = imp["spec"]
        try:
            n = apply_import(srv.deployment, imp.pop("data"), spec["mode"], spec.get("componentPath"))
            imp.update(state="completed", num_rows_written=n)
        except HttpError as err:
            imp.update(state="failed", error_message=f"{err.code}: {err.message}")
        return {}
    raise HttpError(404, "NotFound", path)


def _call(srv: ConvexTestServer, kind: str, req: dict, identity: dict | None) -> dict:
    fmt = req.get("format", "json")
    raw_args = req.get("args") or {}
    args = json_to_convex(raw_args) if fmt == "convex_encoded_json" else raw_args
    if isinstance(args, list):  # the JSON API also accepts [args]
        args = args[0] if args else {}
    try:
        value = _system(srv, req["path"], args)
        if value is _NOT_SYSTEM:
            fn = srv.functions.get((kind, req["path"]))
            if fn is None:
                raise FunctionError(f"Could not find public function for '{req['path']}'")
            with srv.lock:
                value = fn(srv.db(), args, identity)
    except FunctionError as err:
        return {"status": "error", "errorMessage": str(err), "logLines": []}
    out = convex_to_json(value) if fmt == "convex_encoded_json" else value
    return {"status": "success", "value": out, "logLines": []}


_NOT_SYSTEM = object()


def _system(srv: ConvexTestServer, path: str, args: dict) -> Any:
    with srv.lock:
        if path == "_system/cli/exports:getLatest":
            return _latest_export(srv)
        if path == "_system/cli/queryImport":
            imp = srv.imports.get(args.get("importId"))
            return None if imp is None else {k: v for k, v in imp.items() if k != "data"}
        if path == "_system/cli/tableSize":
            t = srv.deployment.component(args.get("componentPath") or "").get(args["tableName"])
            return len(t.docs) if t else 0
        if path == "_system/cli/tables":
            return [{"name": n, "id": t.number} for n, t in srv.deployment.component("").items()]
    return _NOT_SYSTEM
