"""``deedbox drill run``: prove the newest backup restores, on a stack that always goes away.

Order: verify the newest snapshot (read-data; a damaged snapshot fails *before* anything is
created) → ``up`` the drill stack (fresh Convex deployment, deploy key, read-only role) →
restore secrets (the vault's keys that live in Convex set as the drill deployment's environment
variables, at the snapshot's restore-point versions, read back by fingerprint: before the code
push, because an auth config that reads ``process.env`` refuses to deploy without them) →
optionally push the app's code → import the snapshot → round trip (export the drill deployment
again; every table's count and content digest must equal the stored snapshot's, both read at once:
a reordered table or a re-encoding is not a change) → media (sampled references in
the restored documents exist in the backup; ``_storage`` count) → the configured checks → the web
app in headless Chromium (``drills.web``) → teardown (destroy + remove) → report (json, md, html,
screenshots) to ``drills/<ts>/`` in the bucket.

Teardown runs whatever happened: a failed step, a failed check, Ctrl-C, or SIGTERM (turned into
``KeyboardInterrupt`` while the drill runs; ignored while tearing down so an impatient second
signal cannot leak the stack — ``drill reap`` is for a ``kill -9``). The report is written
after teardown because objects are write-once: it must already say whether teardown worked.
Collaborators (store, stack backend, Convex client, command runner, clock) are parameters.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deedbox.backend.verify import compare_content, download_verified
from deedbox.bucket.client import BucketClient
from deedbox.bucket.layout import PREFIXES
from deedbox.bucket.snapshots import format_ts
from deedbox.config.model import Config, DrillCheck, ValueRef
from deedbox.convex.api import ConvexApi
from deedbox.convex.client import ConvexClient
from deedbox.drill.report import (
    FAILED,
    PASSED,
    CheckOutcome,
    DrillReport,
    Step,
    expectation_problem,
    render_markdown,
    seconds_between,
)
from deedbox.drill.stacks import StackBackend
from deedbox.errors import CheckFailed, DeedboxError, EnvironmentProblem, UsageError
from deedbox.restore.common import VerifiedSnapshot, local_copy, verified_snapshot
from deedbox.restore.point import secret_versions
from deedbox.secrets.restore import apply_restore, plan_restore
from deedbox.secrets.vault import Vault, secret_name
from deedbox.topology.drill import drill_tags

STEPS = ("verify snapshot", "stack up", "restore secrets", "code push", "import snapshot", "round trip", "media",
         "checks", "web app", "teardown", "report upload")
CODE_PUSH_TIMEOUT_S = 1800
EXPORT_DEADLINE_S = 3600.0


class _StepFailed(Exception):
    """A step failed; its Step already says why. Ends the drill's forward path."""


@dataclass
class Target:
    url: str
    key: str = field(repr=False)
    fresh: bool  # a new deployment (requireEmpty) or a dedicated self-hosted one (replaceAll)


