"""Drive ``policies/`` over the real Analyzer gRPC protocol, the way the Pulumi CLI does.

How the CLI starts a Python pack (pulumi/pulumi ``sdk/go/common/resource/plugin/analyzer_plugin.go``,
``NewPolicyAnalyzer``): for ``runtime: python`` it does not use the language host; it runs the
legacy shim ``pulumi-analyzer-policy-python`` with pwd = the pack directory and the arguments
``[<engine address>, ".", "-virtualenv=../.venv"]`` (the runtime options of PulumiPolicy.yaml),
and an environment of ``os.Environ()`` plus ``PULUMI_CONFIG`` (stack config as JSON),
``PULUMI_ORGANIZATION``, ``PULUMI_PROJECT``, ``PULUMI_STACK``, ``PULUMI_DRY_RUN`` (``constructEnv``).
The shim (``sdk/python/dist/pulumi-analyzer-policy-python``) makes the virtualenv absolute against
$PWD, puts its ``bin`` first on PATH, unsets PYTHONHOME and runs
``$virtualenv/bin/python -u -m pulumi.policy "$1" "$2"``, i.e. ``<engine address> .``.

``pulumi/policy/__main__.py`` (in the ``pulumi`` SDK, not ``pulumi_policy``) parses
``engineAddress program [--tracing F] [--logtostderr] [--logflow] [-v N]`` (unknown args are
ignored), configures the runtime from ``PULUMI_PROJECT``/``PULUMI_STACK``/``PULUMI_DRY_RUN`` when all
three are set, and ``runpy.run_path(program)``, i.e. ``./__main__.py``. It never dials the engine
address: ``Settings`` is built without ``engine=``, so ``pulumi.log`` writes to stderr. The harness
still passes the address of a real (fake) Engine server, as the CLI passes ``host.ServerAddr()``,
and records any ``Log`` call it gets.

``pulumi_policy.PolicyPack.__init__`` (``pulumi_policy/policy.py``) serves
``_PolicyAnalyzerServicer`` on ``127.0.0.1:0``, writes ``"<port>\\n"`` to stdout, then sleeps until
KeyboardInterrupt (SIGINT), which stops the server. The servicer implements Analyze,
AnalyzeStack, Remediate, GetAnalyzerInfo, GetPluginInfo, Configure and ConfigureStack; Handshake
and Cancel are the generated stubs' UNIMPLEMENTED, which the CLI tolerates (it falls back to the
argv contract). Right after the handshake ``NewPolicyAnalyzer`` calls ConfigureStack; the engine
then uses GetAnalyzerInfo, Configure (``analyzer.Configure`` returns early on an empty policy
config), Analyze per resource registration (the resource's *checked inputs*, before any step runs,
``stepGenerator.generateSteps``) and AnalyzeStack once at the end (every resource of the
deployment, the root stack included, with its *outputs*, parent, dependencies and property
dependencies, ``stepGenerator.AnalyzeResources``). Properties are marshalled with
``KeepUnknowns, KeepSecrets, SkipInternalKeys``: an unknown is the string
``04da6b54-80e4-46f7-96ec-b56ff0331ba9`` and a secret is
``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": ...}``; the
pack unwraps secrets (its policies see the plain value) and wraps the props in
``unknown_checking_proxy`` (reading an unknown raises ``UnknownValueError``, which the servicer
turns into an ADVISORY "can't run policy ... during preview" diagnostic).

The first-preview view: ``record_for_engine(program, preview=True)`` runs the program under the
mock engine with ``dry_run=True`` and mocks that answer as a provider previews a create: no id
(``""``), the inputs echoed, every computed attribute (ARN, key id, domain names...) UNKNOWN (but
auto-names and the defaulted region, which the provider settles before a create). The
Pulumi SDK itself then decides which inputs are unknown (applies over unknown outputs are not run,
so e.g. a JSON policy document built from KMS key ARNs is unknown as a whole), exactly as in a
``pulumi preview`` of a stack that does not exist yet. ``deedbox.plan.engine.record`` has no
preview mode (it hard-codes ``preview=False``), hence this recorder; it reuses its public
``AwsMocks`` and ``RecordingMonitor`` and keeps the wire form of what was registered (unknowns as
the sentinel, secrets as the envelope, property dependencies) instead of the masked values.

Stack properties are a resource's outputs; a hand-built record (``tests/policy/builders``) may hold
only computed outputs, so its inputs fill in beneath, and a custom resource gets the ``id`` a
bridged AWS resource carries in its outputs (UNKNOWN before it exists). Analyze diagnostics come
back with an empty URN (the pack ignores the urn a resource policy reports); ``Diagnostic.urn``
is then the analyzed resource's.
"""

