"""The drill's web check: the stand-in web app (tests/support/webapp) in real headless Chromium,
reading a Convex test deployment through the npm ConvexHttpClient; plus the pure parts, and the
orchestration with a scripted page where no browser is needed."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from deedbox.config.model import DrillWeb, ValueRef, WebExpect, WebFill, WebStep
from deedbox.drill import web as W
from deedbox.drill.web import StepError, WebStepResult, app_env, expectation_problem, log_tail, mask, run_web
from deedbox.errors import CheckFailed, EnvironmentProblem
from tests.support.browser import WEBAPP, needs_browser, png_facts
from tests.support.convex_server import ConvexTestServer, FunctionError
from tests.support.snapshots import community_tables, snapshot_bytes

ROOT = Path(__file__).resolve().parents[2]
SERVE = WEBAPP.relative_to(ROOT) / "serve.mjs"
PASSWORD, SESSION = "pw-Tr0ub4dor-3", "sess-9f8e7d6c5b4a"
RUNNER_ENV = {"PATH": os.environ.get("PATH", os.defpath), "HOME": os.environ.get("HOME", "/root"),
              "DRILL_USER_PASSWORD": PASSWORD, "CONVEX_DEPLOY_KEY": "prod:happy-otter-123|PROD-KEY",
              "AWS_SECRET_ACCESS_KEY": "AWS-RUNNER-SECRET"}
VAULT = {"SESSION_SECRET": SESSION}


def resolve(ref: ValueRef, env=RUNNER_ENV) -> str:
    if ref.kind == "literal":
        return ref.name
    if ref.kind == "env":
        if ref.name not in env:
            raise CheckFailed(f"{ref.name} is not set in the drill runner's environment")
        return env[ref.name]
    return VAULT[ref.name]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _started_group(tail: str) -> int:
    return int(re.search(r"process group (\d+)", tail).group(1))


# --------------------------------------------------------------------------- the app's deployment

def _register(srv: ConvexTestServer) -> None:
    def sign_in(db, args, identity):
        if not args.get("password"):
            raise FunctionError("a password is required")
        return next(({"name": u["name"]} for u in db.query("users") if u["email"] == args.get("email")), None)

    srv.register_query("users:signIn", sign_in)
    srv.register_query("posts:feed", lambda db, args, identity: db.query("posts")[: int(args.get("limit", 20))])
    srv.register_query("courses:get", lambda db, args, identity: next(
        (c for c in db.query("courses") if c.get("slug") == args.get("slug")), None))


@pytest.fixture
def deployment():
    """The restored drill deployment: the community dataset and the app's functions."""
    with ConvexTestServer(admin_key="drill-otter-1|drill-key") as srv:
        srv.load_zip(snapshot_bytes(community_tables(60)))
        _register(srv)
        yield srv


def _welcome(srv: ConvexTestServer) -> dict:
    return next(c for c in srv.db().query("courses") if c["slug"] == "welcome")


MEMBER_EMAIL = ValueRef("literal", "m0@guild.example")


def steps(course_title: str, *, email: ValueRef = MEMBER_EMAIL) -> tuple[WebStep, ...]:
    return (
        WebStep("log in", goto="/login"),
        WebStep("email", fill=WebFill("#email", email)),
        WebStep("password", fill=WebFill("#password", ValueRef("env", "DRILL_USER_PASSWORD"))),
        WebStep("submit", click="button[type=submit]"),
        WebStep("signed in", expect=WebExpect(text="Welcome, member 0"), timeout_s=2),
        WebStep("open the feed", goto="/feed"),
        WebStep("posts shown", expect=WebExpect(selector=".post", min_count=1)),
        WebStep("open a course", goto="/courses/welcome"),
        WebStep("course shown", expect=WebExpect(selector="h1", text=course_title), timeout_s=1),
        WebStep("back to the feed", goto="/feed"),
    )


def app(step_list, *, port: int | None = None, log_env: str = "SESSION_SECRET,CONVEX_DEPLOY_KEY,AWS_SECRET_ACCESS_KEY",
        command: str | None = None, **kw) -> DrillWeb:
    port = port or free_port()
    return DrillWeb(command=command or f"node {SERVE} --port {port} --log-env {log_env}",
                    url=f"http://127.0.0.1:{port}", steps=tuple(step_list), start_timeout_s=20, step_timeout_s=5,
                    env={"SESSION_SECRET": ValueRef("secret", "SESSION_SECRET"),
                         "VITE_SITE_NAME": ValueRef("literal", "Guild (drill)")}, **kw)


