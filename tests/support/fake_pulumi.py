"""A fake ``pulumi`` executable for driving the Automation API without the real CLI.

``FakePulumi.install(root)`` writes ``root/bin/pulumi`` (a Python script run by this venv's
interpreter); ``pulumi.automation.PulumiCommand(root=root)`` then runs it for every command. It
answers the subcommands ``LocalWorkspace``/``Stack`` use, with the shapes they parse:

``version``; ``stack init NAME``; ``stack select --stack NAME`` ("no stack named … found" when
absent); ``stack ls --json``; ``stack rm --yes NAME`` (refused while resources remain, like
the real CLI without ``--force``); ``stack tag set|ls``; ``config set-all``; ``config --json``;
``up --yes --skip-preview``; ``destroy --yes --skip-preview``; ``stack output --json
[--show-secrets]`` (secrets masked as ``[secret]``); ``stack history --json``.

State lives under the ``file://`` directory of ``PULUMI_BACKEND_URL`` (like the DIY backend);
``root/behaviour.json`` injects outputs and failures (``{"fail": {"up": "message"}}``), or turns
on *program mode*: ``up`` runs the program in the work dir under Pulumi's mocks, with dynamic
resources created (and on ``destroy`` deleted) by their real providers;
every call is appended to ``root/calls.jsonl`` with the backend URL it saw (never other env).
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

SCRIPT = r'''#!{python}
import json, os, sys, time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
args = [a for a in sys.argv[1:] if a != "--non-interactive"]
backend = os.environ.get("PULUMI_BACKEND_URL", "")
with open(ROOT / "calls.jsonl", "a") as fh:
    fh.write(json.dumps({"args": args, "backend": backend, "cwd": os.getcwd(),
                         "passphrase_set": bool(os.environ.get("PULUMI_CONFIG_PASSPHRASE"))}) + "\n")
behaviour = json.loads((ROOT / "behaviour.json").read_text()) if (ROOT / "behaviour.json").exists() else {}
state_dir = Path(backend[len("file://"):]) if backend.startswith("file://") else ROOT / "state"
state_dir.mkdir(parents=True, exist_ok=True)
STATE = state_dir / "fake-pulumi-stacks.json"
stacks = json.loads(STATE.read_text()) if STATE.exists() else {}
NOW = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def save():
    STATE.write_text(json.dumps(stacks, indent=1))


def die(msg, code=255):
    sys.stderr.write("error: " + msg + "\n")
    sys.exit(code)


def opt(name):
    return args[args.index(name) + 1] if name in args else None


def need(name):
    if name not in stacks:
        die(f"no stack named '{name}' found")
    return stacks[name]


def maybe_fail(step):
    msg = behaviour.get("fail", {}).get(step)
    if msg:
        die(msg)


def history(kind):
    return [{"kind": kind, "startTime": NOW, "endTime": NOW, "message": "", "environment": {},
             "config": {}, "result": "succeeded", "version": 1, "resourceChanges": {}}]


def run_program(config):
    """Program mode: run the Pulumi program in the cwd (as the language host would) under mocks,
    with dynamic resources really created by their providers (their CRUD is Python, so it can
    run here); other resources echo their inputs. Returns (outputs, secret keys, created)."""
    import asyncio, base64, runpy
    import dill
    import pulumi
    from pulumi.runtime import mocks, rpc, settings
    from pulumi.runtime import config as pconfig
    from pulumi.runtime.stack import run_in_stack

    created, stack_out = [], {}

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, a):
            inputs = dict(a.inputs)
            if a.typ.startswith("pulumi-python:dynamic"):
                blob = inputs.pop("__provider")
                res = dill.loads(base64.b64decode(blob)).create(inputs)
                created.append({"type": a.typ, "id": res.id, "outs": res.outs, "provider": blob})
                return res.id, {**inputs, **(res.outs or {})}
            created.append({"type": a.typ, "id": a.name + "-id"})
            return a.name + "-id", {**inputs, "arn": "arn:aws:iam::000000000000:role/" + a.name}

        def call(self, a):
            return {}

    class Monitor(mocks.MockMonitor):
        def RegisterResource(self, request):
            resp = super().RegisterResource(request)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = resp.urn
            return resp

        def RegisterResourceOutputs(self, request):
            if request.urn == getattr(self, "stack_urn", None):
                stack_out.update(rpc.deserialize_properties(request.outputs))
            return super().RegisterResourceOutputs(request)

    m = Mocks()
    monitor = Monitor(m)
    settings.reset_options(project="deedbox-drill", stack=name, preview=False)
    settings.configure(mocks.MockSettings(monitor=monitor, monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
                                          engine=mocks.MockEngine(None), project="deedbox-drill", stack=name,
                                          dry_run=False, organization=None, callbacks=None))
    pconfig.set_all_config({k: v["value"] for k, v in config.items()}, [])
    sys.path.insert(0, os.getcwd())
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(run_in_stack(lambda: runpy.run_path(os.getcwd(), run_name="__main__")))
    outputs, secrets = {}, []
    for k, v in stack_out.items():
        if rpc.is_rpc_secret(v):
            secrets.append(k)
            v = rpc.unwrap_rpc_secret(v)
        outputs[k] = v
    return outputs, secrets, created


def destroy_program(created):
    import base64
    import dill
    for res in reversed(created):
        if "provider" in res:
            dill.loads(base64.b64decode(res["provider"])).delete(res["id"], res["outs"])


cmd = args[:2]
name = opt("--stack")
if args[:1] == ["version"]:
    print(behaviour.get("version", "v3.272.0"))
elif cmd == ["stack", "init"]:
    if args[2] in stacks:
        die(f"stack '{args[2]}' already exists")
    maybe_fail("init")
    stacks[args[2]] = {"config": {}, "tags": {}, "outputs": {}, "secrets": [], "resources": 0}
    save()
elif cmd == ["stack", "select"]:
    need(name)
elif cmd == ["stack", "ls"]:
    print(json.dumps([{"name": n, "current": False, "updateInProgress": False,
                       "resourceCount": s["resources"]} for n, s in sorted(stacks.items())]))
elif cmd == ["stack", "rm"]:
    target = [a for a in args[2:] if not a.startswith("--")][-1]
    s = need(target)
    maybe_fail("rm")
    if s["resources"] and "--force" not in args:
        die(f"'{target}' still has resources; removal rejected")
    del stacks[target]
    save()
elif args[:3] == ["stack", "tag", "set"]:
    need(name)["tags"][args[3]] = args[4]
    save()
elif args[:3] == ["stack", "tag", "ls"]:
    print(json.dumps(need(name)["tags"]))
elif args[:2] == ["config", "set-all"]:
    s = need(name)
    i = 2
    while i < len(args):
        if args[i] in ("--plaintext", "--secret"):
            key, _, value = args[i + 1].partition("=")
            s["config"][key] = {"value": value, "secret": args[i] == "--secret"}
            i += 2
        else:
            i += 1
    save()
elif args[:1] == ["config"]:
    print(json.dumps(need(name)["config"]))
elif args[:1] == ["up"] and behaviour.get("program"):
    s = need(name)
    maybe_fail("up")
    outputs, secrets, created = run_program(s["config"])
    s.update(outputs=outputs, secrets=secrets, created=created, resources=len(created) or 1)
    save()
    print("Resources: + %d created" % s["resources"])
elif args[:1] == ["destroy"] and behaviour.get("program"):
    s = need(name)
    maybe_fail("destroy")
    destroy_program(s.get("created", []))
    s["outputs"], s["secrets"], s["resources"], s["created"] = {}, [], 0, []
    save()
    print("Resources: - deleted")
elif args[:1] == ["up"]:
    s = need(name)
    maybe_fail("up")
    out = behaviour.get("outputs", {})
    s["outputs"] = {k: v["value"] if isinstance(v, dict) else v for k, v in out.items()}
    s["secrets"] = [k for k, v in out.items() if isinstance(v, dict) and v.get("secret")]
    s["resources"] = behaviour.get("resources", 5)
    save()
    print("Resources: + %d created" % s["resources"])
elif args[:1] == ["destroy"]:
    s = need(name)
    maybe_fail("destroy")
    s["outputs"], s["secrets"], s["resources"] = {}, [], 0
    save()
    print("Resources: - deleted")
elif args[:2] == ["stack", "output"]:
    s = need(name)
    show = "--show-secrets" in args
    print(json.dumps({k: (v if show or k not in s["secrets"] else "[secret]") for k, v in s["outputs"].items()}))
elif args[:2] == ["stack", "history"]:
    need(name)
    print(json.dumps(history("update")))
else:
    die("fake pulumi: unsupported command " + " ".join(args), 2)
'''


class FakePulumi:
    """Handle on one installed fake CLI: its root (for ``PulumiCommand``), calls and state."""

    def __init__(self, root: Path, state_dir: Path) -> None:
        self.root = root
        self.state_dir = state_dir

    @classmethod
    def install(cls, root: Path, state_dir: Path) -> FakePulumi:
        (root / "bin").mkdir(parents=True, exist_ok=True)
        exe = root / "bin" / "pulumi"
        exe.write_text(SCRIPT.replace("{python}", sys.executable, 1))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(root, state_dir)

    def behave(self, *, outputs: dict[str, Any] | None = None, fail: dict[str, str] | None = None,
               program: bool = False) -> None:
        """Set the outputs ``up`` produces (``{"k": {"value": v, "secret": True}}``) and failures;
        ``program=True`` runs the real program instead (dynamic providers really create/delete)."""
        (self.root / "behaviour.json").write_text(json.dumps(
            {"outputs": outputs or {}, "fail": fail or {}, "program": program}))

    def calls(self) -> list[list[str]]:
        path = self.root / "calls.jsonl"
        return [json.loads(line)["args"] for line in path.read_text().splitlines()] if path.exists() else []

    def call_records(self) -> list[dict[str, Any]]:
        path = self.root / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def stacks(self) -> dict[str, Any]:
        path = self.state_dir / "fake-pulumi-stacks.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def add_stack(self, name: str, *, tags: dict[str, str], resources: int = 3,
                  config: dict[str, str] | None = None) -> None:
        """Seed a stack left behind by a killed drill (for ``reap`` tests)."""
        stacks = self.stacks()
        stacks[name] = {"config": {k: {"value": v, "secret": False} for k, v in (config or {}).items()},
                        "tags": tags, "outputs": {}, "secrets": [], "resources": resources}
        (self.state_dir / "fake-pulumi-stacks.json").write_text(json.dumps(stacks))