from __future__ import annotations

import contextvars
import copy
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockEngine, MockResourceArgs, MockSettings
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc, plugin_pb2

from deedbox.plan.engine import AwsMocks, RecordingMonitor, run_on_fresh_loop
from deedbox.plan.graph import SECRET, Graph, ResourceRecord
from deedbox.plan.graph import UNKNOWN as RECORDED_UNKNOWN

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policies"

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN / plugin.UnknownStringValue
SIG_KEY = "4dabf18193072939515e22adb298388d"  # rpc._special_sig_key
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # rpc._special_secret_sig
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"
_MAX_MESSAGE = 1024 * 1024 * 400  # pulumi_policy._MAX_RPC_MESSAGE_SIZE; the CLI's rpcutil.GrpcChannelOptions
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE)]

log = logging.getLogger(__name__)


def secret(value: Any) -> dict[str, Any]:
    """A secret as the engine marshals it (``KeepSecrets``)."""
    return {SIG_KEY: SECRET_SIG, "value": value}


# --------------------------------------------------------------------------------------------
# Recording a program as the engine would see it, fully known or as a first preview


@dataclass(frozen=True)
class Recording:
    """A program's registrations in wire form, plus what ``ResourceRecord`` does not keep."""

    graph: Graph  # inputs/outputs: camelCase, unknowns = UNKNOWN, secrets = the envelope
    property_dependencies: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    stack_urn: str | None = None
    preview: bool = False

    def edited(self, change: Callable[[Graph], Graph]) -> Recording:
        """The same recording with ``change`` applied to its graph (e.g. ``builders.edit``)."""
        return replace(self, graph=change(self.graph))


class FirstPreviewMocks(AwsMocks):
    """Answer like a provider previewing a create: no id yet, inputs echoed, computed outputs
    unknown, except what the provider settles at Check/plan time: auto-names (``bucket``,
    ``name``) and the per-resource ``region`` defaulted from the provider's."""

    KNOWN_AT_PLAN = frozenset({"bucket", "name", "region"})

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        known = copy.copy(args)
        known.inputs = {k: v for k, v in args.inputs.items() if not isinstance(v, Unknown)}
        rid, outputs = super().new_resource(known)
        if args.typ.startswith(PROVIDER_PREFIX):
            return rid, dict(args.inputs)  # provider inputs are config, known at preview
        computed = {k: v if k in self.KNOWN_AT_PLAN else UNKNOWN for k, v in outputs.items() if k not in args.inputs}
        return "", {**args.inputs, **computed}


class _WireMonitor(RecordingMonitor):
    """``RecordingMonitor`` that also keeps each registration's wire-form inputs/outputs and
    property dependencies (by URN: registrations arrive from several executor threads)."""

    def __init__(self, mocks: AwsMocks) -> None:
        super().__init__(mocks)
        self.wire: dict[str, tuple[dict, dict, dict[str, tuple[str, ...]]]] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != STACK_TYPE:
            deps = {k: tuple(v.urns) for k, v in request.propertyDependencies.items() if v.urns}
            self.wire[response.urn] = (json_format.MessageToDict(request.object),
                                       json_format.MessageToDict(response.object), deps)
        return response


def record_for_engine(program: Callable[[], None], *, preview: bool, config: Mapping[str, str] | None = None,
                      project: str = "deedbox", stack: str = "plan") -> Recording:
    """Run ``program`` under the mock engine (``preview``: as a first ``pulumi preview``)."""
    ctx = contextvars.copy_context()  # Pulumi's settings, root stack and config are contextvars
    return ctx.run(_record, program, preview, dict(config or {}), project, stack)


def _record(program: Callable[[], None], preview: bool, config: dict[str, str], project: str,
            stack: str) -> Recording:
    mocks = FirstPreviewMocks() if preview else AwsMocks()
    monitor = _WireMonitor(mocks)
    settings.reset_options(project=project, stack=stack, preview=preview)
    settings.configure(MockSettings(
        monitor=monitor, monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=MockEngine(log), project=project, stack=stack, dry_run=preview, organization=None,
        callbacks=None,
    ))
    pulumi_config.set_all_config(config, [])
    try:
        run_on_fresh_loop(program)  # deedbox.plan.engine's own: fresh loop, drained and closed
    finally:
        monitor.close_thread_loops()
    records = []
    for r in sorted(monitor.records, key=lambda r: r.urn):
        inputs, outputs, _ = monitor.wire[r.urn]
        records.append(replace(r, inputs=inputs, outputs=outputs))
    prop_deps = {urn: deps for urn, (_, _, deps) in monitor.wire.items() if deps}
    stack_outputs = {k: _wire(v) for k, v in monitor.stack_outputs.items()}
    return Recording(Graph(tuple(records), stack_outputs), prop_deps, monitor.stack_urn, preview)