def run_command(argv: list[str], env: Mapping[str, str], cwd: str | None) -> tuple[int, str]:
    """Run the code-push command; returns (exit code, last stderr line)."""
    proc = subprocess.run(argv, env=dict(env), cwd=cwd, capture_output=True, text=True,
                          timeout=CODE_PUSH_TIMEOUT_S, check=False)
    tail = [ln for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
    return proc.returncode, tail[-1] if tail else ""


def _default_client(url: str, key: str) -> ConvexApi:
    return ConvexClient(url, key)


@dataclass
class DrillTools:
    store: BucketClient
    backend: StackBackend
    client_factory: Callable[[str, str], ConvexApi] = _default_client
    runner: Callable[[list[str], Mapping[str, str], str | None], tuple[int, str]] = run_command
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    export_poll_s: float = 2.0
    vault: Vault | None = None  # default: the config's vault (Secrets Manager)
    browser: Any = None  # deedbox.drill.web's browser factory (default: system Chromium)


class Drill:
    """One drill run; ``run()`` returns the report (it never raises for a failed step)."""

    def __init__(self, config: Config, tools: DrillTools) -> None:
        if config.drills is None:
            raise UsageError(f"{config.path or 'backup.yaml'} has no `drills` block: nothing to drill")
        self.config, self.drills, self.tools = config, config.drills, tools
        self.started = tools.clock()
        self.drill_id = f"drill-{format_ts(self.started)}"
        self.report = DrillReport(self.drill_id, self.drill_id, self.started.isoformat(timespec="seconds"),
                                  steps=[Step(name) for name in STEPS])
        self.interrupted = False
        self.teardown_ok = True
        self.secret_values: dict[str, str] = {}  # restored values, for drills.web {secret: KEY}; never reported
        self.screenshots: list[tuple[str, bytes]] = []  # (bucket key, PNG)
        self.roundtrip_summary: dict[str, Any] | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="deedbox-drill-"))

    # ------------------------------------------------------------------ the run
    def run(self) -> DrillReport:
        created = False
        try:
            with _signals_raise():
                snap = self._step("verify snapshot", self._verify)
                created = True  # from here a failed `up` may still have created something
                target = self._target(self._step("stack up", self._up))
                if self.drills.secrets and self.config.backups.secrets is not None:
                    self._step("restore secrets", lambda: self._secrets(snap, target))
                if self.drills.code_push:
                    self._step("code push", lambda: self._code_push(target))
                self._step("import snapshot", lambda: self._import(snap, target))
                roundtrip = self._step("round trip", lambda: self._round_trip(snap, target))
                if self.drills.media is not None:
                    self._step("media", lambda: self._media(snap, roundtrip))
                self._step("checks", lambda: self._checks(target))
                if self.drills.web is not None:
                    self._step("web app", lambda: self._web(target))
                self.report.rto_s = seconds_between(self.report.started_at, self._now())
        except _StepFailed:
            pass
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            if created:
                with _signals_ignored():
                    self._step("teardown", self._teardown, reraise=False)
            self.report.finished_at = self._now()
            self._step("report upload", self._upload, reraise=False)
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.report

    @property
    def ok(self) -> bool:
        return self.report.passed and self.teardown_ok and not self.interrupted

    def _now(self) -> str:
        return self.tools.clock().isoformat(timespec="seconds")

    def _step(self, name: str, fn: Callable[[], Any], *, reraise: bool = True) -> Any:
        step = self.report.step(name)
        step.started_at = self._now()
        t0 = time.monotonic()
        try:
            value = fn()
        except KeyboardInterrupt:
            step.status, step.detail = FAILED, "interrupted (Ctrl-C/SIGTERM)"
            step.duration_s = round(time.monotonic() - t0, 3)
            raise
        except Exception as err:  # noqa: BLE001 - every failure of a step is recorded, then handled
            step.status, step.detail = FAILED, _describe(err)
            step.duration_s = round(time.monotonic() - t0, 3)
            if reraise:
                raise _StepFailed(name) from err
            return None
        step.status = PASSED
        step.duration_s = round(time.monotonic() - t0, 3)
        if isinstance(value, str):
            step.detail = value
        elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
            value, step.detail = value  # (value for the next step, detail)
        return value

    # ------------------------------------------------------------------ steps
    def _verify(self) -> VerifiedSnapshot:
        snap = verified_snapshot(self.tools.store, self.config, "latest", read_data=True)
        self.report.snapshot = snap.ref.prefix
        self.report.restore_point = snap.manifest.restore_point
        self.report.snapshot_taken_at = snap.ref.timestamp.isoformat(timespec="seconds")
        self.report.rpo_s = round((self.started - snap.ref.timestamp).total_seconds(), 3)
        return snap

    def _up(self) -> dict[str, Any]:
        expires = (self.started + timedelta(hours=self.drills.ttl_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        config = {"deedbox-drill:config": str(Path(self.config.path or "backup.yaml").resolve()),
                  "deedbox-drill:drillId": self.drill_id, "deedbox-drill:expiresAt": expires,
                  "deedbox-drill:bucket": self.tools.store.bucket}
        return self.tools.backend.up(self.drill_id, config=config, tags=drill_tags(self.drill_id, expires))

    def _target(self, outputs: dict[str, Any]) -> Target:
        target = self.drills.target
        if target.kind == "self-hosted":
            if target.url is None or target.admin_key is None:  # the schema requires both
                raise UsageError("drills.target: a self-hosted target needs `url` and `admin_key`")
            url, key = (self.tools.env.get(target.url.env), self.tools.env.get(target.admin_key.env))
            names = f"{target.url.env} and {target.admin_key.env}"
            fresh = False
        else:
            url, key, fresh = outputs.get("deploymentUrl"), outputs.get("deployKey"), True
            names = "stack outputs deploymentUrl and deployKey"
        if not url or not key:
            self.report.step("stack up").status = FAILED
            self.report.step("stack up").detail = f"missing {names}"
            raise _StepFailed("stack up")
        self.report.deployment_url = url
        return Target(url, key, fresh)

    def _vault(self) -> Vault:
        if self.tools.vault is None:
            self.tools.vault = Vault(self.config)
        return self.tools.vault

    def _secrets(self, snap: VerifiedSnapshot, target: Target) -> str:
        client = self.tools.client_factory(target.url, target.key)
        items = plan_restore(self.config, self._vault(), client.list_environment_variables(),
                             versions=secret_versions(snap.manifest.restore_point))
        try:
            items = apply_restore(client, items)
        finally:
            self.report.secrets = [i.to_dict() for i in items]
        self.secret_values = {i.key: i.value for i in items if i.value is not None}
        missing = [i.key for i in items if i.state == "missing-in-vault"]
        if missing:
            raise CheckFailed(f"not in the vault, so not restorable: {', '.join(missing)}")
        restored = [i for i in items if i.value is not None]
        fallback = [i.key for i in restored if i.source != "restore-point"]
        note = f"; current version used for {', '.join(fallback)}" if fallback and snap.manifest.restore_point else ""
        return f"{len(restored)} environment variables set and read back (fingerprints match){note}"

    def _code_push(self, target: Target) -> str:
        env = {k: v for k, v in self.tools.env.items() if not k.startswith("CONVEX_")}
        if target.fresh:
            env["CONVEX_DEPLOY_KEY"] = target.key
        else:
            env.update(CONVEX_SELF_HOSTED_URL=target.url, CONVEX_SELF_HOSTED_ADMIN_KEY=target.key)
        cwd = str(Path(self.config.path).resolve().parent) if self.config.path else None
        code, tail = self.tools.runner(shlex.split(self.drills.code_push), env, cwd)
        if code != 0:
            raise CheckFailed(f"`{self.drills.code_push}` exited {code}: {tail.replace(target.key, '***')}")
        return f"`{self.drills.code_push}` succeeded"

    def _import(self, snap: VerifiedSnapshot, target: Target) -> str:
        client = self.tools.client_factory(target.url, target.key)
        with local_copy(self.tools.store, snap) as path:
            written = client.import_zip(path, mode="requireEmpty" if target.fresh else "replaceAll")
        return f"{written} documents imported"

    def _round_trip(self, snap: VerifiedSnapshot, target: Target) -> tuple[Path, str]:
        """Export the drill deployment again and hold its data against the stored snapshot's.

        By content, not bytes: the restored deployment may re-encode every document (a newer
        backend's key order, float spelling or value encoding) and still hold the same data. The
        stored snapshot is read again from the bucket, hashed against the manifest on the way, so
        what it is compared with is the snapshot the manifest vouches for
        (``deedbox.backend.verify.compare_content``).
        """
        client = self.tools.client_factory(target.url, target.key)
        status = client.export(include_storage=self.config.backups.backend.include_file_storage,
                               deadline_s=EXPORT_DEADLINE_S, poll_s=self.tools.export_poll_s)
        if status.start_ts is None:
            raise CheckFailed("the drill deployment reported a completed export without its start_ts")
        path = self.workdir / "roundtrip.zip"  # kept for the media step; the workdir goes with the drill
        with client.download_export(status.start_ts) as stream, path.open("wb") as out:
            while chunk := stream.read(1024 * 1024):
                out.write(chunk)
        stored = download_verified(self.tools.store, snap.manifest, self.workdir / "stored.zip")
        try:
            result = compare_content(stored, path)
        finally:
            stored.unlink()
        self.roundtrip_summary = result.restored
        if result.problems:
            more = f" (+{len(result.problems) - 3} more)" if len(result.problems) > 3 else ""
            raise CheckFailed("round trip differs: " + "; ".join(result.problems[:3]) + more)
        tables = result.restored["tables"]
        docs = sum(t["count"] for t in tables)
        return path, (f"{len(tables)} tables, {docs} documents: the same data as the snapshot "
                      "(counts and content digests)")

    def _media(self, snap: VerifiedSnapshot, roundtrip: Path) -> str:
        from deedbox.drill.media import check_media

        outcome = check_media(self.config, self.tools.store, roundtrip, snap.manifest.snapshot, seed=self.drill_id,
                              roundtrip_snapshot=self.roundtrip_summary)
        self.report.media = outcome.to_dict()
        if not outcome.ok:
            raise CheckFailed(outcome.summary())
        return outcome.summary()

    def _resolve(self, ref: ValueRef) -> str:
        if ref.kind == "literal":
            return ref.name
        if ref.kind == "env":
            value = self.tools.env.get(ref.name)
            if value is None:
                raise UsageError(f"drills.web: environment variable {ref.name} is not set")
            return value
        if ref.name in self.secret_values:
            return self.secret_values[ref.name]
        _, value, _ = self._vault().read_versioned(secret_name(self.config, ref.name))
        if value is None:
            raise CheckFailed(f"drills.web: the vault has no value for {ref.name}")
        return value

    def _web(self, target: Target) -> str:
        from deedbox.drill.web import run_web

        web = self.drills.web
        assert web is not None  # the step only runs when drills.web is configured
        base = Path(self.config.path).resolve().parent if self.config.path else Path.cwd()
        outcome = run_web(web, convex_url=target.url, resolve=self._resolve, base_dir=base, env=self.tools.env,
                          browser=self.tools.browser)
        prefix = f"{PREFIXES['drills']}{format_ts(self.started)}/screenshots/"
        for n, s in enumerate(outcome.steps, 1):
            key = None
            if s.screenshot:
                key = f"{prefix}{n:02d}-{_slug(s.name)}.png"
                self.screenshots.append((key, s.screenshot))
            self.report.web.append({"name": s.name, "action": s.action, "status": s.status, "detail": s.detail,
                                    "duration_s": round(s.duration_s, 3), "screenshot": key})
        if not outcome.ok:
            raise CheckFailed(f"browser step `{outcome.failed_step}` failed: "
                              + next(s.detail for s in outcome.steps if s.status == FAILED))
        return f"{len(outcome.steps)} browser steps passed in headless Chromium"

    def _checks(self, target: Target) -> str:
        client = self.tools.client_factory(target.url, target.key)
        for check in self.drills.checks:
            self.report.checks.append(_run_check(client, check))
        failed = [c.name for c in self.report.checks if c.status != PASSED]
        if failed:
            raise CheckFailed(f"{len(failed)} of {len(self.report.checks)} checks failed: {', '.join(failed)}")
        return f"{len(self.report.checks)} checks passed"

    def _teardown(self) -> str:
        self.teardown_ok = False
        self.tools.backend.destroy(self.drill_id)
        self.tools.backend.remove(self.drill_id)
        self.teardown_ok = True
        return "stack destroyed and removed"

    def _upload(self) -> str:
        import json

        from deedbox.drill.html import render_html

        prefix = f"{PREFIXES['drills']}{format_ts(self.started)}/"
        for key, png in self.screenshots:  # evidence first; the report that points at it last
            self.tools.store.put_new(key, png, content_type="image/png")
        keys = [prefix + "report.json", prefix + "report.md", prefix + "report.html"]
        self.report.report_keys = keys
        self.report.step("report upload").detail = "writing this report (report.json last)"
        body = json.dumps(self.report.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
        self.tools.store.put_new(keys[1], render_markdown(self.report).encode(), content_type="text/markdown")
        self.tools.store.put_new(keys[2], render_html(self.report, dict(self.screenshots)).encode(),
                                 content_type="text/html; charset=utf-8")
        self.tools.store.put_new(keys[0], body.encode(), content_type="application/json")
        return f"s3://{self.tools.store.bucket}/{prefix}"


def _run_check(client: ConvexApi, check: DrillCheck) -> CheckOutcome:
    who = f"{check.as_user.issuer}|{check.as_user.subject}" if check.as_user else None
    try:
        value = client.query(check.query, dict(check.args), as_user=check.as_user)
    except DeedboxError as err:
        return CheckOutcome(check.name, check.query, FAILED, _describe(err), who)
    problem = expectation_problem(check.expect, value)
    return CheckOutcome(check.name, check.query, FAILED if problem else PASSED, problem or "ok", who)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:40] or "step"


def _describe(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if isinstance(err, DeedboxError) else f"{type(err).__name__}: {text}"


@contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C while the drill runs (so the finally-teardown runs)."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")
    with _handlers(handler):
        yield


@contextmanager
def _signals_ignored() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        import sys
        sys.stderr.write("deedbox: tearing down the drill stack; not interrupting (use `drill reap` later)\n")
    with _handlers(handler):
        yield


@contextmanager
def _handlers(handler: Callable) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run_drill(config: Config, tools: DrillTools) -> tuple[DrillReport, int]:
    """Run one drill; exit code 0 passed and torn down, 1 failed, 130 interrupted."""
    if config.drills is None:
        raise EnvironmentProblem("backup.yaml has no `drills:` section")
    drill = Drill(config, tools)
    report = drill.run()
    return report, 0 if drill.ok else (130 if drill.interrupted else 1)
