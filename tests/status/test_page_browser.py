"""The status page in Debian's headless Chromium (selenium through the system chromedriver).

The page ``deedbox status --format html -o`` wrote, opened from a file: it renders (a screenshot
that is not blank), runs no script, draws one mark per event of ``status --format json`` in the
window, and every number it shows (ages, RPOs, counts, drill RPOs and RTOs, the window) is the
JSON document's for the same bucket at the same moment.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.drill.browser import chromium
from tests.status.conftest import HOSTILE
from tests.support.browser import needs_browser, png_facts

pytestmark = needs_browser

READ_PAGE = """
const value = (root, sel) => { const e = root.querySelector(sel);
  return e === null ? null : {value: e.dataset.value, text: (e.querySelector('.num') || {}).textContent || null}; };
return {
  scripts: document.scripts.length,
  verdict: document.getElementById('verdict').textContent,
  windows: [...document.querySelectorAll('.window-days')].map(e => value(e.parentElement, '.window-days')),
  cards: [...document.querySelectorAll('.card')].map(c => ({cls: c.dataset.class, fresh: c.dataset.fresh,
    age: value(c, '.age'), rpo: value(c, '.rpo'), ok: value(c, '.count-ok'), failed: value(c, '.count-failed')})),
  lanes: [...document.querySelectorAll('#timeline-svg .lane')].map(g => ({cls: g.dataset.class,
    rpo: g.querySelector('.rpo-window').dataset.hours,
    rpoWidth: g.querySelector('.rpo-window').getBoundingClientRect().width,
    marks: [...g.querySelectorAll('.mark')].map(m => [m.dataset.at, m.dataset.ok, m.dataset.key])})),
  ticks: [...document.querySelectorAll('#timeline-svg .tick-label')].map(t => t.textContent),
  svgWidth: document.getElementById('timeline-svg').getBoundingClientRect().width,
  drills: [...document.querySelectorAll('tr.drill')].map(r => ({key: r.dataset.key, status: r.dataset.status,
    rpo: value(r, '.rpo'), rto: value(r, '.rto'),
    human: [...r.querySelectorAll('.human')].map(h => h.textContent)})),
  summary: Object.fromEntries(['drill-count', 'drill-passed', 'drill-failed', 'rto-newest', 'rto-worst', 'rto-best']
    .map(id => [id, value(document, '.' + id)])),
  findings: value(document, '.findings-count'),
  findingItems: [...document.querySelectorAll('li.finding')].map(li => li.dataset.kind),
  body: document.body.innerText,
};
"""


def json_number(value):
    """What the page shows for a JSON number: the data-value and the shown text, both as JSON prints it."""
    shown = "" if value is None else json.dumps(value)
    return {"value": shown, "text": shown or None}


def seconds_of(human: str) -> int:
    parts = dict((unit, int(n)) for n, unit in re.findall(r"(\d+)([dhms])", human))
    return parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


@pytest.fixture
def rendered(reference_config_path, store, history, pinned, tmp_path):
    args = ["status", "--config", str(reference_config_path), "--bucket", store.bucket]
    doc_run = CliRunner().invoke(app, [*args, "--format", "json"])
    page_file = tmp_path / "status.html"
    page_run = CliRunner().invoke(app, [*args, "--format", "html", "-o", str(page_file)])
    assert (doc_run.exit_code, page_run.exit_code) == (1, 1), doc_run.output + page_run.output
    page = chromium(os.environ)()
    try:
        page.driver.set_window_size(1280, 1800)
        page.goto(page_file.as_uri(), 30)
        yield json.loads(doc_run.stdout), page.driver.execute_script(READ_PAGE), page.screenshot()
    finally:
        page.quit()


def test_the_page_renders_and_runs_nothing(rendered):
    doc, seen, shot = rendered
    width, height, colours = png_facts(shot)
    assert width >= 1000 and height >= 600 and colours > 20  # the red banner, text, cards: not a blank page
    assert seen["scripts"] == 0 and HOSTILE in seen["body"]  # shown as text, never run
    assert seen["verdict"].startswith("STALE: media (26.0 h old, RPO 24 h)")
    assert seen["svgWidth"] > 800 and len(seen["ticks"]) >= 3


def test_one_mark_per_event_in_the_window(rendered, history):
    doc, seen, _ = rendered
    drawn = {lane["cls"]: lane["marks"] for lane in seen["lanes"]}
    expected = {lane["data_class"]: [[e["at"], str(e["ok"]).lower(), e["key"]] for e in lane["events"]]
                for lane in doc["timeline"]}
    assert {c: sorted(marks) for c, marks in drawn.items()} == {c: sorted(marks) for c, marks in expected.items()}
    assert {c: sorted(m[0] for m in marks) for c, marks in drawn.items()} == history.marks
    # failed marks are drawn last (on top): a dense lane never hides one
    assert all([m[1] for m in marks] == sorted((m[1] for m in marks), reverse=True) for marks in drawn.values())
    assert {lane["cls"]: lane["rpo"] for lane in seen["lanes"]} == {"backend": "6", "media": "24", "secrets": "24"}
    widths = {lane["cls"]: lane["rpoWidth"] for lane in seen["lanes"]}
    assert 0 < widths["backend"] < widths["media"] == widths["secrets"]  # the shaded RPO windows, to scale


def test_every_number_on_the_page_is_the_json_documents(rendered):
    doc, seen, _ = rendered
    assert seen["windows"] == [json_number(doc["window"]["days"])] * 2  # the meta line and the timeline's title
    lanes = {lane["data_class"]: lane for lane in doc["timeline"]}
    assert seen["cards"] == [
        {"cls": c["data_class"], "fresh": str(c["fresh"]).lower(), "age": json_number(c["age_hours"]),
         "rpo": json_number(c["limit_hours"]), "ok": json_number(lanes[c["data_class"]]["counts"]["ok"]),
         "failed": json_number(lanes[c["data_class"]]["counts"]["failed"])} for c in doc["classes"]]
    assert [(r["key"], r["status"], r["rpo"], r["rto"]) for r in seen["drills"]] == [
        (d["key"], d["status"], json_number(d["rpo_s"]), json_number(d["rto_s"])) for d in doc["drills"]]
    for row, drill in zip(seen["drills"], doc["drills"], strict=True):  # the human durations say the same
        shown = [seconds_of(h) for h in row["human"]]
        assert shown == [round(v) for v in (drill["rpo_s"], drill["rto_s"]) if v is not None]
    s = doc["drill_summary"]
    assert seen["summary"] == {"drill-count": json_number(s["count"]), "drill-passed": json_number(s["passed"]),
                               "drill-failed": json_number(s["failed"]), "rto-newest": json_number(s["rto_newest_s"]),
                               "rto-worst": json_number(s["rto_worst_s"]), "rto-best": json_number(s["rto_best_s"])}
    assert seen["findings"] == json_number(len(doc["findings"]))
    assert seen["findingItems"] == [f["kind"] for f in doc["findings"]]
