"""Convex deployment HTTP API client: snapshot export/download, ZIP import, functions.

Follows the Convex CLI's conventions (``CONVEX_DEPLOY_KEY``, or ``CONVEX_SELF_HOSTED_URL`` +
``CONVEX_SELF_HOSTED_ADMIN_KEY``) and its endpoints (see the project design notes on the Convex HTTP API).
Function arguments and results travel in ``convex_encoded_json`` through the ``convex``
package's codec; results come back as plain Python values (Int64 as ``int``, bytes as ``bytes``).
Every wait has a deadline; keys never appear in messages or logs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast
from urllib.parse import urlsplit

import requests
from convex.values import ConvexInt64, convex_to_json, json_to_convex

from deedbox.config.model import Identity
from deedbox.convex.importer import import_chunked
from deedbox.convex.stream import GuardedStream
from deedbox.convex.transport import Transport
from deedbox.errors import ConvexError, EnvironmentProblem, UsageError

EXPORTS_LATEST = "_system/cli/exports:getLatest"


@dataclass(frozen=True)
class ExportStatus:
    """One row of Convex's export table, as ``exports:getLatest`` returns it."""

    state: str  # requested | in_progress | completed | failed | canceled
    start_ts: int | None = None
    complete_ts: int | None = None
    zip_object_key: str | None = None
    expiration_ts: int | None = None
    size: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_value(cls, v: Mapping[str, Any]) -> ExportStatus:
        def num(name: str) -> int | None:
            x = v.get(name)
            return int(x) if isinstance(x, (int, float)) else None
        return cls(str(v.get("state", "unknown")), num("start_ts"), num("complete_ts"),
                   v.get("zip_object_key"), num("expiration_ts"), num("size"), dict(v))


def _plain(v: Any) -> Any:
    """Convex values -> plain Python (ConvexInt64 -> int), recursively."""
    if isinstance(v, ConvexInt64):
        return v.value
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def identity_header(identity: Identity) -> str:
    """base64 of the JSON user identity used by admin "act as user" calls."""
    doc = {"issuer": identity.issuer, "subject": identity.subject,
           "tokenIdentifier": f"{identity.issuer}|{identity.subject}"}
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode("ascii")


def _deployment_of_key(key: str) -> str | None:
    """``prod:happy-otter-123|secret`` -> ``happy-otter-123`` (dev/prod deploy keys only)."""
    head = key.split("|", 1)[0]
    if ":" in head and "|" in key and head.split(":", 1)[0] in ("dev", "prod"):
        name = head.split(":", 1)[1]
        if name and all(c.isalnum() or c == "-" for c in name):
            return name
    return None


def _is_home(url: str, name: str) -> bool:
    """``https://<name>.convex.cloud`` or a regional ``https://<name>.<region>.convex.cloud``
    (EU deployments: ``<name>.eu-west-1.convex.cloud``, management-openapi.json ``deploymentUrl``)."""
    host = (urlsplit(url).hostname or "").lower()
    labels = host.split(".")
    return (host.endswith(".convex.cloud") and labels[0] == name and len(labels) in (3, 4))


