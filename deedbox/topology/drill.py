"""The ephemeral drill stack: a fresh Convex deployment and its deploy key. Nothing in AWS.

The drill's AWS identity is the runner's: ``deedbox drill run`` reads snapshots under ``backend/``
and writes its evidence under ``drills/`` with the runner role's permissions (get/list/put there,
never delete), so the drill stack creates no IAM resources and the runner needs no IAM rights.

One drill stack lives for one ``deedbox drill run`` and is destroyed at its end; ``drill reap``
destroys stacks whose run was killed. So every resource here:

- carries the tags ``deedbox:drill`` (the drill id) and ``deedbox:expires`` (ISO UTC), which
  ``reap`` reads back;
- is never protected (a protected resource would make ``destroy`` fail and leak the drill).

The Convex deployment and its deploy key are Pulumi *dynamic* resources speaking the Convex
Management API (``POST /projects/{id}/create_deployment`` with ``expiresAt``, so Convex itself
deletes a leaked deployment; ``POST /deployments/{name}/delete`` on destroy). The team token is
read from the environment *inside* the provider at create/delete time: only the variable's name
is a resource input, never its value. The deploy key comes back as a secret output.

With a self-hosted drill target (``drills.target.kind: self-hosted``) the backend already exists:
no deployment resource is declared and the orchestrator reads URL and admin key from the env.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import requests
from pulumi.dynamic import CreateResult, ResourceProvider

from deedbox.config.model import Config

MANAGEMENT_API = "https://api.convex.dev/v1"
MANAGEMENT_API_ENV = "DEEDBOX_CONVEX_MANAGEMENT_URL"  # tests point this at a local fake
TAG_DRILL = "deedbox:drill"
TAG_EXPIRES = "deedbox:expires"
HTTP_TIMEOUT_S = 60


def deployment_reference(drill_id: str) -> str:
    """The Management API reference of a drill deployment: ``drill-20261127t060000z``.

    The CLI allows only ``^[a-z0-9/-]+$``, 3-100 characters (npm convex
    ``dist/esm/cli/deploymentCreate.js`` ``validateTentativeReference``); the drill id carries an
    upper-case ``T``/``Z``, so the reference is its lower-case form (still unique per drill).
    """
    reference = drill_id.lower()
    if not re.fullmatch(r"[a-z0-9/-]{3,100}", reference):
        raise ValueError(f"drill id {drill_id!r} cannot be a Convex deployment reference")
    return reference


def drill_tags(drill_id: str, expires_at: str) -> dict[str, str]:
    """The two tags every drill resource carries (``reap`` reads the expiry back)."""
    return {TAG_DRILL: drill_id, TAG_EXPIRES: expires_at}


def _management_post(path: str, token_env: str, body: dict[str, Any] | None, *,
                     missing_ok: bool = False) -> dict[str, Any]:
    """One authenticated Management API call; the token is read here, at call time, from the env.

    ``missing_ok``: a 404 is success (deleting a deployment that its own ``expiresAt`` removed).
    """
    token = os.environ.get(token_env)
    if not token:
        raise RuntimeError(f"environment variable {token_env} (Convex team token) is not set")
    base = os.environ.get(MANAGEMENT_API_ENV, MANAGEMENT_API).rstrip("/")
    resp = requests.post(f"{base}{path}", json=body or {}, timeout=HTTP_TIMEOUT_S,
                         headers={"Authorization": f"Bearer {token}"})
    if missing_ok and resp.status_code == 404:
        return {}
    if resp.status_code >= 300:
        # The body may echo request data but never the token; keep it short anyway.
        raise RuntimeError(f"Convex Management API {path} failed: HTTP {resp.status_code} {resp.text[:200]}")
    return resp.json() if resp.content else {}


def deployment_url(created: dict[str, Any]) -> str:
    """The deployment URL from a ``create_deployment`` answer (cloud URLs follow from the name)."""
    return created.get("deploymentUrl") or f"https://{created['name']}.convex.cloud"


class ConvexDeploymentProvider(ResourceProvider):
    """Creates a drill deployment with a built-in expiry; deletes it on destroy."""

    serialize_as_secret_always = False  # the provider holds no secret: keep inputs reviewable

    def create(self, props: dict[str, Any]) -> CreateResult:
        # Pulumi hands numbers to a dynamic provider as floats; the API's expiresAt is an int64
        # (management-openapi.json), and `1795759200000.0` is not one.
        body = {"type": props.get("deploymentType", "dev"), "expiresAt": int(props["expiresAt"]),
                "reference": props.get("reference")}
        created = _management_post(f"/projects/{props['projectId']}/create_deployment",
                                   props["teamTokenEnv"], {k: v for k, v in body.items() if v})
        outs = {**props, "name": created["name"], "url": deployment_url(created)}
        return CreateResult(id_=created["name"], outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # Convex removes a deployment at its expiresAt, which is exactly when `drill reap` destroys
        # the stack: already gone is what delete wants, so a 404 is not an error.
        _management_post(f"/deployments/{_id}/delete", props["teamTokenEnv"], None, missing_ok=True)


class ConvexDeployKeyProvider(ResourceProvider):
    """Creates a deploy key for the drill deployment; it dies with the deployment."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        created = _management_post(f"/deployments/{props['deploymentName']}/create_deploy_key",
                                   props["teamTokenEnv"], {"name": props["keyName"]})
        outs = {**props, "deployKey": created["deployKey"]}  # secret via additional_secret_outputs
        return CreateResult(id_=f"{props['deploymentName']}/{props['keyName']}", outs=outs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to call: deleting the deployment revokes its keys."""


class ConvexDeployment(pulumi.dynamic.Resource, module="deedbox", name="ConvexDeployment"):
    """A Convex Cloud deployment created through the Management API."""

    name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None):
        super().__init__(ConvexDeploymentProvider(), name, {**props, "name": None, "url": None}, opts)


class ConvexDeployKey(pulumi.dynamic.Resource, module="deedbox", name="ConvexDeployKey"):
    """A deploy key of one drill deployment (a secret output)."""

    deployKey: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["deployKey"]))
        super().__init__(ConvexDeployKeyProvider(), name, {**props, "deployKey": None}, opts)


# --------------------------------------------------------------------------- component

@dataclass(frozen=True)
class DrillArgs:
    drill_id: str
    expires_at: str  # ISO 8601 UTC, e.g. 2026-11-27T06:00:00Z
    expires_at_ms: int
    bucket: str
    account: str
    region: str
    kind: str  # convex-cloud | self-hosted
    team_token_env: str | None = None
    project_id: str | None = None


class DrillStack(pulumi.ComponentResource):
    """Everything one drill needs, tagged with its id and expiry, never protected."""

    def __init__(self, name: str, args: DrillArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:drill:DrillStack", name, None, opts)
        tags = drill_tags(args.drill_id, args.expires_at)
        unprotected = pulumi.ResourceOptions(parent=self, protect=False)
        self.deployment_url: pulumi.Output[str] | None = None
        self.deploy_key: pulumi.Output[str] | None = None
        if args.kind == "convex-cloud":
            self._declare_deployment(name, args, tags, unprotected)
        self.register_outputs({"deploymentUrl": self.deployment_url})

    def _declare_deployment(self, name: str, args: DrillArgs, tags: dict[str, str],
                            opts: pulumi.ResourceOptions) -> None:
        deployment = ConvexDeployment(f"{name}-deployment", {
            "projectId": args.project_id, "teamTokenEnv": args.team_token_env,
            "deploymentType": "dev", "reference": deployment_reference(args.drill_id),
            "expiresAt": args.expires_at_ms, "tags": tags}, opts)
        key = ConvexDeployKey(f"{name}-deploy-key", {
            "deploymentName": deployment.name, "teamTokenEnv": args.team_token_env,
            "keyName": args.drill_id, "tags": tags}, opts)
        self.deployment_url = deployment.url
        self.deploy_key = pulumi.Output.secret(key.deployKey)


def drill_args(config: Config, drill_id: str, expires_at: str, *, bucket: str,
               env: dict[str, str] | None = None) -> DrillArgs:
    """Resolve the drill's plain inputs: the project id is read from its env ref, the token never."""
    from datetime import datetime

    if config.drills is None:
        raise ValueError("backup.yaml has no `drills:` section")
    env = dict(os.environ) if env is None else env
    target = config.drills.target
    project = None
    if target.kind == "convex-cloud" and target.project is not None:
        project = env.get(target.project.env) or None
        if project is None:
            raise ValueError(f"environment variable {target.project.env} (Convex project id) is not set")
    moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    return DrillArgs(
        drill_id=drill_id, expires_at=expires_at, expires_at_ms=int(moment.timestamp() * 1000),
        bucket=bucket, account=config.destination.account, region=config.destination.region,
        kind=target.kind, team_token_env=target.team_token.env, project_id=project,
    )


def declare_drill(config: Config, drill_id: str, expires_at: str, *, bucket: str,
                  env: dict[str, str] | None = None) -> DrillStack:
    """Declare one drill stack and export what the orchestrator needs (the key as a secret)."""
    stack = DrillStack(f"{config.name}-{drill_id}", drill_args(config, drill_id, expires_at, bucket=bucket, env=env))
    pulumi.export("drillId", drill_id)
    pulumi.export("expiresAt", expires_at)
    if stack.deployment_url is not None:
        pulumi.export("deploymentUrl", stack.deployment_url)
        pulumi.export("deployKey", stack.deploy_key)
    return stack