def _wire(value: Any) -> Any:
    """A recorded value in wire form: the recorder's markers (and SDK ``Unknown``s) as the engine sends them."""
    if isinstance(value, Unknown) or value == RECORDED_UNKNOWN:
        return UNKNOWN
    if isinstance(value, str) and value == SECRET:
        return secret(SECRET)  # the masked recording lost the value; keep it a secret
    if isinstance(value, Mapping):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def contains_unknown(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return value == UNKNOWN


# --------------------------------------------------------------------------------------------
# Messages, built the way the engine builds them


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """``MarshalProperties(KeepUnknowns, KeepSecrets, SkipInternalKeys)`` of JSON-shaped props."""
    struct = struct_pb2.Struct()
    struct.update({k: _wire(v) for k, v in props.items() if not k.startswith("__")})
    return struct


def _provider_of(record: ResourceRecord, graph: Graph | None) -> analyzer_pb2.AnalyzerProviderResource | None:
    provider = graph.by_urn(record.provider_urn) if graph is not None and record.provider_urn else None
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        urn=provider.urn, type=provider.type, name=provider.urn.rsplit("::", 1)[-1],
        properties=to_struct(provider.inputs))  # the engine sends the provider's *inputs*


def _options(record: ResourceRecord, *, parent: bool) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=record.protect, ignoreChanges=[], deleteBeforeReplace=False, deleteBeforeReplaceDefined=False,
        additionalSecretOutputs=list(record.additional_secret_outputs), aliases=[],
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(create=0, update=0, delete=0),
        parent=(record.parent or "") if parent else "")


def analyze_request(record: ResourceRecord, graph: Graph | None = None) -> analyzer_pb2.AnalyzeRequest:
    """What ``stepGenerator.generateSteps`` sends for one registration: its (checked) inputs."""
    return analyzer_pb2.AnalyzeRequest(
        urn=record.urn, type=record.type, name=record.urn.rsplit("::", 1)[-1], properties=to_struct(record.inputs),
        options=_options(record, parent=True), provider=_provider_of(record, graph))


def stack_properties(record: ResourceRecord) -> dict[str, Any]:
    """A resource's state outputs. Recorded outputs already echo the inputs (the mocks do, like
    providers); hand-built records may carry only the computed ones, so inputs fill in beneath.
    Bridged AWS resources carry ``id`` in their outputs; at first preview it is unknown."""
    props = {**dict(record.inputs), **dict(record.outputs)}
    if record.custom and not record.type.startswith(PROVIDER_PREFIX):
        props.setdefault("id", record.id if record.id is not None else UNKNOWN)
    return props


def root_stack(recording: Recording) -> ResourceRecord | None:
    """The ``pulumi:pulumi:Stack`` resource (the recorder keeps only its outputs, as the graph's)."""
    urn = recording.stack_urn or next(
        (r.parent for r in recording.graph if r.parent and f"::{STACK_TYPE}::" in r.parent), None)
    if urn is None:
        return None
    return ResourceRecord(type=STACK_TYPE, name=urn.rsplit("::", 1)[-1], urn=urn, custom=False,
                          outputs=dict(recording.graph.outputs))


def analyzer_resources(recording: Recording) -> list[analyzer_pb2.AnalyzerResource]:
    """What ``stepGenerator.AnalyzeResources`` sends: every resource of the deployment's ``news``
    (the root stack included), with outputs, parent, dependencies and property dependencies."""
    graph = recording.graph
    resources = []
    stack = root_stack(recording)
    if stack is not None:
        resources.append(analyzer_pb2.AnalyzerResource(
            urn=stack.urn, type=STACK_TYPE, name=stack.name, properties=to_struct(stack.outputs),
            options=_options(stack, parent=False)))
    for r in graph:
        deps = recording.property_dependencies.get(r.urn, {})
        resources.append(analyzer_pb2.AnalyzerResource(
            urn=r.urn, type=r.type, name=r.urn.rsplit("::", 1)[-1],
            properties=to_struct(stack_properties(r)),
            options=_options(r, parent=False), provider=_provider_of(r, graph), parent=r.parent or "",
            dependencies=list(r.dependencies),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                                  for k, v in deps.items() if v}))
    return resources


# --------------------------------------------------------------------------------------------
# The pack process


