"""A local Convex deployment over real HTTP that obeys the real backend's rules.

``with ConvexTestServer(admin_key="...") as srv:`` starts a ThreadingHTTPServer on 127.0.0.1:0.
Every rule it enforces is an entry of ``tests.support.convex_rules`` (each citing the
convex-backend or npm ``convex`` file it comes from); this module only wires them to routes and
keeps the state: per component, tables with numbers holding documents as raw JSON lines, the
deletions of each live table (for ``DocumentDeleted`` within document retention), ``_storage``
files, environment variables, exports and imports.

Known simplifications (a test must never rely on them): a table imported in the legacy encoding is
kept as imported and re-exported with its legacy ``generated_schema.jsonl`` (the real backend
re-encodes to uniform: digests are encoding independent); JWTs are not validated (no auth config:
a ``Bearer`` token is refused); import runs synchronously within the poll that moves it on;
``_system`` functions need an admin key. Failure injection: ``fail_next`` (optionally with
response headers: a 429 with ``Retry-After``), ``delay``, ``cut_stream_after``, ``fail_exports``, ``hold_imports``.
"""

from __future__ import annotations

import base64
import io
import json
import re
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

from tests.support import convex_rules as R
from tests.support.convex_rules import HttpError
from tests.support.quiet_http import QuietHTTPServer
from tests.support.snapshots import StoredFile, Table, build_snapshot, make_id

EXPORTS_TABLE, IMPORTS_TABLE = 20, 21  # system table numbers for the rows' _ids (any valid id)



class FunctionError(Exception):
    """Raise from a registered function: the response is ``{"status": "error"}`` (``data`` → errorData)."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.data = data


class ImportError_(Exception):  # noqa: N801 - the backend's ImportError, not Python's
    """An import failure: ``code`` is the inner ErrorMetadata code, which never surfaces over HTTP."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class TableState:
    number: int
    docs: dict[str, bytes] = field(default_factory=dict)  # _id -> raw line
    schema_lines: list[str] | None = None  # None: uniform
    deleted: dict[str, float] = field(default_factory=dict)  # _id -> deletion time (tombstones)


