"""Second opinion on the test server's chunked import: the OFFICIAL CLI, ``npx convex import``, uploads to it.

``node tests/support/npm/node_modules/convex/bin/main.js import --format zip [--replace|--append|--replace-all]
--yes snap.zip`` (``convex@1.48.0``, pinned in ``tests/support/npm/package-lock.json``) runs against a
``ConvexTestServer`` through a recording pass-through proxy, so the test sees every byte the CLI sent and
every answer it got. What the CLI does (paths under ``node_modules/convex/dist/esm/cli/``; ``bin/main.js``
runs ``dist/cli.bundle.cjs``, built from the same source):

* ``convexImport.js:24`` ``ensureHasConvexDependency``: the cwd needs a ``package.json`` listing ``convex``
  (``lib/utils/utils.js:437-483``); no ``convex.json``, no ``convex/`` directory, no login;
* ``lib/deploymentSelection.js:506-526``: ``CONVEX_SELF_HOSTED_URL`` + ``CONVEX_SELF_HOSTED_ADMIN_KEY``
  select the deployment with no network call (``CONVEX_DEPLOYMENT`` must be unset); ``CI=1`` keeps Sentry
  off (``lib/utils/sentry.js:10``);
* ``lib/convexImport.js:52-58``: ``_system/cli/queryImport:list`` through ``ConvexHttpClient`` over HTTP
  (``POST /api/query``, ``Convex-Client: npm-1.48.0``, ``browser/http_client.js:179``); an entry whose
  ``state.state`` is ``in_progress`` (line 61) asks "Start another import?" unless ``--yes`` (line 208);
* ``lib/convexImport.js:72-85``: mode ``requireEmpty`` unless ``--append``/``--replace``/``--replace-all``;
  ``importArgs = {tableName, componentPath, mode, format}`` (undefined fields vanish in ``JSON.stringify``);
* ``uploadForImport`` (``lib/convexImport.js:306-364``) through ``deploymentFetch`` (``lib/utils/utils.js:892-935``:
  ``Authorization: Convex <key>``, ``Content-Type: application/json`` unless set, ``Convex-Client:
  npm-cli-1.48.0``): ``POST /api/import/start_upload`` (no body) → reads ``uploadToken`` (line 327);
  ``POST /api/import/upload_part?uploadToken=<encoded>&partNumber=N`` from 1, ``application/octet-stream``,
  chunks of ``CONVEX_IMPORT_CHUNK_SIZE`` (line 24, default 5 MiB, at least ``ceil(size / 9999)``) → pushes
  ``await partResp.json()`` (line 342); ``POST /api/import/finish_upload`` ``{import, uploadToken,
  partTokens}`` → reads ``importId`` (line 359);
* ``waitForStableImportState`` (line 228) subscribes to ``_system/cli/queryImport {importId}`` over the
  WebSocket sync protocol (``GET /api/1.48.0/sync``, ``browser/sync/client.js:113``; ``lib/run.js:276``),
  which the test double does not speak: the CLI retries the socket forever, so the test kills it there.
  Only on ``waiting_for_confirmation`` would it ``POST /api/perform_import {importId}`` (``confirmImport``,
  line 295), with no prompt when ``require_manual_confirmation`` is false or ``--yes`` (line 189); the test
  then plays that part itself over HTTP and checks the documents landed.

These tests are a second opinion, never the only proof: the Python tests of the server and of
``deedbox.convex.importer`` stand on their own. They skip, saying why, without node or the package.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import re
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from convex.values import json_to_convex

from tests.convex.conftest import CANARY
from tests.convex.test_npm_client import CONVEX_VERSION, NPM_DIR, node  # noqa: F401 - session fixture: npm ci once, skips
from tests.support.convex_server import ConvexTestServer
from tests.support.snapshots import Table, make_id, snapshot_bytes, uniform

CLI = NPM_DIR / "node_modules" / "convex" / "bin" / "main.js"
CHUNK = 4096  # CONVEX_IMPORT_CHUNK_SIZE: several parts from a small ZIP
HARD_TIMEOUT_S = 60.0
SYNC_PATH = f"/api/{CONVEX_VERSION}/sync"
NPM_CLI_CLIENT = re.compile(r"^npm-cli-(\d+)\.(\d+)\.(\d+)$")
USERS, POSTS = 10001, 10002


# ---- a recording pass-through proxy: the exact wire between the CLI and the server -------------
@dataclass
class Exchange:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int
    response: bytes

    def json(self) -> Any:
        return json.loads(self.response)


class RecordingProxy:
    """Forwards every request to ``upstream`` unchanged (hop-by-hop headers aside) and records it."""

    HOP = {"host", "connection", "keep-alive", "transfer-encoding", "proxy-connection", "content-length"}

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.exchanges: list[Exchange] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                proxy._forward(self)

            do_POST = do_GET  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True

    def __enter__(self) -> RecordingProxy:
        Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def _forward(self, h: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in h.headers.items()}
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""  # the server reads Content-Length only: record the chunked body, mark it
            while size := int(h.rfile.readline().split(b";")[0], 16):
                body += h.rfile.read(size)
                h.rfile.readline()
            h.rfile.readline()
        else:
            body = h.rfile.read(int(headers.get("content-length") or 0))
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            conn.request(h.command, h.path, body=body,
                         headers={k: v for k, v in h.headers.items() if k.lower() not in self.HOP})
            resp = conn.getresponse()
            status, data, resp_headers = resp.status, resp.read(), resp.getheaders()
        finally:
            conn.close()
        url = urlsplit(h.path)
        self.exchanges.append(Exchange(h.command, url.path, parse_qs(url.query), headers, body, status, data))
        h.send_response(status)
        for k, v in resp_headers:
            if k.lower() not in self.HOP:
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def http(self) -> list[Exchange]:
        """The plain HTTP calls (the WebSocket handshakes left out)."""
        return [e for e in self.exchanges if e.path != SYNC_PATH]


# ---- running the CLI ---------------------------------------------------------------------------
@pytest.fixture
def cli(node: str) -> list[str]:
    if not CLI.is_file():
        pytest.skip(f"official convex CLI missing ({CLI}); CI installs it in .ci/run")
    return [node, str(CLI)]


@dataclass
class CliRun:
    argv: list[str]
    returncode: int | None  # None: still running when killed (waiting on the WebSocket)
    output: str
    seconds: float


def run_import(cli: list[str], proxy: RecordingProxy, project: Path, zip_path: Path, flags: list[str]) -> CliRun:
    """``convex import --format zip <flags> <zip>`` in ``project``; killed once it opens the WebSocket."""
    project.mkdir(parents=True, exist_ok=True)
    # the one thing the CLI needs in its cwd (ensureHasConvexDependency)
    (project / "package.json").write_text(json.dumps({"name": "npx-import-probe", "private": True,
                                                      "dependencies": {"convex": CONVEX_VERSION}}))
    (project / "home").mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(project / "home"), "CI": "1",
           "NO_COLOR": "1", "CONVEX_SELF_HOSTED_URL": proxy.url, "CONVEX_SELF_HOSTED_ADMIN_KEY": CANARY,
           "CONVEX_IMPORT_CHUNK_SIZE": str(CHUNK)}
    argv = [*cli, "import", "--format", "zip", *flags, str(zip_path)]
    log = project / "cli.log"
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = _wait_for_websocket(proc, proxy, start)
        finally:
            if proc.poll() is None:
                _kill_group(proc)
    return CliRun(argv, returncode, log.read_text(errors="replace"), time.monotonic() - start)


def _wait_for_websocket(proc: subprocess.Popen, proxy: RecordingProxy, start: float) -> int | None:
    while time.monotonic() - start < HARD_TIMEOUT_S:
        if proc.poll() is not None:
            return proc.returncode
        if any(e.path == SYNC_PATH for e in proxy.exchanges):
            return None
        time.sleep(0.02)
    pytest.fail(f"the CLI neither exited nor opened the WebSocket within {HARD_TIMEOUT_S:g}s")


def _kill_group(proc: subprocess.Popen) -> None:
    """End the CLI's process group (only the process this test started, by its id)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@pytest.fixture