@dataclass(frozen=True)
class Diagnostic:
    """One ``AnalyzeDiagnostic``, with the level by name."""

    policy: str
    level: str  # advisory | mandatory | remediate | disabled
    urn: str | None  # Analyze diagnostics: the analyzed resource (the pack leaves urn empty)
    message: str
    description: str
    pack: str
    rpc: str  # Analyze | AnalyzeStack

    @classmethod
    def of(cls, d: analyzer_pb2.AnalyzeDiagnostic, rpc: str, urn: str | None = None) -> Diagnostic:
        level = analyzer_pb2.EnforcementLevel.Name(d.enforcementLevel).lower()
        return cls(d.policyName, level, d.urn or urn, d.message, d.description, d.policyPackName, rpc)


class FakeEngine(engine_pb2_grpc.EngineServicer):
    """The engine's gRPC service, as far as a plugin may use it: Log, Get/SetRootResource."""

    def __init__(self) -> None:
        self.logs: list[tuple[str, str, str]] = []  # (severity, message, urn)
        self.root_urn = ""
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def Log(self, request, context):  # noqa: N802
        self.logs.append((engine_pb2.LogSeverity.Name(request.severity), request.message, request.urn))
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn=self.root_urn)

    def SetRootResource(self, request, context):  # noqa: N802
        self.root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()

    def stop(self) -> None:
        self._server.stop(0).wait(5)


@dataclass(frozen=True)
class StackContext:
    """What the CLI knows about the stack a pack analyzes (``PolicyAnalyzerOptions``)."""

    project: str = "deedbox"
    stack: str = "plan"
    organization: str = "organization"
    dry_run: bool = False
    config: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


def pack_command(pack_dir: Path, engine_address: str) -> tuple[list[str], dict[str, str]]:
    """The shim's command line and PATH for ``pack_dir``'s PulumiPolicy.yaml (``-virtualenv=...``)."""
    meta = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text())
    runtime = meta.get("runtime") or {}
    options = (runtime.get("options") or {}) if isinstance(runtime, dict) else {}
    env = dict(os.environ)
    python = sys.executable
    if options.get("virtualenv"):
        venv = (pack_dir / str(options["virtualenv"]).rstrip("/")).absolute()
        python = str(venv / "bin" / "python")
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.pop("PYTHONHOME", None)
    return [python, "-u", "-m", "pulumi.policy", engine_address, "."], env


