"""An independent recorder: run a Pulumi program directory the way the language host does, under
this suite's own ``set_mocks`` and ``MockMonitor`` subclass, and dump every registered resource.

Written for the acceptance suite from the Pulumi docs alone (it deliberately does not use
``deedbox.plan.engine``). Run as ``python -m tests.acceptance.recorder PROGRAM_DIR [KEY=VALUE ...]``
in a fresh process (Pulumi keeps global state), printing one JSON document on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
from typing import Any

import pulumi
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc

PROJECT = "acceptance"
STACK = "prod"


def plain(value: Any) -> Any:
    """Inputs as JSON: secrets unwrapped to a marker-free value, resources to their URN."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:  # a wrapped secret
            return {"__secret__": plain(value.get("value"))}
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return {"__resource__": type(value).__name__}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


class RecordingMonitor(pmocks.MockMonitor):
    def __init__(self, m: pmocks.Mocks) -> None:
        super().__init__(m)
        self.records: list[dict[str, Any]] = []

    def RegisterResource(self, request):  # noqa: N802 (the gRPC name)
        response = super().RegisterResource(request)
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True, keep_internal=True) \
            if request.type != "pulumi:pulumi:Stack" else {}
        self.records.append({
            "urn": response.urn,
            "type": request.type,
            "name": request.name,
            "custom": bool(request.custom),
            "parent": request.parent or None,
            "provider": request.provider or None,
            "providers": dict(request.providers),
            "protect": bool(request.protect),
            "retain_on_delete": bool(request.retainOnDelete),
            "dependencies": list(request.dependencies),
            "inputs": plain(inputs),
        })
        return response


class EchoMocks(pmocks.Mocks):
    def new_resource(self, args: pmocks.MockResourceArgs):
        outputs = dict(args.inputs)
        rid = f"{args.name}-id"
        if args.typ in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):  # as AWS names them
            outputs.setdefault("bucket", args.name)
            outputs.setdefault("arn", f"arn:aws:s3:::{outputs['bucket']}")
        elif args.typ.startswith("aws:"):
            outputs.setdefault("arn", f"arn:aws:mock:::{args.name}")
        return rid, outputs

    def call(self, args: pmocks.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "222222222222", "arn": "arn:aws:iam::222222222222:user/x", "userId": "x"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "eu-west-1", "region": "eu-west-1"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        return {}


def record(program_dir: str, config: dict[str, str]) -> list[dict[str, Any]]:
    program_dir = os.path.abspath(program_dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(EchoMocks())
    pulumi.runtime.set_mocks(EchoMocks(), project=PROJECT, stack=STACK, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config)
    sys.path.insert(0, program_dir)
    os.chdir(program_dir)  # the engine's cwd for `main: infra/`

    def program() -> None:
        runpy.run_path(program_dir, run_name="__main__")

    loop.run_until_complete(pulumi.runtime.stack.run_pulumi_func(program))
    return monitor.records


if __name__ == "__main__":
    cfg = dict(arg.split("=", 1) for arg in sys.argv[2:])
    json.dump(record(sys.argv[1], cfg), sys.stdout)