def run(web: DrillWeb, srv: ConvexTestServer, **kw):
    return run_web(web, convex_url=srv.url, resolve=resolve, base_dir=ROOT, env=RUNNER_ENV, **kw)


def _summary(outcome) -> list[tuple[str, str, str]]:
    return [(s.name, s.status, s.detail) for s in outcome.steps]


# --------------------------------------------------------------------------- real Chromium

@needs_browser
def test_member_logs_in_reads_the_feed_and_opens_a_course(deployment):
    outcome = run(app(steps(_welcome(deployment)["title"])), deployment)
    assert outcome.ok and outcome.failed_step is None, _summary(outcome)
    assert [s.name for s in outcome.steps] == [W.START_STEP, "log in", "email", "password", "submit", "signed in",
                                               "open the feed", "posts shown", "open a course", "course shown",
                                               "back to the feed"]
    assert outcome.steps[0].detail == f"the app answers at http://127.0.0.1:{outcome.steps[0].detail.rsplit(':', 1)[1]}"
    assert outcome.steps[2].detail == "filled `#email`" and outcome.steps[7].detail == \
        "the page shows what was expected"
    shots = [s.screenshot for s in outcome.steps[1:]]
    assert outcome.steps[0].screenshot is None and all(shots)
    facts = [png_facts(s) for s in shots]
    assert all(w == 1280 and 0 < h <= 900 and colours > 1 for w, h, colours in facts), facts
    assert len(set(shots)) >= 3  # login, feed and course pages differ
    # the app got the deployment URL and the vault's value, not the runner's credentials
    assert "serving on" in outcome.app_log_tail and "SESSION_SECRET=***" in outcome.app_log_tail
    assert "CONVEX_DEPLOY_KEY=undefined" in outcome.app_log_tail
    assert "AWS_SECRET_ACCESS_KEY=undefined" in outcome.app_log_tail
    assert ("POST", "/api/query") in deployment.requests  # through ConvexHttpClient, from the page's origin
    assert any(h.get("Origin", "").startswith("http://127.0.0.1:") for h in deployment.headers)
    assert group_members(_started_group(outcome.app_log_tail)) == []


@needs_browser
def test_missing_course_fails_at_its_expectation_with_a_screenshot(deployment):
    title = _welcome(deployment)["title"]
    deployment.db().delete("courses", _welcome(deployment)["_id"])
    outcome = run(app(steps(title)), deployment)
    assert not outcome.ok and outcome.failed_step == "course shown"
    failed = outcome.steps[-2]
    assert (failed.action, failed.status) == ("expect", "failed")
    assert failed.detail == (f"expected at least 1 `h1` containing {title!r}, found 0 "
                             "(`h1` on the page: 'Course not found') after 1 s")
    assert failed.screenshot is not None and png_facts(failed.screenshot)[2] > 1
    assert (outcome.steps[-1].status, outcome.steps[-1].screenshot) == ("skipped", None)
    assert [s.status for s in outcome.steps[:-2]] == ["passed"] * 9
    assert group_members(_started_group(outcome.app_log_tail)) == []


@needs_browser
def test_secret_values_never_reach_a_detail_or_the_log(deployment):
    email = "vault-only-member@guild.example"
    env = {**RUNNER_ENV, "DRILL_USER_EMAIL": email}
    web = app(steps("x", email=ValueRef("env", "DRILL_USER_EMAIL")))
    outcome = run_web(web, convex_url=deployment.url, resolve=lambda r: resolve(r, env), base_dir=ROOT, env=env)
    assert outcome.failed_step == "signed in"
    detail = next(s.detail for s in outcome.steps if s.name == "signed in")
    assert detail.startswith("text 'Welcome, member 0' not on the page (it shows '") and "No member with email ***" \
        in detail and detail.endswith("after 2 s")
    text = "\n".join([outcome.app_log_tail, *(s.detail for s in outcome.steps)])
    for secret in (email, PASSWORD, SESSION):
        assert secret not in text
    assert "SESSION_SECRET=***" in outcome.app_log_tail


@needs_browser
def test_the_whole_process_group_is_stopped(deployment):
    port = free_port()
    web = app(steps(_welcome(deployment)["title"])[:1], port=port,
              command=f"sh -c 'node {SERVE} --port {port} & wait'")  # the server is the leader's child
    outcome = run(web, deployment)
    assert outcome.ok, _summary(outcome)
    group = _started_group(outcome.app_log_tail)
    assert group_members(group) == []


# --------------------------------------------------------------------------- the app start