def deployment():
    """(server, proxy in front of it)."""
    with ConvexTestServer(admin_key=CANARY, export_polls=1) as srv, RecordingProxy(srv.url) as proxy:
        yield srv, proxy


# ---- driving the import over HTTP ourselves, as the CLI would after the WebSocket --------------
def _post(srv: ConvexTestServer, path: str, body: Any = None, *, data: bytes | None = None,
          content_type: str = "application/json") -> tuple[int, bytes]:
    req = urllib.request.Request(srv.url + path, method="POST",
                                 data=data if data is not None else json.dumps(body or {}).encode(),
                                 headers={"Authorization": f"Convex {CANARY}", "Convex-Client": "test-1.0.0",
                                          "Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


def query_import(srv: ConvexTestServer, import_id: str) -> dict:
    """``_system/cli/queryImport`` as the CLI's subscription would see it (convex_encoded_json)."""
    _, raw = _post(srv, "/api/query", {"path": "_system/cli/queryImport", "format": "convex_encoded_json",
                                       "args": [{"importId": import_id}]})
    answer = json.loads(raw)
    assert answer["status"] == "success", answer
    return json_to_convex(answer["value"])


def confirm_and_wait(srv: ConvexTestServer, import_id: str) -> tuple[dict, list[str]]:
    """What ``importIntoDeployment``'s loop does: wait for a stable state, confirm once, wait again."""
    seen, confirmed = [], False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = query_import(srv, import_id)["state"]
        seen.append(state["state"])
        if state["state"] in ("completed", "failed"):
            return state, seen
        if state["state"] == "waiting_for_confirmation" and not confirmed:
            # lib/convexImport.js:189: no prompt when require_manual_confirmation is false (or --yes)
            assert state["require_manual_confirmation"] is False and state["message_to_confirm"]
            status, body = _post(srv, "/api/perform_import", {"importId": import_id})
            assert (status, body) == (200, b"")
            confirmed = True
        time.sleep(0.01)
    pytest.fail(f"import {import_id} did not finish: states {seen}")


# ---- data --------------------------------------------------------------------------------------
def users(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"_id": make_id(USERS, rng.randbytes(16)), "_creationTime": 1_700_000_000_000.0 + i * 17.5,
             "name": f"member {seed}-{i}", "level": i, "score": i / 4, "avatar": rng.randbytes(48)}
            for i in range(count)]


def posts(count: int) -> list[dict]:
    rng = random.Random(99)
    return [{"_id": make_id(POSTS, rng.randbytes(16)), "_creationTime": 1_700_000_000_000.0 + i,
             "title": f"post {i}"} for i in range(count)]


def stored(srv: ConvexTestServer, table: str) -> dict[str, dict]:
    t = srv.deployment.component("").get(table)
    return {} if t is None else {k: json.loads(v) for k, v in t.docs.items()}


def by_id(docs: list[dict]) -> dict[str, dict]:
    return {d["_id"]: uniform(d) for d in docs}


def header(e: Exchange, name: str) -> str | None:
    return e.headers.get(name.lower())


# ---- the tests ---------------------------------------------------------------------------------
MODES = [  # CLI flags -> the mode it sends (lib/convexImport.js:72-79) -> the server's document mode
    pytest.param([], "requireEmpty", "RequireEmpty", id="requireEmpty"),
    pytest.param(["--append"], "append", "Append", id="append"),
    pytest.param(["--replace"], "replace", "Replace", id="replace"),
    pytest.param(["--replace-all"], "replaceAll", "ReplaceAll", id="replaceAll"),
]


@pytest.mark.parametrize(("flags", "mode", "doc_mode"), MODES)
def test_cli_chunked_upload_is_understood_by_the_server(cli, deployment, tmp_path, flags, mode, doc_mode):
    srv, proxy = deployment
    old_users, old_posts = users(5, seed=1), posts(3)
    srv.load_zip(snapshot_bytes([Table("users", USERS, old_users), Table("posts", POSTS, old_posts)]))
    new_users = users(120, seed=2)
    data = snapshot_bytes([Table("users", USERS, new_users)])
    zip_path = tmp_path / "snapshot.zip"
    zip_path.write_bytes(data)
    n_parts = math.ceil(len(data) / max(CHUNK, math.ceil(len(data) / 9999)))
    assert n_parts >= 3, len(data)

    run = run_import(cli, proxy, tmp_path / "project", zip_path, [*flags, "--yes"])
    cli_requests = len(srv.requests)
    assert run.returncode is None, f"the CLI exited ({run.returncode}) before the WebSocket:\n{run.output}"
    assert run.seconds < 30, run.seconds

    # the exact sequence of plain HTTP calls before the WebSocket, every one answered 200
    calls = proxy.http()
    assert [(e.method, e.path) for e in calls] == [
        ("POST", "/api/query"), ("POST", "/api/import/start_upload"),
        *[("POST", "/api/import/upload_part")] * n_parts, ("POST", "/api/import/finish_upload")], run.output
    assert [e.status for e in calls] == [200] * len(calls), [(e.path, e.status, e.response[:200]) for e in calls]
    assert all("transfer-encoding" not in e.headers for e in calls)  # the server reads Content-Length only
    # ... and the server saw exactly these (then the socket handshakes), nothing refused before routing
    assert srv.requests[:len(calls)] == [(e.method, e.path) for e in calls]
    assert {p for _, p in srv.requests[len(calls):cli_requests]} == {SYNC_PATH}

    listing, start, *parts, finish = calls
    # 1. queryImport:list through ConvexHttpClient: npm-<version>, not npm-cli
    assert json.loads(listing.body) == {"path": "_system/cli/queryImport:list", "format": "convex_encoded_json",
                                        "args": [{}]}
    assert header(listing, "Convex-Client") == f"npm-{CONVEX_VERSION}"
    assert listing.json() == {"status": "success", "value": []}

    # 2. deploymentFetch: admin key, npm-cli-<semver>, JSON content type unless the call sets one
    for e in (start, *parts, finish):
        assert header(e, "Authorization") == f"Convex {CANARY}"
        assert NPM_CLI_CLIENT.match(header(e, "Convex-Client") or ""), header(e, "Convex-Client")
        assert header(e, "Convex-Client") == f"npm-cli-{CONVEX_VERSION}"
    sent_by_server = [h.get("Convex-Client") or h.get("convex-client") for h in srv.headers[1:len(calls)]]
    assert sent_by_server == [f"npm-cli-{CONVEX_VERSION}"] * (len(calls) - 1)
    assert header(start, "Content-Type") == header(finish, "Content-Type") == "application/json"

    # 3. start_upload: no body, {uploadToken}
    assert start.body == b""
    token = start.json()["uploadToken"]

    # 4. upload_part: the token, part numbers from 1, octet-stream chunks of CHUNK bytes; bare JSON strings back
    assert [e.query for e in parts] == [{"uploadToken": [token], "partNumber": [str(n)]}
                                        for n in range(1, n_parts + 1)]
    assert all(header(e, "Content-Type") == "application/octet-stream" for e in parts)
    assert [len(e.body) for e in parts[:-1]] == [CHUNK] * (n_parts - 1) and 0 < len(parts[-1].body) <= CHUNK
    assert b"".join(e.body for e in parts) == data
    part_tokens = [e.json() for e in parts]
    assert all(isinstance(t, str) for t in part_tokens) and len(set(part_tokens)) == n_parts

    # 5. finish_upload: the field names the server must understand; tableName/componentPath dropped
    assert json.loads(finish.body) == {"import": {"mode": mode, "format": "zip"}, "uploadToken": token,
                                       "partTokens": part_tokens}
    import_id = finish.json()["importId"]
    imp = srv.imports[import_id]
    assert imp["format"] == {"format": "zip"} and imp["mode"] == doc_mode and imp["component_path"] is None
    assert imp["_data"] == data  # parts joined in the CLI's order
    assert imp["state"] == {"state": "uploaded"}  # the CLI only watches from here, over the socket

    # 6. then the WebSocket for queryImport, never HTTP polling and never perform_import (not confirmed yet)
    sockets = [e for e in proxy.exchanges if e.path == SYNC_PATH]
    assert sockets and all(e.method == "GET" and (header(e, "Upgrade") or "").lower() == "websocket"
                           for e in sockets)
    assert proxy.exchanges.index(sockets[0]) == len(calls)

    # 7. what the CLI would do next, over HTTP: confirm and wait; the documents land per the mode sent
    state, seen = confirm_and_wait(srv, import_id)
    assert seen[0] == "waiting_for_confirmation"
    if mode == "requireEmpty":
        assert state["state"] == "failed" and "Table users already exists" in state["error_message"]
        assert stored(srv, "users") == by_id(old_users) and stored(srv, "posts") == by_id(old_posts)
        return
    assert state == {"state": "completed", "timestamp": state["timestamp"], "num_rows_written": len(new_users)}
    expected_users = {**by_id(old_users), **by_id(new_users)} if mode == "append" else by_id(new_users)
    assert stored(srv, "users") == expected_users
    assert stored(srv, "posts") == ({} if mode == "replaceAll" else by_id(old_posts))


def test_cli_reads_the_listed_import_states_and_goes_on_with_yes(cli, deployment, tmp_path):
    """queryImport:list entries are read as ``i.state.state`` (lib/convexImport.js:61): an import the server
    lists as in_progress makes the CLI say so, and ``--yes`` skips the "Start another import?" prompt."""
    srv, proxy = deployment
    # an earlier import, driven over HTTP to in_progress (confirmed, not yet polled to completion)
    earlier = snapshot_bytes([Table("users", USERS, users(2, seed=3))])
    token = json.loads(_post(srv, "/api/import/start_upload")[1])["uploadToken"]
    part = json.loads(_post(srv, f"/api/import/upload_part?uploadToken={token}&partNumber=1", data=earlier,
                            content_type="application/octet-stream")[1])
    earlier_id = json.loads(_post(srv, "/api/import/finish_upload", {
        "import": {"format": "zip", "mode": "replace"}, "uploadToken": token, "partTokens": [part]})[1])["importId"]
    assert query_import(srv, earlier_id)["state"]["state"] == "waiting_for_confirmation"
    _post(srv, "/api/perform_import", {"importId": earlier_id})
    assert srv.imports[earlier_id]["state"]["state"] == "in_progress"

    data = snapshot_bytes([Table("users", USERS, users(40, seed=4))])
    zip_path = tmp_path / "snapshot.zip"
    zip_path.write_bytes(data)
    run = run_import(cli, proxy, tmp_path / "project", zip_path, ["--replace", "--yes"])
    assert run.returncode is None, f"the CLI exited ({run.returncode}) before the WebSocket:\n{run.output}"

    listing, *rest = proxy.http()
    [entry] = json_to_convex(listing.json()["value"])
    assert entry["_id"] == earlier_id and entry["state"]["state"] == "in_progress"
    assert "There is already a snapshot import in progress." in run.output, run.output
    assert "Start another import?" not in run.output
    # it went on: a full upload accepted, a second import document
    assert [e.path for e in rest][-1] == "/api/import/finish_upload" and all(e.status == 200 for e in rest)
    new_id = rest[-1].json()["importId"]
    assert new_id != earlier_id and srv.imports[new_id]["_data"] == data