class PolicyPackProcess:
    """One running ``policies/`` pack and a gRPC client to it (use as a context manager)."""

    def __init__(self, pack_dir: Path = PACK_DIR, context: StackContext | None = None, *,
                 policy_config: Mapping[str, Mapping[str, Any]] | None = None, start_timeout: float = 30) -> None:
        self.pack_dir = pack_dir
        self.context = context or StackContext()
        self.engine = FakeEngine()
        self.argv, env = pack_command(pack_dir, self.engine.address)
        # constructEnv: os.Environ() plus the stack's identity and config
        env.update({"PULUMI_ORGANIZATION": self.context.organization, "PULUMI_PROJECT": self.context.project,
                    "PULUMI_STACK": self.context.stack, "PULUMI_DRY_RUN": str(self.context.dry_run).lower()})
        if self.context.config:
            env["PULUMI_CONFIG"] = json.dumps(dict(self.context.config))
        self.stderr_lines: list[str] = []
        self.process = subprocess.Popen(self.argv, cwd=pack_dir, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._stdout: queue.Queue[bytes] = queue.Queue()
        self._readers = [threading.Thread(target=self._pump, args=(self.process.stdout, self._stdout), daemon=True),
                         threading.Thread(target=self._collect_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()
        self.channel: grpc.Channel | None = None
        try:
            self.port = self._read_port(start_timeout)
            self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}", options=_CHANNEL_OPTIONS)
            grpc.channel_ready_future(self.channel).result(timeout=start_timeout)
            self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
            self.handshake_code = self._handshake()
            self.stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.context.stack, project=self.context.project, organization=self.context.organization,
                dry_run=self.context.dry_run, config=dict(self.context.config), tags=dict(self.context.tags)))
            if policy_config:  # the CLI skips Configure when there is no policy config
                self.configure(policy_config)
        except BaseException:
            self.close()
            raise

    # -- process plumbing ------------------------------------------------------------------

    @staticmethod
    def _pump(stream, sink: queue.Queue) -> None:
        for line in iter(stream.readline, b""):
            sink.put(line)
        sink.put(b"")

    def _collect_stderr(self) -> None:
        for line in iter(self.process.stderr.readline, b""):
            self.stderr_lines.append(line.decode(errors="replace").rstrip("\n"))

    def _read_port(self, timeout: float) -> int:
        """The first stdout line is the port (the CLI's ``newPlugin`` reads it the same way)."""
        try:
            line = self._stdout.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"policy pack printed no port within {timeout}s: {self.stderr()}") from None
        text = line.decode().strip()
        if not text.isdigit():
            self.process.wait(5)
            raise RuntimeError(f"policy pack did not start (first line {text!r}, "
                               f"rc={self.process.returncode}): {self.stderr()}")
        return int(text)

    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    def stdout_after_port(self) -> list[str]:
        lines = []
        while not self._stdout.empty():
            line = self._stdout.get_nowait()
            if line:
                lines.append(line.decode(errors="replace").rstrip("\n"))
        return lines

    def _handshake(self) -> grpc.StatusCode:
        """The CLI's handshake; UNIMPLEMENTED means "fall back to the argv contract"."""
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=self.engine.address, root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir))
        try:
            self.stub.Handshake(request)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
            return err.code()
        return grpc.StatusCode.OK

    def close(self) -> int | None:
        """Stop the pack as its own loop expects (SIGINT: ``server.stop(0)``), then escalate."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        for reader in self._readers:
            reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        self.engine.stop()
        return self.process.returncode

    def __enter__(self) -> PolicyPackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the Analyzer RPCs -----------------------------------------------------------------

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        return self.stub.GetAnalyzerInfo(empty_pb2.Empty())

    def plugin_info(self) -> plugin_pb2.PluginInfo:
        return self.stub.GetPluginInfo(empty_pb2.Empty())

    def configure(self, policy_config: Mapping[str, Mapping[str, Any]]) -> None:
        """``ConfigureAnalyzerRequest``: per policy an enforcement level and properties."""
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, values in policy_config.items():
            values = dict(values)
            level = str(values.pop("enforcementLevel", "mandatory")).upper()
            entry = request.policyConfig[name]
            entry.enforcementLevel = analyzer_pb2.EnforcementLevel.Value(level)
            entry.properties.update(values)
        self.stub.Configure(request)

    def analyze(self, record: ResourceRecord, graph: Graph | None = None) -> list[Diagnostic]:
        """Analyze one resource (``graph`` resolves its provider)."""
        response = self.stub.Analyze(analyze_request(record, graph))
        return [Diagnostic.of(d, "Analyze", record.urn) for d in response.diagnostics]

    def analyze_stack(self, records: Recording | Graph | Iterable[ResourceRecord]) -> list[Diagnostic]:
        recording = _as_recording(records)
        response = self.stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=analyzer_resources(recording)))
        return [Diagnostic.of(d, "AnalyzeStack") for d in response.diagnostics]

    def analyze_deployment(self, records: Recording | Graph | Iterable[ResourceRecord]) -> list[Diagnostic]:
        """What one preview/update asks of the pack: Analyze each resource, then AnalyzeStack."""
        recording = _as_recording(records)
        stack = root_stack(recording)
        registered = ([stack] if stack is not None else []) + list(recording.graph)
        found = [d for r in registered for d in self.analyze(r, recording.graph)]
        return found + self.analyze_stack(recording)


def _as_recording(records: Recording | Graph | Iterable[ResourceRecord]) -> Recording:
    if isinstance(records, Recording):
        return records
    graph = records if isinstance(records, Graph) else Graph(tuple(records))
    return Recording(graph, preview=any(contains_unknown(dict(r.inputs)) for r in graph))


def mandatory(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.level == "mandatory"]


class PolicyPacks:
    """The packs of one test session, one per kind of deployment (update, preview), started on
    first use and stopped (SIGINT, wait, escalate) at the end of the session."""

    def __init__(self) -> None:
        self._running: dict[bool, PolicyPackProcess] = {}
        self.exit_codes: list[int | None] = []

    def get(self, *, dry_run: bool = False) -> PolicyPackProcess:
        """The pack of an update (``dry_run=False``) or of a preview (``PULUMI_DRY_RUN=true``)."""
        if dry_run not in self._running:
            self._running[dry_run] = PolicyPackProcess(PACK_DIR, StackContext(dry_run=dry_run))
        return self._running[dry_run]

    def close(self) -> None:
        while self._running:
            _, pack = self._running.popitem()
            self.exit_codes.append(pack.close())


@pytest.fixture(scope="session")
def policy_packs() -> Iterator[PolicyPacks]:
    packs = PolicyPacks()
    try:
        yield packs
    finally:
        packs.close()
