"""Drill day end to end: secrets restored, the stand-in web app (tests/support/webapp, the npm
ConvexHttpClient in the page) pointed at the drill deployment and used in real headless
Chromium, screenshots as evidence in the bucket and inline in report.html, which itself renders
in Chromium; a snapshot missing the course fails at "open a course" with its screenshot."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from pathlib import Path

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.config.model import DrillWeb, ValueRef, WebExpect, WebFill, WebStep
from deedbox.drill.browser import chromium
from deedbox.drill.run import run_drill
from tests.drill.conftest import SNAPSHOT_AT, VAULT_VALUES
from tests.support.browser import WEBAPP, needs_browser, png_facts
from tests.support.convex_server import FunctionError
from tests.support.snapshots import Table, community_tables, snapshot_bytes

pytestmark = needs_browser
ROOT = Path(__file__).resolve().parents[2]
PREFIX = "drills/20261127T020000Z/"
PASSWORD = "drill-user-pw-5e6f"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _welcome_title() -> str:
    """The title of the `welcome` course in the drill's snapshot (community_tables(60), as conftest takes it)."""
    courses = next(t for t in community_tables(60) if t.name == "courses")
    return next(d["title"] for d in courses.docs if d.get("slug") == "welcome")


def _web() -> DrillWeb:
    port = _port()
    return DrillWeb(
        command=f"node {(WEBAPP / 'serve.mjs').relative_to(ROOT)} --port {port} --log-env SESSION_SECRET",
        url=f"http://127.0.0.1:{port}", start_timeout_s=30, step_timeout_s=5,
        env={"SESSION_SECRET": ValueRef("secret", "SESSION_SECRET")},
        steps=(WebStep("log in", goto="/login"),
               WebStep("email", fill=WebFill("#email", ValueRef("literal", "m0@guild.example"))),
               WebStep("password", fill=WebFill("#password", ValueRef("env", "DRILL_USER_PASSWORD"))),
               WebStep("submit", click="button[type=submit]"),
               WebStep("signed in", expect=WebExpect(text="Welcome, member 0")),
               WebStep("open the feed", goto="/feed"),
               WebStep("posts shown", expect=WebExpect(selector=".post", min_count=1)),
               WebStep("go to the welcome course", goto="/courses/welcome"),
               WebStep("open a course", expect=WebExpect(selector="h1", text=_welcome_title()), timeout_s=2)))


@pytest.fixture
def web_config(config, reference_config_path):
    """The reference config (its path: the app command runs from the repository root) with the web
    check and no query checks (they would fail first on a snapshot without the course)."""
    assert Path(config.path).parent == ROOT
    return dataclasses.replace(config, drills=dataclasses.replace(config.drills, checks=(), web=_web()))


@pytest.fixture
def web_tools(tools, drill_server):
    def sign_in(db, args, identity):
        if not args.get("password"):
            raise FunctionError("a password is required")
        return next(({"name": u["name"]} for u in db.query("users") if u["email"] == args.get("email")), None)
    drill_server.register_query("users:signIn", sign_in)
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": os.environ.get("HOME", "/root"),
           "DRILL_USER_PASSWORD": PASSWORD, **dict(tools.env)}
    return dataclasses.replace(tools, env=env)


def _report(store) -> dict:
    return json.loads(store.get_bytes(PREFIX + "report.json"))


def test_drill_day_restores_data_secrets_and_the_app_in_chromium(web_config, web_tools, snapshot, store, fake):
    report, code = run_drill(web_config, web_tools)
    assert code == 0, "\n".join([f"{s.name}: {s.status} {s.detail}" for s in report.steps]
                                 + [f"web {w['name']}: {w['status']} {w['detail']}" for w in report.web])
    doc = _report(store)
    assert doc["stores"] == {"backend": "passed", "secrets": "passed", "media": "skipped", "web app": "passed"}
    assert [w["status"] for w in doc["web"]] == ["passed"] * 10  # the app start + nine steps
    shots = [w["screenshot"] for w in doc["web"][1:]]
    assert all(k and k.startswith(PREFIX + "screenshots/") for k in shots)
    feed = store.get_bytes(next(k for k in shots if "posts-shown" in k))
    width, height, colours = png_facts(feed)
    assert (width, height) == (1280, 900) or width >= 800 and colours > 2  # a rendered page, not blank
    html = store.get_bytes(PREFIX + "report.html").decode()
    assert html.count("data:image/png;base64,") == 9
    evidence = html + json.dumps(doc) + store.get_bytes(PREFIX + "report.md").decode()
    assert PASSWORD not in evidence and not [v for v in VAULT_VALUES.values() if v in evidence]
    assert fake.stacks() == {}


def test_a_snapshot_missing_the_course_fails_at_open_a_course_with_its_screenshot(
        web_config, web_tools, config, store, tmp_path, fake):
    tables = [Table(t.name, t.number, [d for d in t.docs if d.get("slug") != "welcome"], t.component)
              if t.name == "courses" else t for t in community_tables(60)]
    path = tmp_path / "no-course.zip"
    path.write_bytes(snapshot_bytes(tables))
    export_snapshot(config, store, from_zip=path, reason="scheduled", now=SNAPSHOT_AT)
    report, code = run_drill(web_config, web_tools)
    assert code == 1 and report.failed_step == "web app"
    assert "browser step `open a course` failed" in report.step("web app").detail
    rows = {w["name"]: w for w in _report(store)["web"]}
    assert rows["open a course"]["status"] == "failed" and rows["posts shown"]["status"] == "passed"
    failed_shot = store.get_bytes(rows["open a course"]["screenshot"])
    assert png_facts(failed_shot)[2] > 2  # the page as it was: "Course not found"
    assert report.step("teardown").status == "passed" and fake.stacks() == {}


def test_report_html_renders_in_chromium(web_config, web_tools, snapshot, store, tmp_path):
    run_drill(web_config, web_tools)
    page_file = tmp_path / "report.html"
    page_file.write_bytes(store.get_bytes(PREFIX + "report.html"))
    page = chromium(os.environ)()
    try:
        page.goto(page_file.as_uri(), 15)
        body = page.texts(None)[0]
        assert "PASSED" in body and "RPO" in body and "RTO" in body
        assert page.texts("#store-secrets b") == ["passed"] and page.texts("#store-web-app b") == ["passed"]
        assert len(page.texts("figure.shot")) == 9
        doc = _report(store)
        assert f"{int(doc['rpo_s']) // 3600}h" in page.texts("#rpo b")[0]
        shot = page.screenshot()
        assert png_facts(shot)[2] > 10
        # every screenshot is an image the browser decoded (naturalWidth > 0), not a broken link
        widths = page.driver.execute_script(  # type: ignore[attr-defined]
            "return [...document.images].map(i => i.naturalWidth)")
        assert len(widths) == 9 and min(widths) > 0
    finally:
        page.quit()
