"""Run a Pulumi program in-process under Pulumi's mock engine and record what it registers.

There is no Pulumi CLI and no provider plugin on the machines deedbox is built and reviewed on,
so ``deedbox plan`` and the tests run the real program here instead: a ``MockMonitor`` subclass
sees every ``RegisterResource`` request exactly as the engine would (type, parent, provider
reference, protect, dependencies, serialized inputs) and the stack's outputs. Mocked providers
answer with the inputs plus plausible computed outputs (ids, ARNs, bucket names), so applies run.

The program runs the way the Python language host runs it: ``run_in_stack`` around
``runpy.run_path(infra_dir, run_name="__main__")``, cwd = the program directory, that directory on
``sys.path``. Each run happens in a copied ``contextvars`` context on a fresh event loop, so
Pulumi's global settings, root stack and config never leak from one run into the next (``plan
--base`` runs twice in one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import os
import runpy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockCallArgs, MockEngine, MockMonitor, MockResourceArgs, Mocks, MockSettings
from pulumi.runtime.stack import run_in_stack

from deedbox.errors import DeedboxError, UsageError
from deedbox.plan.graph import SECRET, Graph, ResourceRecord

__all__ = ["record", "AwsMocks", "RecordingMonitor", "run_on_fresh_loop"]

log = logging.getLogger(__name__)
_STACK_TYPE = "pulumi:pulumi:Stack"


DEFAULT_ACCOUNT = "123456789012"  # what STS answers when no provider pins an account (moto's too)
DEFAULT_REGION = "us-east-1"


class AwsMocks(Mocks):
    """Answers resource creation and invokes like AWS would, deterministically.

    Outputs echo the inputs (so applies see what the program sent) plus the computed attributes
    programs read back: ``arn``, ``id``, bucket names, KMS key ids. The account and region of an
    ARN come from the resource's ``region`` input, else from its provider's ``region`` and
    ``allowedAccountIds``, the way the real provider would resolve them.
    """

    def __init__(self) -> None:
        self.providers: dict[str, dict[str, Any]] = {}  # provider id -> its inputs

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            pid = f"{args.name}-provider"
            self.providers[pid] = inputs
            return pid, inputs
        region, account = self._where(args.provider, inputs)
        rid, computed = _computed(args.typ, args.name, inputs, region, account)
        return rid, {**computed, **inputs}

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        region, account = self._where(args.provider, args.args)
        # (outputs, check failures): no call fails, so the monitor's response has no failures —
        # the same response as the bare-dict return the monitor also accepts
        return {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": account, "id": account, "userId": "AIDAMOCKUSER",
                "arn": f"arn:aws:iam::{account}:user/deedbox-plan",
            },
            "aws:index/getRegion:getRegion": {
                "name": region, "region": region, "id": region,
                "endpoint": f"ec2.{region}.amazonaws.com", "description": region,
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws", "id": "aws", "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
            },
        }.get(args.token, {}), []

    def _where(self, provider_ref: str | None, inputs: dict) -> tuple[str, str]:
        provider = self.providers.get((provider_ref or "").rsplit("::", 1)[-1], {})
        accounts = _as_list(provider.get("allowedAccountIds"))
        region = inputs.get("region") or provider.get("region") or DEFAULT_REGION
        return str(region), str(accounts[0]) if accounts else DEFAULT_ACCOUNT


def _as_list(value: Any) -> list:
    """Provider inputs may arrive JSON-encoded (providers take strings on the wire)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return list(value or [])


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _computed(typ: str, name: str, inputs: dict, region: str, account: str) -> tuple[str, dict]:
    """The id and computed outputs of one resource type, as AWS would shape them."""
    if typ in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
        bucket = inputs.get("bucket") or f"{name}-{_digest(name)[:7]}"
        return bucket, {
            "bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": region,
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
        }
    if typ in ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"):
        primary = inputs.get("primaryKeyArn")
        key_id = primary.rsplit("/", 1)[-1] if primary else _key_id(name, bool(inputs.get("multiRegion")))
        return key_id, {"keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
    if typ == "aws:iam/role:Role":
        role = inputs.get("name") or name
        return role, {"name": role, "arn": f"arn:aws:iam::{account}:role/{role}", "uniqueId": "AROA" + _digest(role)[:17].upper()}
    if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        arn = f"arn:aws:iam::{account}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}"
        return arn, {"arn": arn}
    if typ == "aws:secretsmanager/secret:Secret":
        secret = inputs.get("name") or name
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}-{_digest(secret)[:6]}"
        return arn, {"arn": arn, "name": secret}
    service = typ.split(":")[1].split("/")[0] if typ.count(":") >= 2 else "mock"
    return f"{name}-id", {"arn": f"arn:aws:{service}:{region}:{account}:{name}"}


def _key_id(name: str, multi_region: bool) -> str:
    h = _digest(name)
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return f"mrk-{h[:32]}" if multi_region else key_id


