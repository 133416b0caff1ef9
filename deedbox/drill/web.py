"""Use the restored platform as a member would: its web app, in a real headless Chromium.

``run_web`` works in this order; a crash or Ctrl-C at any point still runs step 5:

1. find selenium, chromium and chromedriver (``EnvironmentProblem`` if one is missing), then resolve
   the app's environment and every ``fill`` value; each non-literal value is a secret from here on
   and is masked (``***``) in every detail and in the app's log tail;
2. start ``web.command`` as its own process group, with the runner's environment minus its
   ``CONVEX_*``/``AWS_*`` credentials, plus the drill deployment's URL and ``web.env``;
3. wait until ``web.url`` answers HTTP below 500, the app exits, or ``start_timeout_s`` passes;
4. open Chromium and run the steps in order, a screenshot after each; the first failure skips the
   rest;
5. quit the browser and stop the app's process group (TERM, up to 5 s, then KILL).

The outcome's first step is the app start (``START_STEP``); one step per configured step follows.
The browser is ``deedbox.drill.browser`` (the system's Chromium through Selenium; any other
plugs in as a ``BrowserFactory``).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shlex
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from deedbox.config.model import DrillWeb, ValueRef, WebExpect, WebStep
from deedbox.drill.browser import (  # noqa: F401 (find_browser, chromium: the drill's browser, re-exported)
    CREDENTIAL_PREFIXES,
    POLL_S,
    BrowserFactory,
    Page,
    StepError,
    chromium,
    find_browser,
)
from deedbox.drill.report import FAILED, PASSED, SKIPPED
from deedbox.errors import DeedboxError

START_STEP = "start the app"
LOG_TAIL_LINES = 20
STOP_GRACE_S = 5.0


@dataclass
class WebStepResult:
    name: str
    action: str  # "start" | "goto" | "fill" | "click" | "expect"
    status: str  # PASSED | FAILED | SKIPPED
    detail: str
    duration_s: float
    screenshot: bytes | None = None  # PNG, taken after the step (also after a failed one)


@dataclass
class WebOutcome:
    steps: list[WebStepResult]
    app_log_tail: str = ""  # masked

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.status == PASSED for s in self.steps)

    @property
    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps if s.status == FAILED), None)




# --------------------------------------------------------------------------- pure helpers

def app_env(base: Mapping[str, str], *, convex_url_env: str, convex_url: str,
            extra: Mapping[str, str]) -> dict[str, str]:
    """The app's environment: ``base`` without credentials, the deployment URL, then ``extra``."""
    env = {k: v for k, v in base.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    env[convex_url_env] = convex_url
    env.update(extra)
    return env


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (longest first) replaced by ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def log_tail(data: bytes, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _quote(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def expectation_problem(expect: WebExpect, texts: Sequence[str], secrets: Iterable[str] = ()) -> str | None:
    """None when the page meets ``expect``, else one line saying what was expected and found.

    ``texts`` is ``[body text]`` when ``expect.selector`` is None, else the text of each element
    matching it. With a selector, ``text`` narrows the elements counted; the count defaults to
    at least one. What the page shows is quoted masked, then shortened (a cut secret would no
    longer be recognised)."""
    secrets = list(secrets)
    if expect.selector is None:
        body = texts[0] if texts else ""
        if (expect.text or "") in body:
            return None
        return f"text {expect.text!r} not on the page (it shows {_quote(mask(body, secrets))})"
    matching = [t for t in texts if expect.text is None or expect.text in t]
    what = f"`{expect.selector}`" + ("" if expect.text is None else f" containing {expect.text!r}")
    if expect.count is not None:
        if len(matching) == expect.count:
            return None
        problem = f"expected exactly {expect.count} {what}, found {len(matching)}"
    else:
        least = 1 if expect.min_count is None else expect.min_count
        if len(matching) >= least:
            return None
        problem = f"expected at least {least} {what}, found {len(matching)}"
    if expect.text is not None and texts:
        shown = ", ".join(_quote(mask(t, secrets)) for t in texts[:3])
        problem += f" (`{expect.selector}` on the page: {shown})"
    return problem


def _describe(step: WebStep) -> str:
    if step.goto is not None:
        return f"opened {step.goto}"
    if step.fill is not None:
        return f"filled `{step.fill.selector}`"  # never the value
    if step.click is not None:
        return f"clicked `{step.click}`"
    return "the page shows what was expected"


# --------------------------------------------------------------------------- run

def run_web(web: DrillWeb, *, convex_url: str, resolve: Callable[[ValueRef], str], base_dir: Path,
            env: Mapping[str, str], browser: BrowserFactory | None = None) -> WebOutcome:
    """Start the app against ``convex_url`` and run ``web.steps`` in a browser.

    Parameters: ``resolve`` gives a ValueRef's value (a ``DeedboxError`` fails the start step);
    ``base_dir`` is where ``web.cwd`` is relative to; ``env`` is the runner's environment;
    ``browser`` replaces headless Chromium. Returns the outcome: never raises for a failed step,
    raises ``EnvironmentProblem`` when the browser is missing or does not start."""
    open_page = browser if browser is not None else chromium(env)
    started = time.monotonic()
    try:
        values = {ref: resolve(ref) for ref in _refs(web)}
    except DeedboxError as err:
        return WebOutcome(_with_skipped(web, [_start_result(FAILED, str(err), started)]))
    secrets = [v for ref, v in values.items() if ref.kind != "literal"]
    extra = {name: values[ref] for name, ref in web.env.items()}
    child_env = app_env(env, convex_url_env=web.convex_url_env, convex_url=convex_url, extra=extra)
    with tempfile.TemporaryFile() as log:
        with contextlib.ExitStack() as cleanup:
            start = _start(web, base_dir, child_env, log, cleanup, secrets)
            results = [start]
            if start.status == PASSED:
                page = open_page()
                cleanup.callback(page.quit)
                results += _run_steps(page, web, values, secrets)
        tail = mask(log_tail(_read_tail(log)), secrets)
    return WebOutcome(_with_skipped(web, results), tail)


def _refs(web: DrillWeb) -> list[ValueRef]:
    return [*web.env.values(), *(s.fill.value for s in web.steps if s.fill is not None)]


def _start_result(status: str, detail: str, started: float) -> WebStepResult:
    return WebStepResult(START_STEP, "start", status, detail, round(time.monotonic() - started, 3))


def _with_skipped(web: DrillWeb, results: list[WebStepResult]) -> list[WebStepResult]:
    done = len(results) - 1  # the start step has no configured step
    return results + [WebStepResult(s.name, s.action, SKIPPED, "an earlier step failed", 0.0)
                      for s in web.steps[done:]]


def _start(web: DrillWeb, base_dir: Path, env: dict[str, str], log: IO[bytes],
           cleanup: contextlib.ExitStack, secrets: list[str]) -> WebStepResult:
    started, cwd = time.monotonic(), base_dir / web.cwd
    try:
        argv = shlex.split(web.command)
    except ValueError as err:
        return _start_result(FAILED, f"cannot split the command `{web.command}`: {err}", started)
    if not argv:
        return _start_result(FAILED, "the command is empty", started)
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as err:
        return _start_result(FAILED, f"cannot run `{argv[0]}` in {cwd}: {err.strerror}", started)
    cleanup.callback(stop_group, proc)
    problem = _wait_until_up(web.url, proc, web.start_timeout_s)
    if problem is not None:
        last = log_tail(_read_tail(log), 1)
        return _start_result(FAILED, mask(problem + (f"; its log ends: {last}" if last else ""), secrets), started)
    return _start_result(PASSED, f"the app answers at {web.url}", started)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> str | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a local app: no proxy
    deadline = time.monotonic() + timeout_s
    while True:
        code = proc.poll()
        if code is not None:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            return f"the app {how} before answering at {url}"
        if _answers(opener, url):
            return None
        if time.monotonic() >= deadline:
            return f"the app did not answer at {url} within {timeout_s:g} s"
        time.sleep(POLL_S)


def _answers(opener: urllib.request.OpenerDirector, url: str) -> bool:
    try:
        with opener.open(url, timeout=2) as resp:
            return int(resp.status) < 500
    except urllib.error.HTTPError as err:
        return err.code < 500
    except (OSError, http.client.HTTPException):
        return False


def _read_tail(log: IO[bytes], limit: int = 64 * 1024) -> bytes:
    """The log's last whole lines within ``limit`` bytes, read without moving the offset the app
    writes at (pread). A cut first line is dropped: a cut secret would escape the mask."""
    size = os.fstat(log.fileno()).st_size
    data = os.pread(log.fileno(), min(size, limit), max(0, size - limit))
    return data if size <= limit else data.partition(b"\n")[2]


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """TERM the process group, wait until it is gone (at most ``grace_s``), then KILL what is left
    and wait for that too (a killed process takes a moment to go)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        _signal_group(proc.pid, sig)
        deadline = time.monotonic() + grace_s
        while _group_alive(proc) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _group_alive(proc):
            return


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    proc.poll()  # reap the leader: a zombie still counts as a member
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _run_steps(page: Page, web: DrillWeb, values: Mapping[ValueRef, str],
               secrets: list[str]) -> list[WebStepResult]:
    results: list[WebStepResult] = []
    for step in web.steps:
        results.append(_run_step(page, step, web, values, secrets))
        if results[-1].status == FAILED:
            break
    return results


def _run_step(page: Page, step: WebStep, web: DrillWeb, values: Mapping[ValueRef, str],
              secrets: list[str]) -> WebStepResult:
    started = time.monotonic()
    status, detail = PASSED, _describe(step)
    try:
        _act(page, step, web, values, secrets)
    except StepError as err:
        status, detail = FAILED, mask(str(err), secrets)
    try:
        shot: bytes | None = page.screenshot()
    except StepError as err:
        shot, detail = None, f"{detail} (no screenshot: {mask(str(err), secrets)})"
    return WebStepResult(step.name, step.action, status, detail, round(time.monotonic() - started, 3), shot)


def _act(page: Page, step: WebStep, web: DrillWeb, values: Mapping[ValueRef, str], secrets: list[str]) -> None:
    timeout = float(step.timeout_s or web.step_timeout_s)
    if step.goto is not None:
        page.goto(web.url + step.goto, timeout)
    elif step.fill is not None:
        page.fill(step.fill.selector, values[step.fill.value], timeout)
    elif step.click is not None:
        page.click(step.click, timeout)
    elif step.expect is not None:
        wait_for(page, step.expect, timeout, secrets)


def wait_for(page: Page, expect: WebExpect, timeout_s: float, secrets: Sequence[str] = ()) -> None:
    """Poll the page until ``expect`` holds; ``StepError`` with the last problem after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        problem = expectation_problem(expect, page.texts(expect.selector), secrets)
        if problem is None:
            return
        if time.monotonic() >= deadline:
            raise StepError(f"{problem} after {timeout_s:g} s")
        time.sleep(POLL_S)
