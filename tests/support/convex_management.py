"""A local imitation of the Convex Cloud Management API (``https://api.convex.dev/v1``).

Implements the three calls deedbox's drill stack makes, with the documented shapes:

- ``POST /projects/{id}/create_deployment`` ``{type, reference?, expiresAt?}`` → ``{name,
  deploymentType, projectId, deploymentUrl, ...}``; ``expiresAt`` must be ≥ 30 minutes ahead;
- ``POST /deployments/{name}/create_deploy_key`` ``{name}`` → ``{deployKey}``;
- ``POST /deployments/{name}/delete`` → ``{}``.

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MIN_TTL_MS = 30 * 60 * 1000


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

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
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
    expires = body.get("expiresAt")
    if expires is not None and expires < time.time() * 1000 + MIN_TTL_MS:
        return 400, {"code": "InvalidExpiresAt", "message": "expiresAt must be at least 30 minutes ahead"}
    name = f"drill-otter-{next(state.counter)}"
    dep = {"name": name, "deploymentType": body.get("type", "dev"), "projectId": int(project),
           "kind": "cloud", "createTime": int(time.time() * 1000), "expiresAt": expires,
           "reference": body.get("reference"), "deploymentUrl": state.deployment_url(name)}
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
    return 200, {}


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
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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
