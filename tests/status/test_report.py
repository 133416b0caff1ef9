"""``deedbox status`` over moto: the JSON keeps its document and gains the history; -o; --publish."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from deedbox.bucket.snapshots import format_ts
from deedbox.cli import app
from deedbox.status import build_report, collect
from tests.status.conftest import HOSTILE_UPLOAD, NOW, hours


@pytest.fixture
def status(reference_config_path, store, pinned):
    """Run ``deedbox status`` in-process at ``NOW`` against the fixture bucket."""
    def run(*args: str):
        return CliRunner().invoke(app, ["status", "--config", str(reference_config_path),
                                        "--bucket", store.bucket, *args])
    return run


def test_json_keeps_its_document_and_gains_the_history(status, history):
    res = status("--format", "json")
    assert res.exit_code == 1, res.output  # media is stale: the exit code is freshness alone
    doc = json.loads(res.stdout)
    # the document status always printed, unchanged: the same keys and values
    assert doc["bucket"] == "guild-backups" and doc["fresh"] is False
    assert doc["classes"] == [
        {"data_class": "backend", "newest": format_ts(hours(2.25)), "age_hours": 2.25, "limit_hours": 6, "fresh": True,
         "detail": f"backend/happy-otter-123/{format_ts(hours(2.25))}-scheduled/; 1 newer incomplete (no manifest)"},
        {"data_class": "media", "newest": format_ts(hours(26)), "age_hours": 26.0, "limit_hours": 24, "fresh": False,
         "detail": f"records/media-sync/; last run {format_ts(hours(2))} NOT ok"},
        {"data_class": "secrets", "newest": format_ts(hours(6)), "age_hours": 6.0, "limit_hours": 24, "fresh": True,
         "detail": f"records/secrets-verify/; last run {format_ts(hours(1))} NOT ok"}]
    assert [(u["key"], set(u)) for u in doc["incomplete_uploads"]] == [(HOSTILE_UPLOAD, {"key", "initiated", "age_hours"})]
    # ... and the history it gains
    assert doc["format_version"] == 2 and doc["generated_at"] == format_ts(NOW)
    assert doc["window"] == {"days": 35, "start": format_ts(NOW - timedelta(days=35)), "end": format_ts(NOW),
                             "basis": "destination.immutability.days"}
    lanes = {lane["data_class"]: lane for lane in doc["timeline"]}
    assert {c: [e["at"] for e in lane["events"]] for c, lane in lanes.items()} == history.marks
    assert {c: lane["counts"] for c, lane in lanes.items()} == {
        "backend": {"ok": 4, "failed": 2}, "media": {"ok": 2, "failed": 1}, "secrets": {"ok": 2, "failed": 1}}
    assert not [e for lane in lanes.values() for e in lane["events"] if e["key"] in history.outside]
    assert [(d["status"], d["rto_s"]) for d in doc["drills"]] == [("failed", None), ("passed", 1320.5), ("passed", 1500.25)]
    assert doc["drill_summary"] == {"count": 3, "passed": 2, "failed": 1, "rto_newest_s": 1320.5,
                                    "rto_worst_s": 1500.25, "rto_best_s": 1320.5}
    assert [(f["kind"], f["subject"]) for f in doc["findings"]] == [
        ("stale", "media"), ("incomplete-snapshot", "backend"), ("media-sync-failed", "media"),
        ("vault-drift", "secrets"), ("incomplete-upload", HOSTILE_UPLOAD), ("drill-failed", format_ts(NOW - timedelta(days=2)))]
    assert "STRIPE_SECRET_KEY: drift" in doc["findings"][3]["detail"]


def test_freshness_and_the_report_are_one_judgement(config, store, history):
    report = build_report(config, store, NOW)
    assert list(report.classes) == collect(config, store, NOW)
    later = NOW + timedelta(hours=4)  # backend 6.25 h old now: stale; the timeline still ends at the moment
    assert [c.fresh for c in collect(config, store, later)] == [False, False, True]


def test_a_class_stale_for_longer_than_the_window_still_shows_its_age(config, store, history):
    late = NOW + timedelta(days=40)
    (media,) = [c for c in build_report(config, store, late).classes if c.data_class == "media"]
    assert media.newest == format_ts(hours(26)) and media.age_hours == 40 * 24 + 26.0 and not media.fresh


def test_text_names_the_open_findings(status, history):
    res = status()
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert lines[0].startswith("backend  fresh") and lines[1].startswith("media    STALE")
    assert "1 multipart upload(s) open for over an hour" in lines[3]
    assert [": ".join(line.split(": ")[:2]) for line in lines[4:]] == [
        "open: incomplete-snapshot backend", "open: media-sync-failed media", "open: vault-drift secrets",
        f"open: drill-failed {format_ts(NOW - timedelta(days=2))}"]


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_output_goes_to_the_file_instead_of_stdout(status, history, tmp_path, fmt):
    printed = status("--format", fmt)
    target = tmp_path / "out" / f"status.{fmt}"
    target.parent.mkdir()
    target.write_text("an older page")  # replaced whole
    written = status("--format", fmt, "-o", str(target))
    assert (printed.exit_code, written.exit_code) == (1, 1)
    assert written.stdout == "" and target.read_text() == printed.stdout
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left behind
    if fmt == "json":
        assert json.loads(target.read_text())["generated_at"] == format_ts(NOW)
    if fmt == "html":
        assert target.read_text().startswith("<!doctype html>")


def test_output_into_a_missing_directory_is_one_usage_error(status, history, tmp_path):
    res = status("--format", "html", "--output", str(tmp_path / "nowhere" / "status.html"))
    assert res.exit_code == 2 and res.stderr.startswith("deedbox: error: cannot write ") and len(res.stderr.splitlines()) == 1


def test_publish_writes_the_page_once_under_status(status, history, store, tmp_path):
    page = tmp_path / "status.html"
    res = status("--format", "html", "--publish", "-o", str(page))
    key = f"status/{format_ts(NOW)}.html"
    assert res.exit_code == 1 and res.stdout == key + "\n"
    assert store.get_bytes(key).decode() == page.read_text()
    assert store.s3.head_object(Bucket=store.bucket, Key=key)["ContentType"] == "text/html; charset=utf-8"

    again = status("--format", "html", "--publish")  # the same moment: the key exists
    assert again.exit_code == 2 and f"refusing to overwrite s3://{store.bucket}/{key}" in again.stderr
    assert len(store.versions(key)) == 1 and store.get_bytes(key).decode() == page.read_text()
    assert [o.key for o in store.list("status/")] == [key]


def test_publish_is_for_the_html_page(status, history, store):
    res = status("--format", "json", "--publish")
    assert res.exit_code == 2 and "--publish writes the HTML page: use it with --format html" in res.stderr
    assert list(store.list("status/")) == []
