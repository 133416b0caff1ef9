"""Second opinion on the Convex test server: the REAL npm ``convex`` ConvexHttpClient calls it.

``tests/support/npm/http_client.mjs`` runs ``ConvexHttpClient`` from ``convex@1.48.0`` (pinned in
``tests/support/npm/package.json``/``package-lock.json``) under node and prints one JSON line per
call: the decoded result (``value`` re-encoded as convex_encoded_json, ``types`` as the JS types the
client produced) or the thrown error, plus the HTTP exchanges the client made (recorded by a
pass-through ``fetch``). What ConvexHttpClient 1.48.0 does (``dist/esm/browser/http_client.js``):

* POST ``{url}/api/query`` | ``/api/mutation`` | ``/api/action`` with headers
  ``Content-Type: application/json``, ``Convex-Client: npm-1.48.0`` and, after
  ``setAdminAuth(key, identity)``, ``Authorization: Convex {key}:{btoa(utf8(JSON.stringify(identity)))}``
  (``Convex {key}`` without an identity; ``Bearer {jwt}`` after ``setAuth``);
* body ``{"path", "format": "convex_encoded_json", "args": [convexToJson(args)]}``;
* a response that is not 2xx and not 560 throws ``new Error(await response.text())``: the body
  verbatim, the HTTP status is NOT in the message;
* otherwise the JSON body's ``status`` decides: ``"success"`` returns ``jsonToConvex(value)``,
  ``"error"`` throws ``Error(errorMessage)`` or, with ``errorData``, a ``ConvexError`` carrying it.

These tests are a second opinion, never the only proof: the Python tests of the server and of
``deedbox.convex`` stand on their own.
"""

from __future__ import annotations

import base64
import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from convex.values import ConvexInt64, convex_to_json

from tests.convex.conftest import CANARY
from tests.support.convex_server import FunctionError

NPM_DIR = Path(__file__).resolve().parents[1] / "support" / "npm"
SCRIPT = NPM_DIR / "http_client.mjs"
CONVEX_VERSION = "1.48.0"
SKIP = "real npm convex client unavailable: node/npm not installed; CI installs them in .ci/run"


def _installed() -> bool:
    meta = NPM_DIR / "node_modules" / "convex" / "package.json"
    try:
        return json.loads(meta.read_text())["version"] == CONVEX_VERSION
    except (OSError, ValueError, KeyError):
        return False