def test_app_exiting_at_start_fails_with_its_exit_code(deployment):
    if shutil.which("node") is None:
        pytest.skip("the stand-in web app needs node")
    web = app(steps("x"), convex_url_env="NEXT_PUBLIC_CONVEX_URL")  # the app reads VITE_CONVEX_URL
    outcome = run(web, deployment, browser=_never_opened)
    start = outcome.steps[0]
    assert (start.name, start.status) == (W.START_STEP, "failed")
    assert start.detail == (f"the app exited with code 2 before answering at {web.url}; its log ends: "
                            "VITE_CONVEX_URL is not set: the app has no deployment to talk to")
    assert [s.status for s in outcome.steps[1:]] == ["skipped"] * len(web.steps)
    assert outcome.failed_step == W.START_STEP and "VITE_CONVEX_URL is not set" in outcome.app_log_tail


def test_app_that_never_answers_and_a_missing_command():
    never = DrillWeb(command=f"{sys.executable} -c 'import time; time.sleep(30)'", url=f"http://127.0.0.1:{free_port()}",
                     steps=(WebStep("home", goto="/"),), start_timeout_s=1)
    out = run_web(never, convex_url="http://c", resolve=resolve, base_dir=ROOT, env=RUNNER_ENV, browser=_never_opened)
    assert out.steps[0].detail == f"the app did not answer at {never.url} within 1 s"
    missing = DrillWeb(command="no-such-app --port 1", url="http://127.0.0.1:1", steps=(WebStep("home", goto="/"),))
    out = run_web(missing, convex_url="http://c", resolve=resolve, base_dir=ROOT, env=RUNNER_ENV, browser=_never_opened)
    assert out.steps[0].detail == f"cannot run `no-such-app` in {ROOT}: No such file or directory"
    unbalanced = DrillWeb(command="node 'serve.mjs", url="http://127.0.0.1:1", steps=(WebStep("home", goto="/"),))
    out = run_web(unbalanced, convex_url="http://c", resolve=resolve, base_dir=ROOT, env=RUNNER_ENV,
                  browser=_never_opened)
    assert out.steps[0].detail == "cannot split the command `node 'serve.mjs`: No closing quotation"


def test_a_value_that_cannot_be_resolved_fails_the_start_before_anything_runs(tmp_path):
    web = DrillWeb(command=f"touch {tmp_path}/started", url="http://127.0.0.1:1",
                   steps=(WebStep("pw", fill=WebFill("#p", ValueRef("env", "UNSET"))),))
    out = run_web(web, convex_url="http://c", resolve=resolve, base_dir=ROOT, env=RUNNER_ENV, browser=_never_opened)
    assert _summary(out) == [(W.START_STEP, "failed", "UNSET is not set in the drill runner's environment"),
                             ("pw", "skipped", "an earlier step failed")]
    assert not (tmp_path / "started").exists()


def _never_opened():
    raise AssertionError("the browser must not open when the app did not start")


# --------------------------------------------------------------------------- a scripted page

class ScriptedPage:
    """A Page whose texts come from a list; records what was done."""

    def __init__(self, texts=("",), fail_on: str | None = None) -> None:
        self.done: list[tuple] = []
        self._texts, self.fail_on, self.quit_called = list(texts), fail_on, False

    def _do(self, *what) -> None:
        self.done.append(what)
        if what[0] == self.fail_on:
            raise StepError(f"no element matches `{what[1]}` after 1 s (typed {what[-1]})")

    def goto(self, url, timeout_s):
        self._do("goto", url)

    def fill(self, selector, value, timeout_s):
        self._do("fill", selector, value)

    def click(self, selector, timeout_s):
        self._do("click", selector)

    def texts(self, selector):
        return [self._texts.pop(0) if len(self._texts) > 1 else self._texts[0]]

    def screenshot(self):
        return b"\x89PNG fake"

    def quit(self):
        self.quit_called = True


def _python_app(*step_list) -> DrillWeb:
    port = free_port()
    return DrillWeb(command=f"{sys.executable} -m http.server {port} --bind 127.0.0.1", url=f"http://127.0.0.1:{port}",
                    steps=tuple(step_list), start_timeout_s=10, step_timeout_s=1,
                    env={"TOKEN": ValueRef("secret", "SESSION_SECRET")})


def _pid_of(url: str) -> int:
    """The pid of the ``http.server`` serving ``url``, from /proc."""
    wanted = ["-m", "http.server", url.rsplit(":", 1)[1]]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if cmdline.read_bytes().split(b"\0")[1:4] == [w.encode() for w in wanted]:
                return int(cmdline.parent.name)
    raise AssertionError(f"no http.server for {url}")


