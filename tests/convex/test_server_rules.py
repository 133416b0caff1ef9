"""Every rule of ``tests/support/convex_rules.py``, proven against the test server over raw HTTP.

Each test is marked with the rule it proves and fails when the server stops enforcing it; the last
test checks that no rule is left without one. What the rules say, and where in convex-backend or
the npm CLI each comes from, is in the rules module.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from pathlib import Path

import pytest
import requests
from convex.values import ConvexInt64

from tests.support import convex_rules as R
from tests.support.convex_management import ConvexManagementServer
from tests.support.convex_server import ConvexTestServer
from tests.support.snapshots import StoredFile, Table, make_id, snapshot_bytes

KEY = "prod:happy-otter-123|s3cr3t"
U1, U2 = make_id(10001, b"\x01" * 16), make_id(10001, b"\x02" * 16)
P1 = make_id(10002, b"\x03" * 16)


@pytest.fixture
def srv():
    with ConvexTestServer(admin_key=KEY, export_polls=1) as s:
        yield s


def call(srv, method, path, *, key: str | None = KEY, client: str | None = "test-client-1.0.0",
         headers=None, **kw) -> requests.Response:
    h = {} if client is None else {"Convex-Client": client}
    if key is not None:
        h["Authorization"] = f"Convex {key}"
    h.update(headers or {})
    return requests.request(method, srv.url + path, headers=h, timeout=10, **kw)


def query(srv, path, args=None, **kw):
    return call(srv, "POST", "/api/query", json={"path": path, "args": args or {}, "format": "json"}, **kw)


def code(resp) -> tuple[int, str]:
    return resp.status_code, resp.json().get("code")


def base() -> bytes:
    return snapshot_bytes([Table("users", 10001, [{"_id": U1, "_creationTime": 1.0, "n": 1}]),
                           Table("posts", 10002, [{"_id": P1, "_creationTime": 2.0, "t": "x"}])])


def one_shot(srv, data: bytes, **params) -> requests.Response:
    return call(srv, "POST", "/api/import", params={"format": "zip", **params}, data=data)


def chunked(srv, data: bytes, mode="requireEmpty", component=None, confirm=True) -> dict:
    token = call(srv, "POST", "/api/import/start_upload").json()["uploadToken"]
    part = call(srv, "POST", "/api/import/upload_part", params={"uploadToken": token, "partNumber": 1},
                data=data).json()
    spec = {"format": "zip", "mode": mode, **({"componentPath": component} if component else {})}
    import_id = call(srv, "POST", "/api/import/finish_upload",
                     json={"import": spec, "uploadToken": token, "partTokens": [part]}).json()["importId"]
    seen = []
    for _ in range(10):
        doc = query(srv, "_system/cli/queryImport", {"importId": import_id}).json()["value"]
        seen.append(doc["state"]["state"])
        if doc["state"]["state"] == "waiting_for_confirmation" and confirm:
            assert call(srv, "POST", "/api/perform_import", json={"importId": import_id}).content == b""
        if doc["state"]["state"] in ("completed", "failed") or not confirm and len(seen) > 3:
            return {"doc": doc, "seen": seen, "id": import_id}
    raise AssertionError(seen)


# ---- headers ---------------------------------------------------------------------------------
@pytest.mark.convex_rule("client-version")
@pytest.mark.parametrize("header, status", [
    ("deedbox", 400), ("npm", 400), ("npm-0.19.1", 400), ("npm-cli-0.1.0", 400), ("python-0.0.2", 400),
    ("deedbox-0.1.0", 200), ("npm-1.48.0", 200), ("npm-cli-1.48.0", 200), ("python-0.8.1", 200),
    ("my-esolang-client-0.0.1", 200), ("anything-goes", 200), (None, 200),
])
def test_client_version_header(srv, header, status):
    resp = query(srv, "_system/cli/exports:getLatest", client=header)
    assert resp.status_code == status, resp.text
    if header in ("deedbox", "npm"):
        assert code(resp) == (400, "InvalidClientVersion")
        assert resp.json()["message"] == (f"Failed to parse client version string: '{header}'. Expected format "
                                          "is {client_name}-{semver}, e.g. my-esolang-client-0.0.1")
    elif status == 400:
        assert code(resp) == (400, "ClientVersionUnsupported")


@pytest.mark.convex_rule("client-version")
def test_version_route_is_outside_the_client_check(srv):
    assert call(srv, "GET", "/version", client="deedbox", key=None).status_code == 200


@pytest.mark.convex_rule("auth-header")
@pytest.mark.parametrize("header, expected", [
    ("Convex", (400, "InvalidHeaderFailure")), ("Basic abcdefgh", (400, "InvalidAdminKey")),
    ("Bearer eyJ.x.y", (401, "NoAuthProvider")), ("convex " + KEY, (200, None)),
])
def test_authorization_header_forms(srv, header, expected):
    resp = call(srv, "POST", "/api/export/request/zip", key=None, headers={"Authorization": header})
    assert (resp.status_code, resp.json().get("code") if resp.content else None) == expected


@pytest.mark.convex_rule("auth-header")
def test_no_header_is_no_identity(srv):
    srv.register_query("public:hello", lambda db, args, identity: identity)
    assert query(srv, "public:hello", key=None).json() == {"status": "success", "value": None}
    assert code(call(srv, "POST", "/api/export/request/zip", key=None)) == (403, "BadDeployKey")
    assert code(query(srv, "_system/cli/exports:getLatest", key=None)) == (403, "BadDeployKey")


@pytest.mark.convex_rule("admin-key")
def test_key_type_prefix_and_wrong_key(srv):
    assert call(srv, "POST", "/api/export/request/zip", key="happy-otter-123|s3cr3t").status_code == 200
    assert call(srv, "POST", "/api/export/request/zip", key="dev:happy-otter-123|s3cr3t").status_code == 400  # in progress
    assert code(call(srv, "POST", "/api/export/request/zip", key="prod:happy-otter-123|wrong")) == (401, "BadAdminKey")
    assert R.split_admin_key("preview:team:proj|secret") == ("secret", None)


@pytest.mark.convex_rule("cors")
def test_cors_preflight_mirrors_origin_and_headers(srv):
    pre = call(srv, "OPTIONS", "/api/query", key=None, client=None,
               headers={"Origin": "http://127.0.0.1:4173", "Access-Control-Request-Method": "POST",
                        "Access-Control-Request-Headers": "content-type,convex-client"})
    assert pre.status_code == 200 and pre.content == b""
    assert {k: pre.headers.get(k) for k in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                                            "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                                            "Access-Control-Max-Age", "Vary")} == {
        "Access-Control-Allow-Origin": "http://127.0.0.1:4173", "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "GET,POST,OPTIONS,PATCH,DELETE,PUT",
        "Access-Control-Allow-Headers": "content-type,convex-client", "Access-Control-Max-Age": "86400",
        "Vary": "origin, access-control-request-method, access-control-request-headers"}
    bare = call(srv, "OPTIONS", "/api/anything", key=None, client=None)  # any path, no Origin: no ACAO, never *
    assert bare.status_code == 200 and "Access-Control-Allow-Origin" not in bare.headers
    assert "Access-Control-Allow-Headers" not in bare.headers and bare.headers["Access-Control-Max-Age"] == "86400"
    assert call(srv, "OPTIONS", "/version", key=None, client=None).status_code == 405


@pytest.mark.convex_rule("cors")
def test_cors_headers_on_answers(srv):
    srv.register_query("public:hello", lambda db, args, identity: "hi")
    origin = {"Origin": "http://localhost:5173"}
    ok = query(srv, "public:hello", key=None, headers=origin)
    assert ok.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert ok.headers["Access-Control-Allow-Credentials"] == "true" and "Access-Control-Max-Age" not in ok.headers
    refused = call(srv, "POST", "/api/export/request/zip", key="prod:happy-otter-123|wrong", headers=origin)
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    start = call(srv, "POST", "/api/import/start_upload", headers=origin)  # two CORS layers: Vary twice
    assert start.raw.headers.getlist("Vary") == [R.CORS_VARY, R.CORS_VARY]
    assert "Access-Control-Allow-Origin" not in query(srv, "public:hello", client="npm", headers=origin).headers
    assert "Access-Control-Allow-Origin" not in call(srv, "GET", "/version", key=None, headers=origin).headers


@pytest.mark.convex_rule("act-as-user")
def test_acting_identity(srv):
    srv.register_query("users:me", lambda db, args, identity: identity)

    def as_(doc) -> requests.Response:
        b64 = base64.b64encode(json.dumps(doc).encode()).decode()
        return query(srv, "users:me", key=f"{KEY}:{b64}")

    assert as_({"issuer": "https://i", "subject": "s"}).json()["value"]["tokenIdentifier"] == "https://i|s"
    assert as_({"tokenIdentifier": "t"}).json()["value"] == {"tokenIdentifier": "t"}
    assert code(as_({"issuer": "https://i"})) == (400, "HeaderParseFailure")
    assert code(query(srv, "users:me", key=f"{KEY}:not-base64!")) == (400, "HeaderParseFailure")
    srv.act_as_user = False
    resp = as_({"issuer": "https://i", "subject": "s"})
    assert code(resp) == (403, "OperationNotPermitted") and "deployment:functions:actAsUser" in resp.json()["message"]


# ---- export ----------------------------------------------------------------------------------
@pytest.mark.convex_rule("export-request")
def test_export_request_answers_empty_and_refuses_a_second(srv):
    srv.export_polls = 5
    first = call(srv, "POST", "/api/export/request/zip", params={"includeStorage": "true"})
    assert first.status_code == 200 and first.content == b""
    second = call(srv, "POST", "/api/export/request/zip")
    assert code(second) == (400, "ExportInProgress") and second.json()["message"] == R.EXPORT_IN_PROGRESS


@pytest.mark.convex_rule("export-row")
def test_export_rows_carry_the_fields_of_their_state(srv):
    states = []
    srv.export_polls = 3
    call(srv, "POST", "/api/export/request/zip")
    for _ in range(3):
        value = call(srv, "POST", "/api/query", json={"path": "_system/cli/exports:getLatest", "args": {},
                                                      "format": "convex_encoded_json"}).json()["value"]
        states.append(value)
    assert [s["state"] for s in states] == ["requested", "in_progress", "completed"]
    for row in states:
        assert set(row) - {"_id", "_creationTime", "state"} == R.EXPORT_ROW_FIELDS[row["state"]]
    assert "start_ts" not in states[0]
    assert set(states[2]["start_ts"]) == {"$integer"} and set(states[2]["size"]) == {"$integer"}
    assert states[2]["format"] == {"format": "zip", "include_storage": False}


@pytest.mark.convex_rule("export-download")
def test_export_download_by_timestamp_or_id(srv):
    srv.load_zip(base())
    call(srv, "POST", "/api/export/request/zip")
    row = query(srv, "_system/cli/exports:getLatest").json()["value"]
    by_ts = call(srv, "GET", f"/api/export/zip/{row['start_ts']}")
    assert by_ts.status_code == 200 and by_ts.content[:2] == b"PK"
    assert by_ts.headers["Content-Disposition"] == f"attachment; filename=snapshot_happy-otter-123_{row['start_ts']}.zip"
    assert "Content-Type" not in by_ts.headers
    assert call(srv, "GET", f"/api/export/zip/{row['_id']}").content == by_ts.content
    assert code(call(srv, "GET", "/api/export/zip/not-an-id")) == (400, "BadSnapshotId")
    assert code(call(srv, "GET", "/api/export/zip/123")) == (404, "ExportNotFound")


# ---- import ----------------------------------------------------------------------------------
@pytest.mark.convex_rule("import-args")
def test_import_arguments(srv):
    assert code(one_shot(srv, base(), mode="overwrite")) == (400, "BadRequest")
    assert call(srv, "POST", "/api/import", params={"mode": "append"}, data=base()).status_code == 400  # no format
    data = snapshot_bytes([Table("badges", 10001, [{"_id": U1, "_creationTime": 1.0}])])
    assert one_shot(srv, data, component="a/b").json() == {"numWritten": 1}  # unknown key: ignored
    assert "badges" in srv.deployment.component("") and "a/b" not in srv.deployment.tables
    assert one_shot(srv, data, componentPath="a/b").json() == {"numWritten": 1}
    assert "badges" in srv.deployment.component("a/b")


@pytest.mark.convex_rule("import-one-shot")
def test_one_shot_import_wraps_every_error(srv):
    assert one_shot(srv, base()).json() == {"numWritten": 2}
    again = one_shot(srv, base())
    assert code(again) == (400, "ImportFailed")
    assert again.json()["message"].startswith("Hit an error while importing:\nTable ")


@pytest.mark.convex_rule("import-chunked")
def test_chunked_upload_shapes(srv):
    start = call(srv, "POST", "/api/import/start_upload")
    token = start.json()["uploadToken"]
    part = call(srv, "POST", "/api/import/upload_part", params={"uploadToken": token, "partNumber": 1}, data=b"PK")
    assert isinstance(part.json(), str)  # a bare JSON string
    bad = call(srv, "POST", "/api/import/upload_part", params={"uploadToken": token, "partNumber": 70000}, data=b"x")
    assert bad.status_code == 400  # partNumber is a u16
    done = chunked(srv, base())
    assert done["doc"]["state"]["state"] == "completed"
    unknown = call(srv, "POST", "/api/perform_import", json={"importId": make_id(21, bytes(16))})
    assert code(unknown) == (400, "InvalidImport")


@pytest.mark.convex_rule("import-state")
def test_import_state_machine(srv):
    done = chunked(srv, base())
    assert done["seen"] == ["waiting_for_confirmation", "completed"]  # uploaded moves on at the first poll
    state = done["doc"]["state"]
    assert set(state) == {"state", "timestamp", "num_rows_written"} and state["num_rows_written"] == 2
    assert done["doc"]["mode"] == "RequireEmpty" and done["doc"]["requestor"] == {"type": "snapshotImport"}
    held = chunked(srv, base(), mode="replace", confirm=False)
    assert set(held["seen"]) == {"waiting_for_confirmation"}  # nothing happens without perform_import
    bad = chunked(srv, b"not a zip")
    assert bad["seen"] == ["failed"]  # parse errors fail before confirmation
    assert bad["doc"]["state"]["error_message"].startswith(R.IMPORT_FAILED_PREFIX)
    listed = query(srv, "_system/cli/queryImport:list").json()["value"]
    assert [i["_id"] for i in listed] == [bad["id"], held["id"], done["id"]]


@pytest.mark.convex_rule("import-modes")
def test_import_modes(srv):
    assert one_shot(srv, base()).status_code == 200
    extra = snapshot_bytes([Table("users", 10001, [{"_id": U2, "_creationTime": 3.0}])])
    assert one_shot(srv, extra, mode="append").json() == {"numWritten": 1}
    assert len(srv.deployment.component("")["users"].docs) == 2
    assert one_shot(srv, extra, mode="replace").json() == {"numWritten": 1}
    assert len(srv.deployment.component("")["users"].docs) == 1 and "posts" in srv.deployment.component("")
    one_shot(srv, snapshot_bytes([Table("badges", 10001, [{"_id": U1, "_creationTime": 1.0}])]), componentPath="c")
    assert one_shot(srv, extra, mode="replaceAll").json() == {"numWritten": 1}
    assert set(srv.deployment.component("")) == {"users"} and not srv.deployment.component("c")


@pytest.mark.convex_rule("table-numbers")
def test_table_numbers(srv):
    one_shot(srv, base())
    clash = snapshot_bytes([Table("comments", 10001, [{"_id": U2, "_creationTime": 1.0}])])
    assert "conflict with existing table `users`" in one_shot(srv, clash, mode="append").json()["message"]
    moved = snapshot_bytes([Table("users", 10003, [{"_id": make_id(10003, bytes(16)), "_creationTime": 1.0}])])
    assert "wants table number 10003 but was already assigned 10001" in one_shot(srv, moved, mode="append").json()["message"]
    wrong = snapshot_bytes([Table("users", 10001, [{"_id": P1, "_creationTime": 1.0}])])
    assert "cannot be imported into 'users'" in one_shot(srv, wrong, mode="replace").json()["message"]
    no_index = snapshot_bytes([Table("likes", 10009, [{"_id": make_id(10009, bytes(16)), "_creationTime": 1.0}])],
                              with_tables_index=False)
    assert one_shot(srv, no_index, mode="append").status_code == 200  # number from the first _id
    assert srv.deployment.component("")["likes"].number == 10009


@pytest.mark.convex_rule("insert-ids")
def test_document_exists_and_document_deleted(srv):
    one_shot(srv, base())
    again = snapshot_bytes([Table("users", 10001, [{"_id": U1, "_creationTime": 1.0}])])
    assert "Cannot create document with _id" in one_shot(srv, again, mode="append").json()["message"]
    srv.db().delete("users", U1)
    deleted = one_shot(srv, again, mode="append").json()["message"]
    assert f"Cannot recreate document with _id {U1} that was deleted" in deleted
    assert one_shot(srv, again, mode="replace").json() == {"numWritten": 1}  # a new table: no tombstone
    srv.db().delete("users", U1)
    srv.clock = lambda: time.time() + R.DOCUMENT_RETENTION_S + 60  # retention has removed the tombstone
    assert one_shot(srv, again, mode="append").json() == {"numWritten": 1}


@pytest.mark.convex_rule("zip-entries")
def test_zip_entries(srv):
    buf = io.BytesIO()
    import zipfile
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.md", "hello")
        zf.writestr("snapshot/users/documents.jsonl", json.dumps({"_id": U1, "_creationTime": 1.0}) + "\n")
        zf.writestr("_scheduled_functions/documents.jsonl", "{}\n")
        zf.writestr("notes.txt", "ignored")
    assert one_shot(srv, buf.getvalue()).json() == {"numWritten": 1}
    assert set(srv.deployment.component("")) == {"users"}
    blank = snapshot_bytes([Table("posts", 10002, raw_lines=[json.dumps({"_id": P1, "_creationTime": 1.0}).encode(), b""])])
    assert "Row 2 wasn't valid JSON" in one_shot(srv, blank, mode="replace").json()["message"]
    array = snapshot_bytes([Table("posts", 10002, raw_lines=[b"[1]"])])
    assert one_shot(srv, array, mode="replace").status_code == 400


@pytest.mark.convex_rule("storage-import")
def test_storage_import(srv):
    f1, f2 = make_id(8, b"\x05" * 16), make_id(8, b"\x06" * 16)
    data = snapshot_bytes([], files=[StoredFile(f1, b"one")])
    assert one_shot(srv, data).json() == {"numWritten": 0}  # files are not counted
    assert set(srv.deployment.files[""]) == {f1}
    assert one_shot(srv, snapshot_bytes([], files=[StoredFile(f2, b"two")]), mode="replace").json()["numWritten"] == 0
    assert set(srv.deployment.files[""]) == {f2}  # replace replaces the component's files


# ---- functions and system queries ------------------------------------------------------------
@pytest.mark.convex_rule("functions")
def test_function_calls(srv):
    srv.register_query("posts:count", lambda db, args, identity: ConvexInt64(2**40))
    ok = call(srv, "POST", "/api/query", json={"path": "posts:count", "args": {}, "format": "convex_encoded_json"})
    assert ok.status_code == 200 and ok.json() == {"status": "success", "value": {"$integer": base64.b64encode(
        (2**40).to_bytes(8, "little", signed=True)).decode()}}
    missing = query(srv, "posts:nope")
    assert missing.status_code == 200 and missing.json()["status"] == "error" and "logLines" not in missing.json()
    assert code(call(srv, "POST", "/api/query", json={"path": "posts:count", "args": {}, "format": "xml"})) == \
        (400, "BadFormat")
    # a plain JSON number, as a browser's JSON.stringify writes {limit: 20}, is a float64
    srv.register_query("posts:echo", lambda db, args, identity: [type(args["limit"]).__name__, args["limit"]])
    echoed = call(srv, "POST", "/api/query", json={"path": "posts:echo", "args": {"limit": 20},
                                                   "format": "convex_encoded_json"})
    assert echoed.json() == {"status": "success", "value": ["float", 20.0]}


@pytest.mark.convex_rule("table-size")
def test_table_size(srv):
    one_shot(srv, base())
    assert query(srv, "_system/cli/tableSize", {"tableName": "users"}).json()["value"] == 1
    extra = query(srv, "_system/cli/tableSize", {"tableName": "users", "componentPath": "a"}).json()
    assert extra["status"] == "error" and "ArgumentValidationError" in extra["errorMessage"]


@pytest.mark.convex_rule("tables")
def test_tables(srv):
    one_shot(srv, base())
    assert query(srv, "_system/cli/tables").json()["status"] == "error"  # paginationOpts is required
    page = query(srv, "_system/cli/tables", {"paginationOpts": {"numItems": 10, "cursor": None}}).json()["value"]
    assert page == {"page": [{"name": "users"}, {"name": "posts"}], "isDone": True, "continueCursor": "end"}


@pytest.mark.convex_rule("env-vars")
def test_environment_variables(srv):
    update = call(srv, "POST", "/api/update_environment_variables",
                  json={"changes": [{"name": "STRIPE_SECRET_KEY", "value": "sk"}, {"name": "X", "value": "1"}]})
    assert update.status_code == 200 and update.content == b""
    call(srv, "POST", "/api/update_environment_variables", json={"changes": [{"name": "X", "value": None}]})
    listed = call(srv, "GET", "/api/list_environment_variables").json()
    assert listed == {"environmentVariables": {"STRIPE_SECRET_KEY": "sk"}}
    bad = call(srv, "POST", "/api/update_environment_variables", json={"changes": [{"name": "1BAD", "value": "v"}]})
    assert code(bad) == (400, "EnvironmentVariableNameInvalid")
    big = call(srv, "POST", "/api/update_environment_variables", json={"changes": [{"name": "B", "value": "v" * 9000}]})
    assert code(big) == (400, "EnvironmentVariableValueTooLarge") and "vvvv" not in big.text
    builtin = call(srv, "POST", "/api/update_environment_variables",
                   json={"changes": [{"name": "Y", "value": "1"}, {"name": "CONVEX_SITE_URL", "value": "x"}]})
    assert code(builtin) == (400, "EnvVarNameForbidden")
    total = call(srv, "POST", "/api/update_environment_variables",
                 json={"changes": [{"name": f"V{i}", "value": "v" * 8000} for i in range(70)]})
    assert code(total) == (400, "EnvVarTotalSizeLimitMet")
    # one transaction: nothing of a refused update was applied
    assert call(srv, "GET", "/api/list_environment_variables").json() == listed


# ---- Management API --------------------------------------------------------------------------
def _mgmt(api, path, body):
    return requests.post(api.url + path, json=body, headers={"Authorization": "Bearer t"}, timeout=10)


@pytest.mark.convex_rule("management-create-deployment")
def test_management_create_deployment():
    soon = int(time.time() * 1000) + 3600_000
    with ConvexManagementServer("t") as api:
        ok = _mgmt(api, "/projects/1/create_deployment", {"type": "dev", "reference": "drill-20261127t060000z",
                                                          "expiresAt": soon})
        assert ok.status_code == 200 and ok.json()["deploymentUrl"].startswith("https://")
        for body in ({"type": "dev", "reference": "drill-20261127T060000Z"}, {"type": "dev", "reference": "ab"},
                     {"type": "dev", "reference": "dev"}, {"reference": "drill-x1"},
                     {"type": "dev", "expiresAt": soon + 0.5}, {"type": "dev", "expiresAt": int(time.time() * 1000)},
                     {"type": "dev", "expiresAt": soon + 400 * 86400_000}, {"type": "dev", "name": "x"}):
            assert _mgmt(api, "/projects/1/create_deployment", body).status_code == 400, body


@pytest.mark.convex_rule("management-deploy-key")
def test_management_deploy_key_and_delete():
    with ConvexManagementServer("t") as api:
        name = _mgmt(api, "/projects/1/create_deployment", {"type": "dev"}).json()["name"]
        assert "deployKey" in _mgmt(api, f"/deployments/{name}/create_deploy_key", {"name": "k"}).json()
        gone = _mgmt(api, f"/deployments/{name}/delete", None)
        assert gone.status_code == 200 and gone.content == b""


def test_every_rule_has_a_test():
    marked = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        marked |= set(re.findall(r'convex_rule\("([a-z0-9-]+)"\)', path.read_text()))
    assert set(R.RULES) - marked == set()
    assert all(rule.source and rule.rule for rule in R.RULES.values())