def mask_secrets(value: Any) -> Any:
    """Replace every secret-wrapped value by ``SECRET`` (recursively); keep everything else."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def _properties(struct: Any) -> dict[str, Any]:
    """Deserialize a protobuf ``Struct`` the way the mock monitor does, with secrets masked."""
    return mask_secrets(rpc.deserialize_properties(struct))


class RecordingMonitor(MockMonitor):
    """A mock resource monitor that keeps a ``ResourceRecord`` of every registration."""

    def __init__(self, mocks: AwsMocks) -> None:
        super().__init__(mocks)
        self.records: list[ResourceRecord] = []
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        # Pulumi's mock monitor gives each executor thread its own event loop and never closes it.
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    def _note_thread_loop(self) -> None:
        loop = _current_loop()
        if loop is not None:
            self.thread_loops.add(loop)

    def close_thread_loops(self) -> None:
        """Close the loops of the (finished) executor threads, so nothing leaks between runs."""
        for loop in self.thread_loops:
            if not loop.is_running() and not loop.is_closed():
                loop.close()
        self.thread_loops.clear()

    def Invoke(self, request):  # noqa: N802 (gRPC method name)
        try:
            return super().Invoke(request)
        finally:
            self._note_thread_loop()

    def ReadResource(self, request):  # noqa: N802
        try:
            return super().ReadResource(request)
        finally:
            self._note_thread_loop()

    def RegisterResource(self, request):  # noqa: N802
        try:
            response = super().RegisterResource(request)
        finally:
            self._note_thread_loop()
        if request.type == _STACK_TYPE:
            self.stack_urn = response.urn
            return response
        self.records.append(ResourceRecord(
            type=request.type,
            name=request.name,
            urn=response.urn,
            custom=bool(request.custom),
            inputs=_properties(request.object),
            parent=request.parent or None,
            provider=request.provider or None,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            dependencies=tuple(request.dependencies),
            id=response.id or None,
            outputs=_properties(response.object),
        ))
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn == self.stack_urn:
            self.stack_outputs = _properties(request.outputs)
        return super().RegisterResourceOutputs(request)


def record(
    program: Callable[[], None] | Path,
    *,
    config: dict[str, str] | None = None,
    project: str = "deedbox",
    stack: str = "plan",
) -> Graph:
    """Run ``program`` (a callable, or a Pulumi program directory) under mocks; return its graph.

    Parameters:
        program: a function declaring resources, or a directory holding ``__main__.py``.
        config: Pulumi config (``{"deedbox:config": "backup.yaml"}``), as ``pulumi config`` sets it.
    Raises:
        the program's own ``DeedboxError`` (e.g. ``ConfigError``) unchanged; ``UsageError`` when
        the program directory does not exist.
    """
    func = _as_function(program)
    ctx = contextvars.copy_context()  # Pulumi's settings, root stack and config are contextvars
    return ctx.run(_record_in_context, func, dict(config or {}), project, stack)


def _as_function(program: Callable[[], None] | Path) -> Callable[[], None]:
    if callable(program):
        return program
    directory = Path(program)
    if not (directory / "__main__.py").is_file():
        raise UsageError(f"no Pulumi program at {directory} (expected {directory}/__main__.py)")
    return lambda: _run_directory(directory.resolve())


def _run_directory(directory: Path) -> None:
    """Execute ``directory/__main__.py`` as the language host does: cwd and sys.path set to it."""
    previous_cwd = os.getcwd()
    sys.path.insert(0, str(directory))
    os.chdir(directory)
    try:
        runpy.run_path(str(directory), run_name="__main__")
    except pulumi.RunError as err:  # the program's clean exit for the real engine: ours is the cause
        if isinstance(err.__cause__, DeedboxError):
            raise err.__cause__ from None
        raise
    finally:
        os.chdir(previous_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(directory))


def _record_in_context(func: Callable[[], None], config: dict[str, str], project: str, stack: str) -> Graph:
    mocks = AwsMocks()
    monitor = RecordingMonitor(mocks)
    settings.reset_options(project=project, stack=stack, preview=False)  # fresh outputs, lock, ROOT
    settings.configure(MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=MockEngine(log),
        project=project, stack=stack, dry_run=False, organization=None, callbacks=None,
    ))
    pulumi_config.set_all_config(config, [])
    try:
        run_on_fresh_loop(func)
    finally:
        monitor.close_thread_loops()
    # Registrations arrive in thread-pool order; sort parents before children and siblings by
    # URN so that the same program always gives the same plan (and PR diffs stay readable).
    return Graph(resources=_stable_order(monitor.records), outputs=monitor.stack_outputs)


def _stable_order(records: list[ResourceRecord]) -> tuple[ResourceRecord, ...]:
    by_parent: dict[str | None, list[ResourceRecord]] = {}
    urns = {r.urn for r in records}
    for r in records:
        by_parent.setdefault(r.parent if r.parent in urns else None, []).append(r)
    ordered: list[ResourceRecord] = []

    def visit(parent: str | None) -> None:
        for child in sorted(by_parent.get(parent, ()), key=_reading_order):
            ordered.append(child)
            visit(child.urn)

    visit(None)
    return tuple(ordered)


def _reading_order(record: ResourceRecord) -> tuple[bool, bool, str]:
    """Providers first, then components (with their children), then plain resources; by URN."""
    return (not record.type.startswith("pulumi:providers:"), record.custom, record.urn)


def run_on_fresh_loop(func: Callable[[], None]) -> None:
    """Run ``run_in_stack(func)`` to completion, then drain and close the loop (no stray tasks)."""
    previous = _current_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run_in_stack(func))
    finally:
        _drain(loop)
        loop.close()
        asyncio.set_event_loop(previous)


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and await whatever a failed program left scheduled, so nothing warns at exit."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set for this thread, without creating one (``get_event_loop`` would, unclosed)."""
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    return getattr(local, "_loop", None)


def merge(backup: Graph, source: Graph) -> Graph:
    """The backup stack and the source program as one reviewable graph (``deedbox plan`` shows
    both: they are applied with different credentials, but reviewed together); the source
    program's outputs go under ``source``."""
    return Graph(resources=backup.resources + source.resources, outputs={**backup.outputs, "source": source.outputs})