def test_steps_run_in_order_and_a_failure_skips_the_rest():
    page = ScriptedPage(["loading", "Welcome, member 0"], fail_on="click")
    web = _python_app(WebStep("home", goto="/login"), WebStep("wait", expect=WebExpect(text="Welcome")),
                      WebStep("pw", fill=WebFill("#password", ValueRef("env", "DRILL_USER_PASSWORD"))),
                      WebStep("go", click="#go"), WebStep("later", goto="/feed"))
    out = run_web(web, convex_url="http://c", resolve=resolve, base_dir=ROOT, env=RUNNER_ENV, browser=lambda: page)
    assert page.done == [("goto", web.url + "/login"), ("fill", "#password", PASSWORD), ("click", "#go")]
    assert [(s.name, s.action, s.status) for s in out.steps] == [
        (W.START_STEP, "start", "passed"), ("home", "goto", "passed"), ("wait", "expect", "passed"),
        ("pw", "fill", "passed"), ("go", "click", "failed"), ("later", "goto", "skipped")]
    assert out.steps[4].detail == "no element matches `#go` after 1 s (typed #go)"
    assert [s.screenshot is not None for s in out.steps] == [False, True, True, True, True, False]
    assert page.quit_called and out.failed_step == "go" and not out.ok
    assert isinstance(out.steps[1], WebStepResult) and out.steps[1].duration_s >= 0


def test_values_are_masked_in_details():
    page = ScriptedPage(["x"], fail_on="fill")
    web = _python_app(WebStep("pw", fill=WebFill("#password", ValueRef("env", "DRILL_USER_PASSWORD"))))
    out = run_web(web, convex_url="http://c", resolve=resolve, base_dir=ROOT, env=RUNNER_ENV, browser=lambda: page)
    assert out.steps[1].detail == "no element matches `#password` after 1 s (typed ***)"


def test_ctrl_c_stops_the_app_and_the_browser_then_propagates():
    web = _python_app(WebStep("home", goto="/"))
    pids: list[int] = []

    class Interrupted(ScriptedPage):
        def goto(self, url, timeout_s):
            pids.append(_pid_of(web.url))
            raise KeyboardInterrupt

    page = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        run_web(web, convex_url="http://c", resolve=resolve, base_dir=ROOT, env=RUNNER_ENV, browser=lambda: page)
    assert page.quit_called and group_members(pids[0]) == []