@pytest.fixture(scope="session")
def node() -> str:
    """node, with convex@1.48.0 installed from the lock file (``npm ci`` at most once per session)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"{SKIP} (no node on PATH)")
    # pytest -n: every worker is a session; the lock keeps their `npm ci` runs from interleaving
    with (NPM_DIR / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            npm = shutil.which("npm")
            if npm is None:
                pytest.skip(f"{SKIP} (no npm on PATH, {NPM_DIR}/node_modules/convex missing)")
            proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=NPM_DIR,
                                  capture_output=True, text=True, timeout=600)
            if proc.returncode != 0 or not _installed():
                pytest.skip(f"{SKIP} (npm ci in {NPM_DIR} failed: {(proc.stderr or proc.stdout)[-400:]})")
    return node


def run_client(node: str, url: str, calls: list[dict], *, admin_key: str | None = CANARY,
               acting_as: dict | None = None) -> list[dict]:
    """Run the calls in order in one ConvexHttpClient; one result dict per call."""
    request: dict[str, Any] = {"url": url, "calls": calls}
    if admin_key is not None:
        request["adminKey"] = admin_key
    if acting_as is not None:
        request["actingAs"] = acting_as
    proc = subprocess.run([node, str(SCRIPT)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=60, cwd=NPM_DIR)
    assert proc.returncode == 0, f"http_client.mjs failed ({proc.returncode}): {proc.stderr}"
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert [r["index"] for r in lines] == list(range(len(calls))), proc.stdout + proc.stderr
    return lines


def call(kind: str, path: str, args: dict | None = None) -> dict:
    out: dict[str, Any] = {"kind": kind, "path": path}
    if args is not None:
        out["args"] = convex_to_json(args)  # $integer / $bytes: the script decodes to BigInt / ArrayBuffer
    return out


def ok(result: dict) -> Any:
    assert result["ok"], f"{result['kind']} {result['path']} threw: {result['error']} (http: {result['http']})"
    return result["value"]


def test_query_args_and_result_round_trip_int64_and_bytes(node, server):
    seen: list[dict] = []

    def echo(db, args, identity):
        seen.append(args)
        return {"n": args["n"], "next": ConvexInt64(args["n"].value + 1), "neg": ConvexInt64(-3),
                "blob": args["blob"], "reversed": args["blob"][::-1], "f": args["f"] * 2,
                "list": [args["s"], None, True]}

    server.register_query("values:echo", echo)
    args = {"n": ConvexInt64(2**40 + 7), "blob": b"\x00\xffdeedbox", "f": 1.25, "s": "zoë"}
    [res] = run_client(node, server.url, [call("query", "values:echo", args)])

    # what the server's function got: the client re-encoded BigInt / ArrayBuffer as $integer / $bytes
    assert seen == [args] and isinstance(seen[0]["n"], ConvexInt64) and isinstance(seen[0]["blob"], bytes)
    # what the client decoded the answer to
    assert ok(res) == convex_to_json({"n": ConvexInt64(2**40 + 7), "next": ConvexInt64(2**40 + 8),
                                      "neg": ConvexInt64(-3), "blob": b"\x00\xffdeedbox",
                                      "reversed": b"xobdeed\xff\x00", "f": 2.5, "list": ["zoë", None, True]})
    assert res["types"] == {"n": "bigint", "next": "bigint", "neg": "bigint", "blob": "ArrayBuffer",
                            "reversed": "ArrayBuffer", "f": "number", "list": ["string", "null", "boolean"]}
    # the wire format the server has to accept from the real client
    [http] = res["http"]
    assert http["method"] == "POST" and http["url"] == f"{server.url}/api/query" and http["status"] == 200
    assert http["headers"]["Convex-Client"] == f"npm-{CONVEX_VERSION}"
    assert http["headers"]["Content-Type"] == "application/json"
    assert http["headers"]["Authorization"] == f"Convex {CANARY}"
    assert json.loads(http["body"]) == {"path": "values:echo", "format": "convex_encoded_json",
                                        "args": [convex_to_json(args)]}


def test_mutation_insert_is_visible_to_a_later_query(node, server):
    server.register_mutation("notes:add", lambda db, args, identity: db.insert("notes", {"text": args["text"]}))
    server.register_query("notes:list", lambda db, args, identity: [
        {"id": d["_id"], "text": d["text"]} for d in db.query("notes")])

    added_a, added_b, listed = run_client(node, server.url, [
        call("mutation", "notes:add", {"text": "first"}),
        call("mutation", "notes:add", {"text": "second"}),
        call("query", "notes:list", {}),
    ])
    ids = [ok(added_a), ok(added_b)]
    assert ok(listed) == [{"id": ids[0], "text": "first"}, {"id": ids[1], "text": "second"}]
    assert [d["text"] for d in server.db().query("notes")] == ["first", "second"]
    assert [r["http"][0]["url"].rsplit("/", 1)[1] for r in (added_a, added_b, listed)] == \
        ["mutation", "mutation", "query"]


@pytest.mark.parametrize("kind", ["query", "mutation", "action"])
def test_function_error_is_thrown_by_the_client_with_its_message(node, server, kind):
    def fail(db, args, identity):
        raise FunctionError(f"Uncaught Error: {kind} refused {args['why']}")

    getattr(server, f"register_{kind}")("errors:fail", fail)
    [res] = run_client(node, server.url, [call(kind, "errors:fail", {"why": "politely"})])

    assert not res["ok"]
    assert res["error"] == {"name": "Error", "message": f"Uncaught Error: {kind} refused politely",
                            "convexError": False}
    # ConvexHttpClient reads {status: "error"} bodies from a 2xx or a 560 answer alike
    assert res["http"][0]["status"] in (200, 560)


def test_admin_auth_acting_as_identity_reaches_the_function(node, server):
    seen: list[dict | None] = []

    def whoami(db, args, identity):
        seen.append(identity)
        return identity

    server.register_action("auth:whoami", whoami)
    user = {"issuer": "https://issuer.example", "subject": "user|42", "name": "Zoë Ågren"}
    acting, plain = (
        run_client(node, server.url, [call("action", "auth:whoami", {})], acting_as=user)[0],
        run_client(node, server.url, [call("action", "auth:whoami", {})])[0],
    )
    # the backend fills tokenIdentifier as "issuer|subject" (UserIdentityAttributes::try_from)
    assert ok(acting) == {**user, "tokenIdentifier": "https://issuer.example|user|42"} and ok(plain) is None
    assert seen == [{**user, "tokenIdentifier": "https://issuer.example|user|42"}, None]
    # setAdminAuth(key, identity): "Convex <key>:<base64 of the UTF-8 JSON identity>"
    header = acting["http"][0]["headers"]["Authorization"]
    assert header.startswith(f"Convex {CANARY}:")
    assert json.loads(base64.b64decode(header[len(f"Convex {CANARY}:"):])) == user
    assert plain["http"][0]["headers"]["Authorization"] == f"Convex {CANARY}"


def test_wrong_admin_key_makes_the_client_throw_the_servers_answer(node, server):
    called: list[dict] = []
    server.register_query("values:never", lambda db, args, identity: called.append(args))
    wrong = CANARY.replace("CANARY-SECRET", "WRONG-SECRET")
    [res] = run_client(node, server.url, [call("query", "values:never", {})], admin_key=wrong,
                       acting_as={"issuer": "https://issuer.example", "subject": "u"})

    assert not res["ok"] and not res["error"]["convexError"] and called == []
    # the client throws new Error(await response.text()): the body verbatim, without the status
    body = json.loads(res["error"]["message"])
    assert body["code"] == "BadAdminKey" and body["message"]
    assert res["http"][0]["status"] == 401