def require_deployment_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; UsageError (exit 2) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url!r} is not a Convex deployment URL (expected http(s)://host)")
    return url


def _is_loopback(url: str) -> bool:
    """A local address (a self-hosted backend or proxy on this machine): the key stays here."""
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


class ConvexClient:
    """A Convex deployment, reached with its deploy key or self-hosted admin key."""

    def __init__(self, url: str, key: str, *, timeout: float = 30.0, retries: int = 4,
                 backoff: float = 0.5, session: requests.Session | None = None) -> None:
        require_deployment_url(url)
        self.url = url.rstrip("/")
        self._t = Transport(self.url, key, timeout=timeout, retries=retries, backoff=backoff,
                            session=session)

    def __repr__(self) -> str:
        return f"ConvexClient({self.url!r})"

    @classmethod
    def from_env(cls, url: str | None = None, *, env: Mapping[str, str] = os.environ,
                 key_env: str | None = None) -> ConvexClient:
        """Build a client from the environment; EnvironmentProblem names the missing VARIABLE."""
        names = [key_env] if key_env else (
            ["CONVEX_DEPLOY_KEY", "CONVEX_SELF_HOSTED_ADMIN_KEY"] if url
            else ["CONVEX_SELF_HOSTED_ADMIN_KEY", "CONVEX_DEPLOY_KEY"])
        if not url and env.get("CONVEX_SELF_HOSTED_URL"):
            url, names = env["CONVEX_SELF_HOSTED_URL"], [key_env or "CONVEX_SELF_HOSTED_ADMIN_KEY"]
        name = next((n for n in names if env.get(n)), None)
        if name is None:
            raise EnvironmentProblem(f"environment variable {names[0]} is not set "
                                     "(the Convex deploy/admin key)")
        key = env[name]
        home = _deployment_of_key(key)
        # The CLI asks the dashboard for a key's URL (deployment/url_for_key); without that, a key
        # alone gives the default-region URL: EU deployments must set their URL.
        url = url or (f"https://{home}.convex.cloud" if home else None)
        if not url:
            raise EnvironmentProblem("no Convex URL: set source.convex.url or CONVEX_SELF_HOSTED_URL")
        if home and not _is_home(url, home) and not _is_loopback(url):
            raise EnvironmentProblem(f"the key in {name} belongs to deployment {home}, not {url.rstrip('/')}: "
                                     "refusing to send it to another host; set that deployment's own key")
        return cls(url, key)

    # ---- functions ---------------------------------------------------------------------------
    def _function(self, kind: str, path: str, args: dict | None, as_user: Identity | None,
                  idempotent: bool) -> Any:
        body = {"path": path, "args": convex_to_json(args or {}), "format": "convex_encoded_json"}
        ident = identity_header(as_user) if as_user else None
        resp = self._t.call("POST", f"/api/{kind}", json=body, identity_b64=ident,
                            idempotent=idempotent, function=True)
        try:
            out = resp.json()
        except ValueError:
            raise ConvexError(f"Convex {kind} {path}: response is not JSON") from None
        if out.get("status") == "success":
            return _plain(json_to_convex(out.get("value")))
        message = out.get("errorMessage") or "function failed"
        raise ConvexError(self._t.mask(f"Convex {kind} {path} failed: {message}"))

    def query(self, path: str, args: dict | None = None, *,
              as_user: Identity | None = None) -> Any:
        """Run a query function; ConvexError carries the function's errorMessage."""
        return self._function("query", path, args, as_user, idempotent=True)

    def mutation(self, path: str, args: dict | None = None, *,
                 as_user: Identity | None = None) -> Any:
        return self._function("mutation", path, args, as_user, idempotent=False)

    def action(self, path: str, args: dict | None = None, *,
               as_user: Identity | None = None) -> Any:
        return self._function("action", path, args, as_user, idempotent=False)

    def table_size(self, table: str) -> int:
        return int(self.query("_system/cli/tableSize", {"tableName": table}))

    # ---- environment variables ---------------------------------------------------------------
    def list_environment_variables(self) -> dict[str, str]:
        """The deployment's environment variables (``GET /api/list_environment_variables``).

        Values stay in this process: callers compare them by fingerprint and never print them.
        """
        resp = self._t.call("GET", "/api/list_environment_variables")
        try:
            found = resp.json().get("environmentVariables")
        except (ValueError, AttributeError):
            found = None
        if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
            raise ConvexError("Convex list_environment_variables: unexpected response shape")
        return {str(k): v for k, v in found.items()}

    def update_environment_variables(self, changes: Mapping[str, str | None]) -> None:
        """Set (or, for None, delete) variables in one transaction (``POST /api/update_environment_variables``).

        Setting a variable to a value (or deleting it) twice ends in the same state, so a lost answer
        is retried like a read.
        """
        body = {"changes": [{"name": k, "value": v} for k, v in sorted(changes.items())]}
        self._t.call("POST", "/api/update_environment_variables", json=body).close()

    # ---- export ------------------------------------------------------------------------------
    def request_export(self, *, include_storage: bool) -> None:
        """Ask for a new snapshot export (ConvexError if one is already running)."""
        flag = "true" if include_storage else "false"
        self._t.call("POST", f"/api/export/request/zip?includeStorage={flag}").close()

    def latest_export(self) -> ExportStatus | None:
        value = self.query(EXPORTS_LATEST)
        return ExportStatus.from_value(value) if value else None

    def wait_for_export(self, *, deadline_s: float = 3600, poll_s: float = 2.0,
                        newer_than: int | None = None) -> ExportStatus:
        """Poll until the latest export (started after ``newer_than``) completes."""
        end = time.monotonic() + deadline_s
        while True:
            status = self.latest_export()
            fresh = status if status is not None and (
                newer_than is None or (status.start_ts or 0) > newer_than) else None
            if fresh is not None and fresh.state == "completed":
                return fresh
            if fresh is not None and fresh.state in ("failed", "canceled"):
                raise ConvexError(f"Convex export {fresh.state} (start_ts {fresh.start_ts})")
            if time.monotonic() + poll_s > end:
                state = fresh.state if fresh is not None else "not started"
                raise ConvexError(f"Convex export did not complete within {deadline_s:g}s "
                                  f"(last state: {state})")
            time.sleep(poll_s)

    def export(self, *, include_storage: bool, deadline_s: float = 3600,
               poll_s: float = 2.0) -> ExportStatus:
        """Request a snapshot export and wait for it to complete."""
        before = self.latest_export()
        self.request_export(include_storage=include_storage)
        return self.wait_for_export(deadline_s=deadline_s, poll_s=poll_s,
                                    newer_than=before.start_ts if before else None)

    @contextlib.contextmanager
    def download_export(self, start_ts: int) -> Iterator[BinaryIO]:
        """Stream the export ZIP; a cut stream raises ConvexError when read."""
        resp = self._t.call("GET", f"/api/export/zip/{int(start_ts)}", stream=True)
        try:
            length = resp.headers.get("Content-Length")
            yield GuardedStream(resp.raw, int(length) if length else None,  # type: ignore[misc]
                                f"export {start_ts}")
        finally:
            resp.close()

    # ---- import ------------------------------------------------------------------------------
    def import_zip(self, source: str | Path | IO[bytes], *, mode: str = "requireEmpty",
                   component: str | None = None, deadline_s: float = 3600, poll_s: float = 0.5) -> int:
        """Import a snapshot ZIP keeping ``_id``s (chunked, as the CLI does); documents written."""
        with contextlib.ExitStack() as stack:
            # duck-typed, as before: anything readable is the stream, anything else a path
            fp = cast(IO[bytes], source) if hasattr(source, "read") else stack.enter_context(open(source, "rb"))
            return import_chunked(self._t, self.query, fp, mode=mode, component=component,
                                  deadline_s=deadline_s, poll_s=poll_s)

    @property
    def transport(self) -> Transport:
        return self._t
