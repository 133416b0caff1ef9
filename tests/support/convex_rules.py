"""The real Convex backend's rules that deedbox depends on, one entry each, with the source it comes from.

``ConvexTestServer`` (``convex_server.py``) and ``ConvexManagementServer`` (``convex_management.py``)
enforce exactly these; ``tests/convex/test_server_rules.py`` has at least one test per rule that
fails when the rule is broken (each marked ``@pytest.mark.convex_rule("<id>")``; a meta test checks
that every id here is covered). Sources are paths in get-convex/convex-backend (read at HEAD
``94a42c3d``, 2026-08-22) or in the npm ``convex`` package 1.48.0 (``npm:``). docs/convex.md lists
the same rules from deedbox's side.

Read the rule, not the double: where the real backend's behaviour could not be read (the cloud
proxy, the Management API server), the entry says so in ``source``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any


class HttpError(Exception):
    """A non-2xx answer: ``{"code": code, "message": message}`` (crates/common/src/http/mod.rs
    ``HttpError::into_response``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Rule:
    id: str
    source: str
    rule: str


RULES: dict[str, Rule] = {}


def _rule(rule_id: str, source: str, text: str) -> Rule:
    RULES[rule_id] = Rule(rule_id, source, text)
    return RULES[rule_id]


# ---- headers ---------------------------------------------------------------------------------
CLIENT_VERSION = _rule(
    "client-version",
    "crates/common/src/version.rs (ClientVersion::from_str, deprecation thresholds in "
    "crates/common/deprecation.json); applied to every route by client_version_state_middleware / "
    "ExtractClientVersion in crates/common/src/http/mod.rs; /version and /metrics are merged after the layer",
    "`Convex-Client` is `{client_name}-{semver}`: a value without `-` is 400 InvalidClientVersion; an absent "
    "header is the unknown client (accepted); known clients at or below their unsupported version "
    "(npm, npm-cli, actions <= 0.19.1; python <= 0.0.2) are 400 ClientVersionUnsupported; any other name is "
    "accepted whatever its version",
)
_UNSUPPORTED_AT_OR_BELOW = {"npm": (0, 19, 1), "npm-cli": (0, 19, 1), "actions": (0, 19, 1),
                            "python": (0, 0, 2), "python-convex": (0, 0, 2), "rust": (0, 0, 1)}
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


def check_client_version(header: str | None) -> None:
    if header is None:
        return  # ClientVersion::unknown()
    parts = header.split("-")
    if len(parts) < 2:
        raise HttpError(400, "InvalidClientVersion",
                        f"Failed to parse client version string: '{header}'. Expected format is "
                        "{client_name}-{semver}, e.g. my-esolang-client-0.0.1")
    for n in range(1, len(parts)):  # the longest semver suffix wins
        match = _SEMVER.match("-".join(parts[n:]))
        if match:
            client, version = "-".join(parts[:n]).lower(), tuple(int(g) for g in match.groups())
            break
    else:
        client, version = parts[0].lower(), None  # Unrecognized version: still parsed
    floor = _UNSUPPORTED_AT_OR_BELOW.get(client)
    if floor is not None and (version is None or version <= floor):
        raise HttpError(400, "ClientVersionUnsupported",
                        f"The Convex {client} package at version {header} is no longer supported.")


AUTH_HEADER = _rule(
    "auth-header",
    "crates/local_backend/src/authentication.rs (ExtractAuthenticationToken::from_request_parts); "
    "crates/keybroker/src/operations.rs (bad_admin_key_error); crates/roles/src/eval.rs",
    "`Authorization`: not visible ASCII is 400 HeaderParseFailure; shorter than 7 characters is 400 "
    "InvalidHeaderFailure; `Convex <key>` (prefix case-insensitive) is an admin key; `Bearer <jwt>` a user "
    "token; anything else 400 InvalidAdminKey; no header is no identity, and admin routes answer 403 BadDeployKey",
)
BAD_DEPLOY_KEY = ("The provided deploy key was invalid for this deployment. Double check that the environment "
                  "this key was generated for matches the desired deployment.")


def parse_authorization(header: str | None) -> tuple[str, str | None] | None:
    """``("admin", key)`` / ``("user", jwt)`` / None (no header)."""
    if header is None:
        return None
    if not header.isascii() or not header.isprintable():
        raise HttpError(400, "HeaderParseFailure", "Failed to parse header")
    if len(header) < 7:
        raise HttpError(400, "InvalidHeaderFailure", "Invalid authentication header")
    if header[:7].lower() == "convex ":
        return "admin", header[7:]
    if header[:7].lower() == "bearer ":
        return "user", header[7:]
    raise HttpError(400, "InvalidAdminKey", "Invalid admin key")


ADMIN_KEY = _rule(
    "admin-key",
    "crates/common/src/types/admin_key.rs (AdminKey::remove_type_prefix); "
    "crates/local_backend/src/authentication.rs (extract_admin_key); "
    "crates/authentication/src/application_auth.rs (check_key)",
    "a key `type:instance|secret` loses its type prefix (`preview:`/`project:` keys keep only the part after "
    "`|`); then the first `:` separates the key from an acting-user identity; a key that is not the "
    "deployment's is 401 BadAdminKey",
)


def split_admin_key(token: str) -> tuple[str, str | None]:
    """``(key without type prefix, acting-user base64 or None)``."""
    head, bar, tail = token.partition("|")
    if bar and ":" in head:
        kind, _, instance = head.partition(":")
        token = tail if kind.lower() in ("preview", "project") else f"{instance}|{tail}"
    key, colon, acting = token.partition(":")
    return key, (acting if colon else None)


def normalise_key(key: str) -> str:
    return split_admin_key(key)[0]


CORS = _rule(
    "cors",
    "crates/local_backend/src/router.rs (cors(), layered over every /api route and `/`; the import routes also "
    "sit inside crates/common/src/http/mod.rs cli_cors()); crates/common/src/http/mod.rs (ConvexHttpService: the "
    "client-version middleware wraps the router, /version and /metrics are merged after its layers); tower-http "
    "0.6.8 (Cargo.lock) src/cors/mod.rs (Cors::call, ResponseFuture), allow_origin.rs (mirror_request), "
    "allow_credentials.rs, allow_headers.rs, max_age.rs, vary.rs",
    "inside the client-version layer every answer carries `Access-Control-Allow-Credentials: true`, `Vary: "
    "origin, access-control-request-method, access-control-request-headers` (appended; twice on the import "
    "routes, which have a second CORS layer) and, when the request has an `Origin`, `Access-Control-Allow-Origin` "
    "set to that origin (never `*`); every OPTIONS request is answered by the layer itself, whatever the path: 200, "
    "empty body, those headers plus `Access-Control-Allow-Methods: GET,POST,OPTIONS,PATCH,DELETE,PUT`, "
    "`Access-Control-Allow-Headers` mirroring `Access-Control-Request-Headers` when sent and "
    "`Access-Control-Max-Age: 86400`; `/version` and client-version refusals carry no CORS headers",
)
CORS_VARY = "origin, access-control-request-method, access-control-request-headers"
CORS_METHODS = "GET,POST,OPTIONS,PATCH,DELETE,PUT"
CLI_CORS_PATHS = ("/api/import", "/api/import/start_upload", "/api/import/upload_part", "/api/import/finish_upload",
                  "/api/perform_import", "/api/cancel_import")


def cors_headers(request: Any, path: str, *, preflight: bool) -> list[tuple[str, str]]:
    """The headers the CORS layer adds (a list: ``Vary`` may repeat); ``request`` has ``.get(name)``."""
    out = [("Access-Control-Allow-Credentials", "true")]
    origin = request.get("Origin")
    if origin is not None:
        out.append(("Access-Control-Allow-Origin", origin))
    if preflight:
        out.append(("Access-Control-Allow-Methods", CORS_METHODS))
        if request.get("Access-Control-Request-Headers") is not None:
            out.append(("Access-Control-Allow-Headers", request.get("Access-Control-Request-Headers")))
        out.append(("Access-Control-Max-Age", "86400"))
    vary = 2 if path in CLI_CORS_PATHS and not preflight else 1  # the outer layer answers OPTIONS alone
    return out + [("Vary", CORS_VARY)] * vary


ACT_AS_USER = _rule(
    "act-as-user",
    "crates/local_backend/src/authentication.rs (extract_admin_key); "
    "crates/convex/sync_types/src/types/json.rs (UserIdentityAttributes::try_from); "
    "crates/udf/src/validation.rs (check_visibility_access: DeploymentOp::ActAsUser)",
    "the acting identity is standard base64 of a JSON object with `tokenIdentifier`, or both `issuer` and "
    "`subject` (tokenIdentifier is then `issuer|subject`); anything else is 400 HeaderParseFailure "
    "\"Malformed Authorization header.\"; a key without deployment:functions:actAsUser is 403 OperationNotPermitted",
)


def parse_identity(acting: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.b64decode(acting, validate=True))
    except (binascii.Error, ValueError):
        raise HttpError(400, "HeaderParseFailure", "Malformed Authorization header.") from None
    if not isinstance(value, dict):
        raise HttpError(400, "HeaderParseFailure", "Malformed Authorization header.")
    if "tokenIdentifier" not in value:
        if not (isinstance(value.get("issuer"), str) and isinstance(value.get("subject"), str)):
            raise HttpError(400, "HeaderParseFailure", "Malformed Authorization header.")
        value = {**value, "tokenIdentifier": f"{value['issuer']}|{value['subject']}"}
    return value


def not_permitted(op: str) -> HttpError:
    return HttpError(403, "OperationNotPermitted",
                     f"You do not have permission to perform this operation ({op}).")


# ---- export ----------------------------------------------------------------------------------
EXPORT_REQUEST = _rule(
    "export-request",
    "crates/local_backend/src/snapshot_export.rs (request_zip_export); crates/application/src/lib.rs "
    "(request_export)",
    "`POST /api/export/request/zip?includeStorage=true|false` answers 200 with an empty body; while an export "
    "is requested or in progress it is 400 ExportInProgress",
)
EXPORT_IN_PROGRESS = "There is already an export requested or in progress."

EXPORT_ROW = _rule(
    "export-row",
    "npm-packages/system-udfs/convex/_system/cli/exports.ts (getLatest); crates/model/src/exports/types.rs "
    "(SerializedExport, tag = state, snake_case)",
    "`_system/cli/exports:getLatest` returns the newest snapshotExport row or null: `requested` has no "
    "start_ts; `in_progress` has start_ts and progress_message; `completed` has start_ts, complete_ts, "
    "expiration_ts, zip_object_key and size; every number is an Int64; format is {format: zip, include_storage}",
)
EXPORT_ROW_FIELDS = {
    "requested": {"format", "component", "requestor", "expiration_ts"},
    "in_progress": {"start_ts", "format", "component", "requestor", "expiration_ts", "progress_message"},
    "completed": {"start_ts", "complete_ts", "expiration_ts", "zip_object_key", "format", "component",
                  "requestor", "size"},
    "failed": {"start_ts", "failed_ts", "format", "component", "requestor"},
}

EXPORT_DOWNLOAD = _rule(
    "export-download",
    "crates/local_backend/src/snapshot_export.rs (get_zip_export); crates/local_backend/src/custom_headers.rs",
    "`GET /api/export/zip/{id}`: id is the export's _id or its start_ts (u64 decimal), else 400 BadSnapshotId; "
    "an unknown one 404 ExportNotFound; the body is the ZIP with Content-Disposition "
    "`attachment; filename=snapshot_{deployment}_{start_ts}.zip` and no Content-Type",
)

# ---- import ----------------------------------------------------------------------------------
IMPORT_ARGS = _rule(
    "import-args",
    "crates/local_backend/src/snapshot_import.rs (ImportQueryArgs, serde camelCase); "
    "crates/model/src/snapshot_imports/types.rs (ImportMode)",
    "import arguments are `format` (required: csv|jsonLines|jsonArray|zip), `mode` "
    "(requireEmpty (default)|append|replace|replaceAll), `tableName`, `componentPath`; unknown keys are "
    "ignored (so `component=` addresses the root); a bad value is 400",
)
IMPORT_FORMATS = ("csv", "jsonLines", "jsonArray", "zip")
IMPORT_MODES = ("requireEmpty", "append", "replace", "replaceAll")


def import_args(args: dict[str, Any]) -> tuple[str, str, str | None]:
    """``(format, mode, componentPath)`` from query or ``import`` body fields; unknown keys ignored."""
    fmt, mode = args.get("format"), args.get("mode", "requireEmpty")
    if fmt not in IMPORT_FORMATS:
        raise HttpError(400, "BadRequest", f"Failed to deserialize query string: format: unknown variant {fmt!r}")
    if mode not in IMPORT_MODES:
        raise HttpError(400, "BadRequest", f"Failed to deserialize query string: mode: unknown variant {mode!r}")
    return fmt, mode, args.get("componentPath") or None


IMPORT_ONE_SHOT = _rule(
    "import-one-shot",
    "crates/local_backend/src/snapshot_import.rs (import); crates/application/src/snapshot_import/mod.rs "
    "(do_import_from_object_key); crates/application/src/snapshot_import/import_error.rs (wrap_import_err)",
    "`POST /api/import` with the file as body answers `{numWritten}` after the whole import; any import error is "
    "400 ImportFailed \"Hit an error while importing:\\n<message>\" (the inner code does not surface)",
)
IMPORT_FAILED_PREFIX = "Hit an error while importing:\n"

IMPORT_CHUNKED = _rule(
    "import-chunked",
    "crates/local_backend/src/snapshot_import.rs (import_start_upload, import_upload_part, "
    "import_finish_upload, perform_import); npm:dist/esm/cli/lib/convexImport.js (uploadForImport)",
    "`start_upload` → {uploadToken}; `upload_part?uploadToken=&partNumber=` (u16, from 1) → the part token as a "
    "bare JSON string; `finish_upload` {import: {format, mode, tableName?, componentPath?}, uploadToken, "
    "partTokens} → {importId}; `perform_import` {importId} → 200 empty body, a no-op unless the import waits "
    "for confirmation",
)

IMPORT_STATE = _rule(
    "import-state",
    "crates/model/src/snapshot_imports/types.rs (SerializedImportState, SerializedSnapshotImport); "
    "npm-packages/system-udfs/convex/_system/cli/queryImport.ts; npm:dist/esm/cli/lib/convexImport.js",
    "`_system/cli/queryImport {importId}` returns the import document whose `state` is a tagged object: "
    "uploaded → waiting_for_confirmation {message_to_confirm, require_manual_confirmation} → (perform_import) "
    "in_progress {progress_message, checkpoint_messages} → completed {timestamp, num_rows_written} or failed "
    "{error_message}; parse errors fail before confirmation; `queryImport:list` returns the newest 20",
)

IMPORT_MODE_RULES = _rule(
    "import-modes",
    "crates/application/src/snapshot_import/mod.rs (prepare_table_for_import, finalize_import)",
    "requireEmpty: a non-empty imported table fails with \"Table {t} already exists. Please choose a new table "
    "name or use replace/append modes.\"; append inserts into the live table; replace writes each imported "
    "table into a new table swapped in at the end; replaceAll also empties every user table of every "
    "component the import does not write",
)

TABLE_NUMBERS = _rule(
    "table-numbers",
    "crates/application/src/snapshot_import/mod.rs (assign_table_numbers, validate_prepared_table_numbers, "
    "prepare_table_for_import); crates/database/src/bootstrap_model/table.rs (table_conflict_error); "
    "crates/database/src/bootstrap_model/import_facing.rs (ImportFacingModel::insert)",
    "a table's number comes from `_tables`, else its first `_id`, else the existing table, else a fresh one; a "
    "number held by a surviving other table is TableConflict; append into a table with another number is "
    "TableNumberConflict \"wants table number\"; a document whose `_id` names another table number is ImportConflict",
)

DOCUMENT_IDS_ON_INSERT = _rule(
    "insert-ids",
    "crates/database/src/committer.rs (check_generated_ids); crates/common/src/knobs.rs "
    "(DOCUMENT_RETENTION_DELAY, default 14 days); crates/database/src/retention.rs",
    "inserting an `_id` that is live in its table is DocumentExists; one whose latest revision is a deletion "
    "still within document retention is DocumentDeleted \"Cannot recreate document with _id X that was deleted. "
    "Try to insert it without an _id or insert into another table.\"; only `append` inserts into the live table "
    "(the other modes write new tables, where neither applies)",
)
DOCUMENT_RETENTION_S = 14 * 24 * 3600

ZIP_ENTRIES = _rule(
    "zip-entries",
    "crates/application/src/snapshot_import/parse.rs (parse_import_file: DOCUMENTS_PATTERN, "
    "COMPONENT_NAME_PATTERN, GENERATED_SCHEMA_PATTERN, STORAGE_FILE_PATTERN; parse_documents_jsonl)",
    "`[_components/<c>/…]<table>/documents.jsonl` is a table (the last directory; other leading directories are "
    "ignored); system tables other than `_tables` and `_storage` are skipped; README.md and unknown files are "
    "ignored; a blank line is JsonInvalidRow \"Row n wasn't valid JSON\"; a row that is not an object is NotAnObject",
)

STORAGE_IMPORT = _rule(
    "storage-import",
    "crates/application/src/snapshot_import/import_file_storage.rs (import_storage_table); "
    "crates/application/src/snapshot_import/mod.rs (import_single_table)",
    "`_storage/<id>[.ext]` blobs drive the file import (a metadata line without a blob is dropped); a ZIP that "
    "carries `_storage` replaces the component's files under replace/replaceAll; files are not counted in "
    "numWritten / num_rows_written",
)

ID_FORMAT = _rule(
    "id-format",
    "crates/value/src/id_v6.rs (DeveloperDocumentId::decode); crates/value/src/base32.rs; "
    "crates/common/src/types/table_name.rs (TableNumber: nonzero u32)",
    "an id is lowercase Crockford base32 of VInt(table number) + 16 bytes + Fletcher-16 footer, 31-37 characters; "
    "table number 0, a non-minimal VInt or one above u32, a bad footer or a non-canonical encoding is invalid",
)

# ---- functions and system queries ------------------------------------------------------------
FUNCTIONS = _rule(
    "functions",
    "crates/local_backend/src/public_api.rs (public_query_post, UdfPostRequest, UdfResponse); "
    "crates/value/src/export.rs (ValueFormat); crates/value/src/json/mod.rs (TryFrom<JsonValue>: every JSON "
    "number is a Float64)",
    "`POST /api/query|mutation|action` {path, args, format?}: format is convex_encoded_json|convex_json|json|"
    "convex_clean_json|export_json, else 400 BadFormat; a plain JSON number in the arguments is a float64 (20 is "
    "20.0; int64 only as {$integer}); the answer is HTTP 200 {status: success, value} or "
    "{status: error, errorMessage, errorData?}, with logLines omitted when empty",
)
VALUE_FORMATS = ("convex_encoded_json", "convex_json", "json", "convex_clean_json", "export_json")

TABLE_SIZE = _rule(
    "table-size",
    "npm-packages/system-udfs/convex/_system/cli/tableSize.ts",
    "`_system/cli/tableSize` takes exactly {tableName} (anything else is an argument validation error) and "
    "returns the root table's document count",
)

TABLES = _rule(
    "tables",
    "npm-packages/system-udfs/convex/_system/cli/tables.ts",
    "`_system/cli/tables` needs {paginationOpts} and returns {page: [{name}], isDone, continueCursor}, "
    "system tables left out, no table numbers",
)

ENV_VARS = _rule(
    "env-vars",
    "crates/local_backend/src/environment_variables.rs; crates/common/src/types/environment_variables.rs; "
    "crates/application/src/lib.rs (update_environment_variables); crates/model/src/environment_variables/mod.rs "
    "(create: system names); crates/udf/src/environment.rs (CONVEX_CLOUD_URL, CONVEX_SITE_URL); "
    "crates/common/src/knobs.rs (ENV_VAR_LIMIT, ENV_VAR_TOTAL_SIZE_LIMIT)",
    "`GET /api/list_environment_variables` → {environmentVariables: {name: value}}; `POST "
    "/api/update_environment_variables` {changes: [{name, value|null}]} → 200 with an empty body (null deletes), "
    "applied in one transaction: names match ^[a-zA-Z_]+[a-zA-Z0-9_]*$ (EnvironmentVariableNameInvalid) of at "
    "most 256 bytes (EnvironmentVariableNameTooLong), values at most 8 KiB (EnvironmentVariableValueTooLarge), "
    "the built-in CONVEX_CLOUD_URL/CONVEX_SITE_URL cannot be set (EnvVarNameForbidden), afterwards at most 512 "
    "variables (EnvVarLimitMet) of at most 512 KiB names+values in all (EnvVarTotalSizeLimitMet); error "
    "messages name variables, never values",
)
ENV_SYSTEM_NAMES = ("CONVEX_CLOUD_URL", "CONVEX_SITE_URL")
ENV_NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")

# ---- Management API (https://api.convex.dev/v1) ----------------------------------------------
MANAGEMENT_CREATE = _rule(
    "management-create-deployment",
    "npm-packages/@convex-dev/platform/management-openapi.json (PlatformCreateDeploymentArgs, "
    "additionalProperties: false); npm:dist/esm/cli/deploymentCreate.js (validateTentativeReference); "
    "npm:dist/esm/cli/lib/expiration.js. The server's own reference check is not in the public source: the "
    "CLI's rule is enforced here",
    "`POST /projects/{id}/create_deployment` {type (dev|prod|preview|custom, required), region?, reference?, "
    "isDefault?, expiresAt? (int64 ms, ≥ 30 minutes and ≤ 1 year ahead), class?}, nothing else; a reference is "
    "3-100 characters of ^[a-z0-9/-]+$, not dev/prod/local and not like `word-word-123`",
)
REFERENCE = re.compile(r"^[a-z0-9/-]+$")


def reference_problem(reference: str) -> str | None:
    if not 3 <= len(reference) <= 100:
        return "Reference must be between 3 and 100 characters"
    if not REFERENCE.match(reference):
        return "Reference can only contain lowercase letters, numbers, hyphens and slashes"
    if reference in ("dev", "prod", "local") or re.match(r"^[a-z]+-[a-z]+-\d+$", reference):
        return f"Reference {reference!r} is reserved"
    return None


MANAGEMENT_KEYS = _rule(
    "management-deploy-key",
    "npm-packages/@convex-dev/platform/management-openapi.json (create_deploy_key, delete)",
    "`POST /deployments/{name}/create_deploy_key` {name} → {deployKey}; `POST /deployments/{name}/delete` → 200 "
    "with an empty body",
)


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def decode_id(doc_id: object) -> int:
    """The table number of a valid id, decoded bit by bit as id_v6.rs does; ValueError otherwise.

    Independent of ``deedbox.convex.ids`` on purpose (a second implementation)."""
    if not isinstance(doc_id, str) or len(doc_id) not in (31, 32, 34, 36, 37):
        raise ValueError(f"invalid _id {doc_id!r}")
    bits = nbits = 0
    data = bytearray()
    for ch in doc_id:
        idx = _CROCKFORD.find(ch)
        if idx < 0:
            raise ValueError(f"invalid _id {doc_id!r}")
        bits, nbits = (bits << 5) | idx, nbits + 5
        if nbits >= 8:
            nbits -= 8
            data.append((bits >> nbits) & 0xFF)
    if bits & ((1 << nbits) - 1):
        raise ValueError(f"invalid _id {doc_id!r} (non-canonical)")
    number = shift = used = 0
    for used, b in enumerate(data[:5], 1):  # noqa: B007 - used is read after the loop
        number |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    else:
        raise ValueError(f"invalid _id {doc_id!r} (table number)")
    minimal = bytearray()
    n = number
    while n >= 0x80:
        minimal.append((n & 0x7F) | 0x80)
        n >>= 7
    minimal.append(n)
    if number == 0 or number >= 2**32 or bytes(minimal) != bytes(data[:used]) or len(data) - used != 18:
        raise ValueError(f"invalid _id {doc_id!r} (table number)")
    c0 = c1 = 0
    for b in data[:-2]:
        c0 = (c0 + b) & 0xFF
        c1 = (c1 + c0) & 0xFF
    if bytes(data[-2:]) != bytes([c0, c1]):
        raise ValueError(f"invalid _id {doc_id!r} (footer)")
    return number
