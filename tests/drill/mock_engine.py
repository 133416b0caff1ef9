"""Run a Pulumi program in-process under the mock engine and record what it registered.

(``deedbox.plan.engine.record`` is the product's recorder; this small one keeps the drill tests
independent of it while it is being built.) Records type, name, inputs, parent, provider,
protect and the root stack's outputs, as the engine would see them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
from pulumi.runtime import mocks, rpc
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str
    provider: str
    protect: bool
    retain_on_delete: bool
    additional_secret_outputs: list[str]


@dataclass
class Recording:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ.endswith(":ConvexDeployment"):
            state.update(name="drill-dep-1", url="https://drill-dep-1.convex.cloud")
        if args.typ.endswith(":ConvexDeployKey"):
            state.update(deployKey="dev:drill-dep-1|mock-key")
        if args.typ == "aws:iam/role:Role":
            state["arn"] = f"arn:aws:iam::222222222222:role/{args.name}"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class _Monitor(mocks.MockMonitor):
    def __init__(self, recording: Recording) -> None:
        super().__init__(_Mocks())
        self.recording = recording

    def RegisterResource(self, request):
        if request.type != "pulumi:pulumi:Stack":
            self.recording.resources.append(Registered(
                type=request.type, name=request.name,
                inputs=rpc.deserialize_properties_unwrap_secrets(request.object, keep_unknowns=True)[0],
                parent=request.parent, provider=request.provider, protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                additional_secret_outputs=list(request.additionalSecretOutputs)))
        return super().RegisterResource(request)

    def RegisterResourceOutputs(self, request):
        if request.urn.endswith("pulumi:pulumi:Stack::drill-project-test"):
            self.recording.outputs = rpc.deserialize_properties_unwrap_secrets(request.outputs)[0]
        return super().RegisterResourceOutputs(request)


def record(program: Callable[[], Any]) -> Recording:
    """Run ``program`` under mocks (not a preview: applies run) and return what it registered."""
    recording = Recording()
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(_Mocks(), project="drill-project", stack="test", preview=False,
                             monitor=_Monitor(recording))
    program()
    _sync_await(wait_for_rpcs())
    return recording