@dataclass
class Deployment:
    tables: dict[str, dict[str, TableState]] = field(default_factory=dict)  # component -> name -> table
    files: dict[str, dict[str, StoredFile]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def component(self, path: str = "") -> dict[str, TableState]:
        return self.tables.setdefault(path, {})

    def next_number(self, component: str) -> int:
        used = [t.number for t in self.component(component).values()]
        return max(used, default=10000) + 1


class Db:
    """What registered functions see: decoded documents, inserts and deletes."""

    def __init__(self, srv: ConvexTestServer) -> None:
        self._srv, self._dep = srv, srv.deployment

    def query(self, table: str, component: str = "") -> list[dict]:
        t = self._dep.component(component).get(table)
        return [json.loads(line) for line in t.docs.values()] if t else []

    def get(self, table: str, doc_id: str, component: str = "") -> dict | None:
        t = self._dep.component(component).get(table)
        line = t.docs.get(doc_id) if t else None
        return json.loads(line) if line else None

    def insert(self, table: str, doc: dict, component: str = "") -> str:
        comp = self._dep.component(component)
        t = comp.setdefault(table, TableState(self._dep.next_number(component)))
        doc_id = self._srv.new_id(t.number)
        full = {"_id": doc_id, "_creationTime": self._srv.clock() * 1000.0, **doc}
        t.docs[doc_id] = json.dumps(full).encode()
        return doc_id

    def delete(self, table: str, doc_id: str, component: str = "") -> None:
        """``db.delete``: the document goes, a tombstone stays for the retention period."""
        t = self._dep.component(component)[table]
        del t.docs[doc_id]
        t.deleted[doc_id] = self._srv.clock()


class ConvexTestServer:
    def __init__(self, admin_key: str = "test-admin-key", *, act_as_user: bool = True,
                 export_polls: int = 2, deployment_name: str = "happy-otter-123") -> None:
        self.admin_key = admin_key
        self.act_as_user = act_as_user
        self.export_polls = export_polls
        self.deployment_name = deployment_name
        self.deployment = Deployment()
        self.lock = threading.RLock()
        self.clock: Callable[[], float] = time.time
        self.functions: dict[tuple[str, str], Callable] = {}
        self.requests: list[tuple[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.exports: list[dict] = []
        self.export_zips: dict[int, bytes] = {}
        self.imports: dict[str, dict] = {}
        self.uploads: dict[str, dict[str, bytes]] = {}
        self.fail_exports = False
        self.hold_imports = False  # keep imports waiting_for_confirmation even after perform_import
        self._failures: list[list] = []
        self._delays: dict[str, float] = {}
        self._cut: int | None = None
        self._rng_seed = 0
        self._httpd: ThreadingHTTPServer | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> ConvexTestServer:
        handler = type("Handler", (_Handler,), {"srv": self})
        self._httpd = QuietHTTPServer(("127.0.0.1", 0), handler)
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
        return Db(self)

    def register_query(self, path: str, fn: Callable) -> None:
        self.functions[("query", path)] = fn

    def register_mutation(self, path: str, fn: Callable) -> None:
        self.functions[("mutation", path)] = fn

    def register_action(self, path: str, fn: Callable) -> None:
        self.functions[("action", path)] = fn

    def load_zip(self, data: bytes) -> int:
        """Seed the deployment from a snapshot ZIP (a replaceAll import)."""
        with self.lock:
            return apply_import(self, data, "replaceAll", None)

    def fail_next(self, path_prefix: str, status: int = 500, times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        """The next ``times`` requests under ``path_prefix`` get ``status`` (before any routing);
        ``headers`` are added to those responses, e.g. ``{"Retry-After": "1"}`` with a 429."""
        self._failures.append([path_prefix, status, times, dict(headers or {})])

    def delay(self, path_prefix: str, seconds: float) -> None:
        self._delays[path_prefix] = seconds

    def cut_stream_after(self, nbytes: int | None) -> None:
        self._cut = nbytes

    def paths(self) -> list[str]:
        return [p for _, p in self.requests]

    # ---- hooks used by the handler -----------------------------------------------------------
    def injected_failure(self, path: str) -> tuple[int, dict[str, str]] | None:
        with self.lock:
            for rule in self._failures:
                if path.startswith(rule[0]) and rule[2] > 0:
                    rule[2] -= 1
                    return rule[1], rule[3]
        return None

    def injected_delay(self, path: str) -> float:
        return max((s for p, s in self._delays.items() if path.startswith(p)), default=0.0)

    def build_export(self, include_storage: bool) -> bytes:
        tables, files = [], []
        for comp, comp_tables in self.deployment.tables.items():
            for name, t in comp_tables.items():
                tables.append(Table(name, t.number, component=comp,
                                    raw_lines=list(t.docs.values()), schema_lines=t.schema_lines))
        if include_storage:
            for comp_files in self.deployment.files.values():
                files.extend(comp_files.values())
        buf = io.BytesIO()
        build_snapshot(buf, tables, files=files)
        return buf.getvalue()


# ---- authentication --------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    admin: bool
    identity: dict | None = None


def authenticate(headers: Any, srv: ConvexTestServer) -> Caller:
    """R.AUTH_HEADER, R.ADMIN_KEY, R.ACT_AS_USER."""
    parsed = R.parse_authorization(headers.get("Authorization"))
    if parsed is None:
        return Caller(admin=False)
    kind, token = parsed
    if kind == "user":  # no auth config in the double: every JWT is refused
        raise HttpError(401, "NoAuthProvider", "No auth provider found matching the given token")
    key, acting = R.split_admin_key(token or "")
    if key != R.normalise_key(srv.admin_key):
        raise HttpError(401, "BadAdminKey", "The provided admin key was invalid for this instance")
    if acting is None:
        return Caller(admin=True)
    if not srv.act_as_user:
        raise R.not_permitted("deployment:functions:actAsUser")
    return Caller(admin=True, identity=R.parse_identity(acting))


def require_admin(caller: Caller) -> None:
    if not caller.admin:
        raise HttpError(403, "BadDeployKey", R.BAD_DEPLOY_KEY)


class _Handler(BaseHTTPRequestHandler):
    srv: ConvexTestServer
    protocol_version = "HTTP/1.1"
    cors: list[tuple[str, str]] = []  # R.CORS: set per request once it is inside the CORS layer

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_OPTIONS(self) -> None:  # noqa: N802 - R.CORS: the CORS layer answers every OPTIONS itself
        path, self.cors = urlparse(self.path).path, []
        if path == "/version":  # a GET-only meta route outside the layer
            return self._send(405, b"", {})
        try:
            R.check_client_version(self.headers.get("Convex-Client"))
        except HttpError as err:
            return self._json(err.status, {"code": err.code, "message": err.message})
        self.cors = R.cors_headers(self.headers, path, preflight=True)
        self._send(200, b"", {})

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        self.cors = [] if url.path == "/version" else R.cors_headers(self.headers, url.path, preflight=False)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.srv.requests.append((method, url.path))
        self.srv.headers.append({k: v for k, v in self.headers.items() if k.lower() != "authorization"})
        time.sleep(self.srv.injected_delay(url.path))
        failure = self.srv.injected_failure(url.path)
        if failure is not None:
            body = json.dumps({"code": "InternalServerError", "message": "injected failure"}).encode()
            return self._send(failure[0], body, {"Content-Type": "application/json", **failure[1]})
        try:
            if url.path == "/version":  # meta routes are merged after the client-version layer
                return self._send(200, b"test-backend-1.0", {"Content-Type": "text/plain"})
            try:
                R.check_client_version(self.headers.get("Convex-Client"))
            except HttpError:
                self.cors = []  # the client-version layer wraps the CORS layer
                raise
            caller = authenticate(self.headers, self.srv)
            result = route(self.srv, method, url.path, query, body, caller)
            payload = None if isinstance(result, Download) or result is None else json.dumps(result).encode()
        except HttpError as err:
            return self._json(err.status, {"code": err.code, "message": err.message})
        except Exception as err:  # a bug in a registered function or here: a real 500
            return self._json(500, {"code": "InternalServerError", "message": repr(err)})
        if isinstance(result, Download):
            return self._stream(result)
        if payload is None:  # handlers returning () / StatusCode::OK: 200 with an empty body
            return self._send(200, b"", {})
        return self._send(200, payload, {"Content-Type": "application/json"})

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in [*headers.items(), *self.cors]:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, dl: Download) -> None:
        self.send_response(200)  # R.EXPORT_DOWNLOAD: no Content-Type
        self.send_header("Content-Length", str(len(dl.data)))
        self.send_header("Content-Disposition", f"attachment; filename={dl.filename}")
        self.send_header("Cache-Control", "private, max-age=2592000")
        for k, v in self.cors:
            self.send_header(k, v)
        self.end_headers()
        cut = self.srv._cut
        self.wfile.write(dl.data if cut is None else dl.data[:cut])
        self.wfile.flush()
        if cut is not None:
            self.close_connection = True


@dataclass(frozen=True)
class Download:
    data: bytes
    filename: str


# ---- import: parse an uploaded ZIP and apply it with Convex's rules --------------------------
_DOCS = re.compile(r"^(.*/)?([^/]+)/documents\.jsonl$")
_SCHEMA = re.compile(r"^(.*/)?([^/]+)/generated_schema\.jsonl$")
_STORAGE_FILE = re.compile(r"^(.*/)?_storage/([^/.]+)(?:\.[^/]+)?$")


def _component_of(prefix: str | None) -> str:
    """R.ZIP_ENTRIES: the component named by `_components/<c>/` segments; other directories ignored."""
    parts = (prefix or "").strip("/").split("/") if prefix else []
    return "/".join(parts[i + 1] for i in range(len(parts) - 1) if parts[i] == "_components")


def _rows(data: bytes) -> list[bytes]:
    """R.ZIP_ENTRIES: every line one JSON object; blank lines are JsonInvalidRow (a final newline is fine)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, line in enumerate(lines, 1):
        try:
            value = json.loads(line)
        except ValueError:
            raise ImportError_("JsonInvalidRow", f"Row {n} wasn't valid JSON") from None
        if not isinstance(value, dict):
            raise ImportError_("NotAnObject", f"Row {n} is not an object")
    return lines


def parse_zip(data: bytes) -> dict[str, dict]:
    """component -> {"tables": {name: [number|None, lines, schema]}, "numbers": {...}, "files", "storage"}."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportError_("InvalidZip", "The uploaded file is not a valid ZIP file") from None
    out: dict[str, dict] = {}

    def entry(comp: str) -> dict:
        return out.setdefault(comp, {"tables": {}, "numbers": {}, "files": {}, "meta": {}, "storage": False})

    blobs: list[tuple[str, str, str]] = []
    for name in zf.namelist():
        if name.endswith("/"):
            continue
        if m := _DOCS.match(name):
            comp, table = _component_of(m.group(1)), m.group(2)
            rows = _rows(zf.read(name))
            if table == "_tables":
                for row in map(json.loads, rows):
                    if row["name"] in entry(comp)["numbers"]:
                        raise ImportError_("DuplicateTableName",
                                           f"`_tables` contains duplicate entries for `{row['name']}`")
                    entry(comp)["numbers"][row["name"]] = row["id"]
            elif table == "_storage":
                entry(comp)["storage"] = True
                entry(comp)["meta"].update({json.loads(r)["_id"]: json.loads(r) for r in rows})
            elif not table.startswith("_"):  # other system tables are skipped
                entry(comp)["tables"].setdefault(table, [None, [], None])[1] = rows
        elif m := _SCHEMA.match(name):
            comp, table = _component_of(m.group(1)), m.group(2)
            if not table.startswith("_"):
                lines = [x.decode() for x in zf.read(name).splitlines() if x.strip()]
                entry(comp)["tables"].setdefault(table, [None, [], None])[2] = lines
        elif (m := _STORAGE_FILE.match(name)) and m.group(2) != "documents":
            try:
                R.decode_id(m.group(2))
            except ValueError:
                raise ImportError_("InvalidStorageId", f"Invalid storage id {m.group(2)!r}") from None
            blobs.append((_component_of(m.group(1)), m.group(2), name))
    for comp, sid, name in blobs:  # R.STORAGE_IMPORT: the blobs drive the file import
        e = entry(comp)
        e["storage"] = True
        meta = e["meta"].get(sid, {})
        e["files"][sid] = StoredFile(sid, zf.read(name), meta.get("contentType"), comp,
                                     meta.get("_creationTime", 0.0))
    return out


def _assign_numbers(dep: Deployment, comp: str, entry: dict) -> dict[str, int]:
    """R.TABLE_NUMBERS: `_tables`, else the first `_id`, else the existing table, else a fresh number."""
    numbers: dict[str, int] = {}
    fresh = dep.next_number(comp)
    for name, (_, lines, _) in sorted(entry["tables"].items()):
        number = entry["numbers"].get(name)
        if number is None and lines:
            try:
                number = R.decode_id(json.loads(lines[0]).get("_id"))
            except ValueError:
                number = None
        if number is None and name in dep.component(comp):
            number = dep.component(comp)[name].number
        if number is None:
            number, fresh = fresh, fresh + 1
        for other, n in numbers.items():
            if n == number:
                raise ImportError_("TableNumberConflict",
                                   f"conflict between `{other}` and `{name}` with table number {number}")
        numbers[name] = number
    return numbers


def _check(srv: ConvexTestServer, comp: str, entry: dict, numbers: dict[str, int], mode: str) -> None:
    live = srv.deployment.component(comp)
    for name, (_, lines, _) in entry["tables"].items():
        existing, number = live.get(name), numbers[name]
        if mode == "requireEmpty" and existing is not None and existing.docs:  # R.IMPORT_MODE_RULES
            raise ImportError_("TableExists", f"Table {name} already exists. Please choose a new table name or "
                               "use replace/append modes.")
        appending = mode == "append" and existing is not None
        if appending and existing.number != number:  # R.TABLE_NUMBERS
            raise ImportError_("TableNumberConflict", f"table {name} wants table number {number} but was "
                               f"already assigned {existing.number}")
        if mode != "replaceAll":
            for other, t in live.items():
                survives = other not in entry["tables"] or (other == name and appending)
                if other != name and survives and t.number == number:
                    raise ImportError_("TableConflict", f"New table `{name}` has IDs that conflict with existing "
                                       f"table `{other}`. To delete all existing tables, import with "
                                       "`npx convex import --replace-all`.")
        seen: set[str] = set()
        for line in lines:
            doc_id = json.loads(line).get("_id")
            try:
                found = R.decode_id(doc_id)
            except ValueError:
                raise ImportError_("InvalidId", f"invalid _id '{doc_id}'") from None
            if found != number:
                raise ImportError_("ImportConflict", f"_id {doc_id} cannot be imported into '{name}' because it "
                                   "came from a different deployment and conflict with preexisting tables in "
                                   "this deployment.")
            if doc_id in seen:
                raise ImportError_("DuplicateId", f'Objects in table "{name}" have duplicate _id fields')
            seen.add(doc_id)
            if appending:
                _check_insert(srv, existing, doc_id)


def _check_insert(srv: ConvexTestServer, table: TableState, doc_id: str) -> None:
    """R.DOCUMENT_IDS_ON_INSERT (committer.rs check_generated_ids)."""
    if doc_id in table.docs:
        raise ImportError_("DocumentExists", f"Cannot create document with _id {doc_id} that already exists. "
                           "Try to update it with `db.patch` or `db.replace`.")
    deleted = table.deleted.get(doc_id)
    if deleted is not None and srv.clock() - deleted < R.DOCUMENT_RETENTION_S:
        raise ImportError_("DocumentDeleted", f"Cannot recreate document with _id {doc_id} that was deleted. "
                           "Try to insert it without an _id or insert into another table.")


def apply_import(srv: ConvexTestServer, data: bytes, mode: str, component: str | None) -> int:
    """Parse and apply an import; returns documents written (files are not counted)."""
    dep = srv.deployment
    parsed = parse_zip(data)
    if component:  # component paths in the ZIP are relative to the request's componentPath
        parsed = {"/".join(p for p in (component, c) if p): v for c, v in parsed.items()}
    numbers = {comp: _assign_numbers(dep, comp, entry) for comp, entry in parsed.items()}
    for comp, entry in parsed.items():
        _check(srv, comp, entry, numbers[comp], mode)
    if mode == "replaceAll":  # R.IMPORT_MODE_RULES: every component's unwritten user tables go
        for comp, tables in dep.tables.items():
            written = parsed.get(comp, {}).get("tables", {})
            for name in [n for n in tables if n not in written]:
                del tables[name]
    written = 0
    for comp, entry in parsed.items():
        target = dep.component(comp)
        for name, (_, lines, schema) in entry["tables"].items():
            table = target.get(name)
            if table is None or mode != "append":  # a new table: no documents, no tombstones
                table = target[name] = TableState(numbers[comp][name])
            table.schema_lines = None if not schema or schema[0] == '"uniform"' else schema
            for line in lines:
                table.docs[json.loads(line)["_id"]] = line
                written += 1
        if entry["storage"]:
            files = dep.files.setdefault(comp, {})
            if mode in ("replace", "replaceAll"):
                files.clear()
            files.update(entry["files"])
    return written


def import_failed(err: ImportError_) -> HttpError:
    return HttpError(400, "ImportFailed", R.IMPORT_FAILED_PREFIX + err.message)


# ---- routing ---------------------------------------------------------------------------------
def route(srv: ConvexTestServer, method: str, path: str, query: dict, body: bytes, caller: Caller) -> Any:
    if method == "POST" and path in ("/api/query", "/api/mutation", "/api/action"):
        return _call(srv, path.rsplit("/", 1)[1], _json_body(body), caller)
    require_admin(caller)
    with srv.lock:
        if method == "POST" and path == "/api/export/request/zip":
            return _request_export(srv, query.get("includeStorage") == "true")
        if method == "GET" and path.startswith("/api/export/zip/"):
            return _download(srv, path.rsplit("/", 1)[1])
        if method == "POST" and path == "/api/import":
            _, mode, component = R.import_args(query)
            try:
                return {"numWritten": apply_import(srv, body, mode, component)}
            except ImportError_ as err:
                raise import_failed(err) from None
        if method == "POST" and (path.startswith("/api/import/") or path == "/api/perform_import"):
            return _chunked(srv, path, query, body)
        if method == "GET" and path == "/api/list_environment_variables":
            return {"environmentVariables": dict(srv.deployment.env)}
        if method == "POST" and path == "/api/update_environment_variables":
            return _update_env(srv, _json_body(body))
    raise HttpError(404, "NotFound", f"No route for {method} {path}")


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise HttpError(400, "BadJsonBody", "Failed to parse the JSON body") from None


def _request_export(srv: ConvexTestServer, include_storage: bool) -> None:
    """R.EXPORT_REQUEST."""
    if any(e["state"] in ("requested", "in_progress") for e in srv.exports):
        raise HttpError(400, "ExportInProgress", R.EXPORT_IN_PROGRESS)
    now = time.time_ns()
    srv.exports.append({"_id": srv.new_id(EXPORTS_TABLE), "_creationTime": now / 1e6, "state": "requested",
                        "format": {"format": "zip", "include_storage": include_storage}, "component": None,
                        "requestor": "snapshotExport", "expiration_ts": now + 14 * 86400 * 10**9, "polls": 0})
    return None


def _export_row(e: dict) -> dict:
    """R.EXPORT_ROW: exactly the fields of the row's state; numbers as Int64."""
    keep = R.EXPORT_ROW_FIELDS[e["state"]] | {"_id", "_creationTime", "state"}
    return {k: ConvexInt64(v) if isinstance(v, int) and not isinstance(v, bool) else v
            for k, v in e.items() if k in keep}


def _latest_export(srv: ConvexTestServer) -> dict | None:
    if not srv.exports:
        return None
    e = srv.exports[-1]
    if e["state"] in ("requested", "in_progress"):
        e["polls"] += 1
        if e["polls"] >= 2 and e["state"] == "requested":
            e.update(state="in_progress", start_ts=max(time.time_ns(), _last_start(srv) + 1), progress_message=None)
        if e["polls"] >= srv.export_polls:
            e.setdefault("start_ts", max(time.time_ns(), _last_start(srv) + 1))
            if srv.fail_exports:
                e.update(state="failed", failed_ts=time.time_ns())
            else:
                zdata = srv.build_export(e["format"]["include_storage"])
                srv.export_zips[e["start_ts"]] = zdata
                e.update(state="completed", complete_ts=time.time_ns(), size=len(zdata),
                         zip_object_key=str(uuid.uuid4()))
    return _export_row(e)


def _last_start(srv: ConvexTestServer) -> int:
    return max((e["start_ts"] for e in srv.exports if "start_ts" in e), default=0)


def _download(srv: ConvexTestServer, ident: str) -> Download:
    """R.EXPORT_DOWNLOAD."""
    if ident.isdigit():
        row = next((e for e in srv.exports if e.get("start_ts") == int(ident) and e["state"] == "completed"), None)
    else:
        try:
            R.decode_id(ident)
        except ValueError:
            raise HttpError(400, "BadSnapshotId", "Snapshot Id did not parse to an ID.") from None
        row = next((e for e in srv.exports if e["_id"] == ident), None)
        if row is not None and row["state"] != "completed":
            raise HttpError(400, "ExportNotComplete", f"The requested export {ident} has not completed")
    if row is None:
        raise HttpError(404, "ExportNotFound", f"The requested export {ident} was not found")
    return Download(srv.export_zips[row["start_ts"]], f"snapshot_{srv.deployment_name}_{row['start_ts']}.zip")


def _chunked(srv: ConvexTestServer, path: str, query: dict, body: bytes) -> Any:
    """R.IMPORT_CHUNKED and R.IMPORT_STATE."""
    if path == "/api/import/start_upload":
        token = str(uuid.uuid4())
        srv.uploads[token] = {}
        return {"uploadToken": token}
    if path == "/api/import/upload_part":
        parts = srv.uploads.get(query.get("uploadToken", ""))
        number = query.get("partNumber", "")
        if parts is None:
            raise HttpError(400, "InvalidUploadToken", "Unknown upload token")
        if not number.isdigit() or not 0 <= int(number) <= 65535:
            raise HttpError(400, "BadRequest", "Failed to deserialize query string: partNumber")
        token = f"etag-{uuid.uuid4().hex[:12]}"
        parts[token] = body
        return token  # Json(token.0): a bare JSON string
    if path == "/api/import/finish_upload":
        req = _json_body(body)
        fmt, mode, component = R.import_args(req.get("import") or {})
        parts = srv.uploads.pop(req.get("uploadToken", ""), None)
        if parts is None or not all(t in parts for t in req.get("partTokens", [])):
            raise HttpError(400, "InvalidUploadToken", "Unknown upload token or part")
        import_id = srv.new_id(IMPORTS_TABLE)
        srv.imports[import_id] = {
            "_id": import_id, "_creationTime": time.time() * 1000, "state": {"state": "uploaded"},
            "format": {"format": fmt}, "mode": _MODE_NAMES[mode], "component_path": component,
            "object_key": str(uuid.uuid4()), "member_id": None, "checkpoints": None,
            "requestor": {"type": "snapshotImport"},
            "_data": b"".join(parts[t] for t in req.get("partTokens", [])), "_mode": mode,
        }
        return {"importId": import_id}
    if path == "/api/perform_import":
        imp = srv.imports.get(_json_body(body).get("importId"))
        if imp is None:
            raise HttpError(400, "InvalidImport", "Import not found")
        if imp["state"]["state"] == "waiting_for_confirmation" and not srv.hold_imports:
            imp["state"] = {"state": "in_progress", "progress_message": "Importing", "checkpoint_messages": []}
        return None
    raise HttpError(404, "NotFound", path)


_MODE_NAMES = {"requireEmpty": "RequireEmpty", "append": "Append", "replace": "Replace", "replaceAll": "ReplaceAll"}


def _advance_import(srv: ConvexTestServer, imp: dict) -> None:
    """One step of the import worker: parse after upload, apply after confirmation."""
    state = imp["state"]["state"]
    if state == "uploaded":
        try:
            parse_zip(imp["_data"])
        except ImportError_ as err:
            imp["state"] = {"state": "failed", "error_message": R.IMPORT_FAILED_PREFIX + err.message}
            return
        imp["state"] = {"state": "waiting_for_confirmation", "require_manual_confirmation": False,
                        "message_to_confirm": "Import change summary:\n(the double does not compute one)"}
    elif state == "in_progress":
        try:
            n = apply_import(srv, imp.pop("_data"), imp["_mode"], imp["component_path"])
        except ImportError_ as err:
            imp["state"] = {"state": "failed", "error_message": R.IMPORT_FAILED_PREFIX + err.message}
            return
        imp["state"] = {"state": "completed", "timestamp": ConvexInt64(time.time_ns()),
                        "num_rows_written": ConvexInt64(n)}


def _import_doc(imp: dict) -> dict:
    return {k: v for k, v in imp.items() if not k.startswith("_") or k in ("_id", "_creationTime")}


def _update_env(srv: ConvexTestServer, req: dict) -> None:
    """R.ENV_VARS: validate every change first (as the handler parses them), then apply in one go."""
    changes = req.get("changes") if isinstance(req, dict) else None
    if not isinstance(changes, list):
        raise HttpError(400, "BadJsonBody", "Failed to deserialize the JSON body: missing field `changes`")
    env = dict(srv.deployment.env)
    parsed = []
    for change in changes:
        name, value = change.get("name", ""), change.get("value")
        if not R.ENV_NAME.match(name):
            raise HttpError(400, "EnvironmentVariableNameInvalid",
                            f"The environment variable name {name} is invalid. Environment variable names must begin "
                            "with a letter and may only include characters a-z, A-Z, 0-9, and underscores.")
        if len(name.encode()) > 256:
            raise HttpError(400, "EnvironmentVariableNameTooLong",
                            f"The environment variable name {name} is too long. Environment variable names must be "
                            "less than 256.")
        if value is not None and len(value.encode()) > 8192:
            raise HttpError(400, "EnvironmentVariableValueTooLarge",
                            f"The environment variable value is {len(value.encode())} bytes, which is too large. "
                            "(max size: 8192")
        parsed.append((name, value))
    for name, value in sorted(parsed, key=lambda c: (c[1] is not None, c[0])):
        if value is None:
            env.pop(name, None)
            continue
        if name in R.ENV_SYSTEM_NAMES:
            raise HttpError(400, "EnvVarNameForbidden",
                            f'Environment variable with name "{name}" is built-in and cannot be overridden')
        env[name] = value
    if len(env) > 512:
        raise HttpError(400, "EnvVarLimitMet", "The environment variable limit (512) has been met.")
    total = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
    if total > 512 * 1024:
        raise HttpError(400, "EnvVarTotalSizeLimitMet", f"The total size of all environment variables ({total} "
                        "bytes) exceeds the limit (524288 bytes).")
    srv.deployment.env = env
    return None


# ---- functions -------------------------------------------------------------------------------
def _numbers_as_floats(value: Any) -> Any:
    """R.FUNCTIONS: a JSON number is a float64 (the python ``convex`` package refuses bare ints)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [_numbers_as_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    return value


def _call(srv: ConvexTestServer, kind: str, req: dict, caller: Caller) -> dict:
    """R.FUNCTIONS."""
    fmt = req.get("format", "json")
    if fmt not in R.VALUE_FORMATS:
        raise HttpError(400, "BadFormat", f"Invalid value format {fmt!r}")
    raw_args = req.get("args", {})
    args = json_to_convex(_numbers_as_floats(raw_args)) if fmt in ("convex_encoded_json", "convex_json") else raw_args
    if isinstance(args, list):  # the JSON API also takes [args]
        args = args[0] if args else {}
    path = str(req.get("path", ""))
    try:
        if path.startswith("_system/"):
            require_admin(caller)
            value = _system(srv, path, args)
        else:
            fn = srv.functions.get((kind, path))
            if fn is None:
                raise FunctionError(f"Could not find public function for '{path}'. Did you forget to run "
                                    "`npx convex dev` or `npx convex deploy`?")
            with srv.lock:
                value = fn(srv.db(), args, caller.identity)
    except FunctionError as err:
        out = {"status": "error", "errorMessage": str(err)}
        if err.data is not None:
            out["errorData"] = convex_to_json(err.data) if fmt.startswith("convex") else _clean(err.data)
        return out
    return {"status": "success", "value": convex_to_json(value) if fmt.startswith("convex") else _clean(value)}


def _clean(value: Any) -> Any:
    """The clean JSON format (crates/value/src/export.rs): Int64 as a number, bytes as base64."""
    if isinstance(value, ConvexInt64):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _system(srv: ConvexTestServer, path: str, args: dict) -> Any:
    with srv.lock:
        if path == "_system/cli/exports:getLatest":
            return _latest_export(srv)
        if path in ("_system/cli/queryImport", "_system/cli/queryImport:default"):
            imp = srv.imports.get(args.get("importId"))
            if imp is not None:
                _advance_import(srv, imp)
            return None if imp is None else _import_doc(imp)
        if path == "_system/cli/queryImport:list":  # R.IMPORT_STATE
            newest = sorted(srv.imports.values(), key=lambda i: i["_creationTime"], reverse=True)[:20]
            return [_import_doc(i) for i in newest]
        if path == "_system/cli/tableSize":  # R.TABLE_SIZE
            extra = sorted(set(args) - {"tableName"})
            if extra or not isinstance(args.get("tableName"), str):
                raise FunctionError("ArgumentValidationError: "
                                    + (f"Object contains extra field `{extra[0]}` that is not in the validator."
                                       if extra else "Object is missing the required field `tableName`."))
            t = srv.deployment.component("").get(args["tableName"])
            return len(t.docs) if t else 0
        if path == "_system/cli/tables":  # R.TABLES
            if "paginationOpts" not in args:
                raise FunctionError("ArgumentValidationError: Object is missing the required field `paginationOpts`.")
            names = [{"name": n} for n in srv.deployment.component("") if not n.startswith("_")]
            return {"page": names, "isDone": True, "continueCursor": "end"}
    raise FunctionError(f"Could not find function for '{path}'")