def test_stop_group_kills_what_ignores_sigterm():
    deaf = ("import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); print('ready', flush=True); "
            "time.sleep(30)")  # ignores TERM, and has a child in its group
    proc = subprocess.Popen([sys.executable, "-c", deaf], start_new_session=True, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # SIGTERM is ignored now
    W.stop_group(proc, grace_s=0.3)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL and group_members(proc.pid) == []


# --------------------------------------------------------------------------- the browser's absence

def test_missing_binaries_and_selenium_are_environment_problems(tmp_path, monkeypatch):
    with pytest.raises(EnvironmentProblem) as err:
        W.find_browser({"PATH": str(tmp_path)})
    assert str(err.value) == ("the drill's browser check needs Chromium, which is not installed: "
                              "apt-get install chromium chromium-driver (or set DEEDBOX_CHROMIUM)")
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    with pytest.raises(EnvironmentProblem) as err:
        W.find_browser({"PATH": str(tmp_path)})
    assert "needs chromedriver, which is not installed" in str(err.value)
    with pytest.raises(EnvironmentProblem) as err:
        W.find_browser({"PATH": str(tmp_path), "DEEDBOX_CHROMEDRIVER": "/nope/chromedriver"})
    assert str(err.value) == ("DEEDBOX_CHROMEDRIVER=/nope/chromedriver is not an executable file; "
                              "unset it or point it at chromedriver")
    assert W.find_browser({"PATH": "", "DEEDBOX_CHROMIUM": str(fake), "DEEDBOX_CHROMEDRIVER": str(fake)}) == \
        (str(fake), str(fake))
    monkeypatch.setitem(sys.modules, "selenium", None)
    with pytest.raises(EnvironmentProblem) as err:
        W.find_browser({"PATH": str(tmp_path)})
    assert str(err.value) == "the drill's browser check needs selenium, which is not installed: pip install selenium"


def test_no_browser_means_the_app_is_never_started(tmp_path):
    web = DrillWeb(command=f"touch {tmp_path}/started", url="http://127.0.0.1:1", steps=(WebStep("h", goto="/"),))
    with pytest.raises(EnvironmentProblem):
        run_web(web, convex_url="http://c", resolve=resolve, base_dir=ROOT, env={"PATH": str(tmp_path)})
    assert not (tmp_path / "started").exists()


# --------------------------------------------------------------------------- pure parts

def test_app_env_drops_credentials_and_adds_the_deployment():
    base = {"PATH": "/bin", "CONVEX_DEPLOY_KEY": "k", "CONVEX_TEAM_TOKEN": "t", "AWS_ACCESS_KEY_ID": "a",
            "AWS_SESSION_TOKEN": "s", "VITE_CONVEX_URL": "https://prod.convex.cloud", "MY_CONVEX_THING": "kept"}
    assert app_env(base, convex_url_env="VITE_CONVEX_URL", convex_url="https://drill.convex.cloud",
                   extra={"SESSION_SECRET": "v", "CONVEX_SITE_NAME": "explicitly given"}) == {
        "PATH": "/bin", "VITE_CONVEX_URL": "https://drill.convex.cloud", "MY_CONVEX_THING": "kept",
        "SESSION_SECRET": "v", "CONVEX_SITE_NAME": "explicitly given"}


def test_mask_replaces_longest_first_and_ignores_empty_values():
    assert mask("token abc123 and abc", ["abc", "abc123", ""]) == "token *** and ***"
    assert mask("nothing", []) == "nothing"


def test_log_tail_keeps_the_last_lines():
    data = "".join(f"line {i}\n" for i in range(30)).encode() + b"\xff broken"
    assert log_tail(data, 3) == "line 28\nline 29\n\ufffd broken"


@pytest.mark.parametrize("expect, texts, problem", [
    (WebExpect(text="Welcome"), ["Welcome, member 0"], None),
    (WebExpect(text="Welcome"), ["Log in\n  email   password"], "text 'Welcome' not on the page (it shows "
                                                                    "'Log in email password')"),
    (WebExpect(text="Welcome"), ["x" * 200], f"text 'Welcome' not on the page (it shows '{'x' * 119}…')"),
    (WebExpect(selector=".post", min_count=1), [], "expected at least 1 `.post`, found 0"),
    (WebExpect(selector=".post", min_count=2), ["a", "b"], None),
    (WebExpect(selector=".post"), ["a"], None),
    (WebExpect(selector=".post", count=3), ["a", "b"], "expected exactly 3 `.post`, found 2"),
    (WebExpect(selector=".post", count=0), [], None),
    (WebExpect(selector="h1", text="Welcome"), ["Welcome to the guild"], None),
    (WebExpect(selector="h1", text="Welcome"), ["Course not found"],
     "expected at least 1 `h1` containing 'Welcome', found 0 (`h1` on the page: 'Course not found')"),
    (WebExpect(selector="h1", text="Welcome"), [], "expected at least 1 `h1` containing 'Welcome', found 0"),
    (WebExpect(selector="li", text="a", count=1), ["a", "ab", "c"],
     "expected exactly 1 `li` containing 'a', found 2 (`li` on the page: 'a', 'ab', 'c')"),
])
def test_expectation_problem(expect, texts, problem):
    assert expectation_problem(expect, texts) == problem


def test_expectation_problem_masks_before_it_shortens():
    secret = "s" * 30
    shown = expectation_problem(WebExpect(text="Welcome"), [f"{'x' * 110} {secret}"], [secret])
    assert shown == f"text 'Welcome' not on the page (it shows '{'x' * 110} ***')"
    cut = expectation_problem(WebExpect(selector="p", text="W"), [f"{'y' * 115}{secret}"], [secret])
    assert "s" * 5 not in cut and cut.endswith(f"'{'y' * 115}***')")


def test_a_cut_first_line_of_a_long_log_is_dropped(tmp_path):
    with (tmp_path / "log").open("w+b") as log:
        log.write(b"SECRET-VALUE-" + b"x" * 70_000 + b"\nlast line\n")
        log.flush()
        assert W._read_tail(log) == b"last line\n"


def test_outcome_properties():
    start = WebStepResult(W.START_STEP, "start", "passed", "", 0.1)
    assert W.WebOutcome([start]).ok and W.WebOutcome([start]).failed_step is None
    failed = W.WebOutcome([start, WebStepResult("a", "goto", "failed", "x", 1.0),
                           WebStepResult("b", "goto", "skipped", "", 0.0)])
    assert not failed.ok and failed.failed_step == "a"
    assert not W.WebOutcome([]).ok
