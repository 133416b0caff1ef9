"""A local imitation of the Convex Cloud Management API (``https://api.convex.dev/v1``).

Implements the three calls deedbox's drill stack makes, with the rules of
``tests.support.convex_rules`` (``management-create-deployment``, ``management-deploy-key``, from
``management-openapi.json`` and the CLI):

- ``POST /projects/{id}/create_deployment`` ``{type, region?, reference?, isDefault?, expiresAt?,
  class?}`` (nothing else) → the cloud deployment object; ``expiresAt`` 30 minutes to 1 year ahead,
  ``reference`` by the CLI's rule;
- ``POST /deployments/{name}/create_deploy_key`` ``{name}`` → ``{deployKey}``;
- ``POST /deployments/{name}/delete`` → 200 with an empty body.

Every request needs ``Authorization: Bearer <team token>``; a wrong token gets 401. Calls are
recorded (without the header) so tests can assert what was created and deleted.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support import convex_rules as R
from tests.support.quiet_http import QuietHTTPServer

MIN_TTL_MS = 30 * 60 * 1000
MAX_TTL_MS = 366 * 24 * 3600 * 1000
CREATE_FIELDS = {"type", "region", "reference", "isDefault", "expiresAt", "class"}


@dataclass
class ManagementState:
    token: str
    deployment_url: Callable[[str], str] = lambda name: f"https://{name}.convex.cloud"
    deploy_key: Callable[[str, str], str] = lambda name, key_name: f"dev:{name}|key-{key_name}"
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


class _Handler(BaseHTTPRequestHandler):
    state: ManagementState  # set on the subclass made per server

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _reply(self, status: int, body: dict[str, Any] | None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.headers.get("Authorization") != f"Bearer {self.state.token}":
            return self._reply(401, {"code": "Unauthorized", "message": "invalid team token"})
        path = self.path.removeprefix("/v1")
        self.state.calls.append((path, body))
        for pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, path)
            if match:
                return self._reply(*handler(self.state, match.group(1), body))
        self._reply(404, {"code": "NotFound", "message": path})


def _create_deployment(state: ManagementState, project: str, body: dict[str, Any]):
    extra = sorted(set(body) - CREATE_FIELDS)
    if extra:
        return 400, {"code": "BadRequest", "message": f"unknown field `{extra[0]}`"}
    if body.get("type") not in ("dev", "prod", "preview", "custom"):
        return 400, {"code": "BadRequest", "message": "`type` is required: dev, prod, preview or custom"}
    expires = body.get("expiresAt")
    now_ms = time.time() * 1000
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)):
        return 400, {"code": "BadRequest", "message": "expiresAt must be an integer (milliseconds)"}
    if expires is not None and not now_ms + MIN_TTL_MS <= expires <= now_ms + MAX_TTL_MS:
        return 400, {"code": "InvalidExpiresAt",
                     "message": "expiresAt must be at least 30 minutes and at most a year in the future"}
    reference = body.get("reference")
    problem = R.reference_problem(reference) if reference is not None else None
    if problem:
        return 400, {"code": "InvalidReference", "message": problem}
    name = f"drill-otter-{next(state.counter)}"
    dep = {"id": next(state.counter), "name": name, "deploymentType": body["type"], "projectId": int(project),
           "kind": "cloud", "createTime": int(now_ms), "expiresAt": expires, "region": "aws-us-east-1",
           "isDefault": bool(body.get("isDefault")), "class": body.get("class") or "s16",
           "reference": reference, "deploymentUrl": state.deployment_url(name)}
    state.deployments[name] = dep
    return 200, dep


def _create_deploy_key(state: ManagementState, name: str, body: dict[str, Any]):
    if name not in state.deployments:
        return 404, {"code": "DeploymentNotFound", "message": name}
    return 200, {"deployKey": state.deploy_key(name, body.get("name", "k"))}


def _delete(state: ManagementState, name: str, body: dict[str, Any]):
    if state.deployments.pop(name, None) is None:
        return 404, {"code": "DeploymentNotFound", "message": name}
    state.deleted.append(name)
    return 200, None


_ROUTES = [
    (r"/projects/([^/]+)/create_deployment", _create_deployment),
    (r"/deployments/([^/]+)/create_deploy_key", _create_deploy_key),
    (r"/deployments/([^/]+)/delete", _delete),
]


class ConvexManagementServer:
    """Context manager: ``with ConvexManagementServer(token) as api: api.url, api.state``."""

    def __init__(self, token: str, deployment_url: Callable[[str], str] | None = None,
                 deploy_key: Callable[[str, str], str] | None = None) -> None:
        self.state = ManagementState(token=token)
        if deployment_url is not None:
            self.state.deployment_url = deployment_url
        if deploy_key is not None:
            self.state.deploy_key = deploy_key
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = QuietHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> ConvexManagementServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
