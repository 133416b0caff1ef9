"""The pure parts of status: records and drill reports described, findings, the axis, durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deedbox.bucket.drills import DrillRecord, parse_report
from deedbox.status.freshness import ClassStatus
from deedbox.status.history import Event, Evidence, Lane, Window, describe_media, describe_secrets
from deedbox.status.page import duration, num
from deedbox.status.report import DrillSummary, drill_findings, findings
from deedbox.status.timeline import LEFT, RIGHT, WIDTH, ticks, x_of

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_media_records_name_what_is_missing_and_survive_foreign_shapes():
    doc = {"ok": False, "mode": "sync", "classes": {"video": {"missing": 2, "failed": 1}, "images": {"missing": 0}},
           "error_count": 4}
    assert describe_media(doc) == ("sync: video: 2 missing; video: 1 copies failed; 4 errors",
                                   ("video: 2 missing", "video: 1 copies failed", "4 errors"))
    assert describe_media({"ok": True, "mode": "replicate", "classes": {"a": {}, "b": {}}}) == ("replicate: 2 classes ok", ())
    assert describe_media({"ok": False, "classes": "nonsense", "error_count": "x"}) == \
        ("media: the run is not ok", ("the run is not ok",))


def test_secrets_records_name_the_keys_out_of_sync():
    doc = {"ok": False, "keys": {"B": "drift", "A": "missing-in-vault", "C": "in-sync", "D": "not-checked"}}
    assert describe_secrets(doc) == ("A: missing-in-vault; B: drift", ("A: missing-in-vault", "B: drift"))
    assert describe_secrets({"ok": True, "keys": {"A": "in-sync"}}) == ("1 keys in sync", ())
    assert describe_secrets({"ok": False, "keys": []}) == ("the verification is not ok (a replica?)", ())


def test_a_drill_report_is_coerced_never_trusted():
    record = parse_report("drills/x/report.json", {
        "status": "failed", "failed_step": "checks", "rpo_s": True, "rto_s": "<b>12</b>",
        "steps": [{"name": "checks", "detail": "<script>x</script>"}, "junk"],
        "stores": ["not", "a", "dict"], "report_keys": ["drills/x/report.md", "drills/x/report.html"]})
    assert record == DrillRecord("drills/x/report.json", "failed", failed_step="checks",
                                 failed_detail="<script>x</script>", html="drills/x/report.html")
    assert parse_report("k", {"rto_s": float("nan")}) == DrillRecord("k", "unreadable", detail="the report has no status")
    assert parse_report("k", {"status": "passed", "rto_s": 61}).rto_s == 61.0


def test_failed_drills_are_open_until_a_drill_passes():
    def drill(key: str, status: str, rto: float | None = None) -> DrillRecord:
        return DrillRecord(key, status, failed_step="checks" if status == "failed" else None, rto_s=rto)

    drills = (drill("d/5", "failed"), drill("d/4", "unreadable"), drill("d/3", "passed", 90.0),
              drill("d/2", "failed"), drill("d/1", "passed", 120.5))
    assert [(f.kind, f.subject) for f in drill_findings(drills)] == [("drill-failed", "d/5"), ("drill-unreadable", "d/4")]
    assert drill_findings(drills[2:]) == []
    assert DrillSummary.of(drills) == DrillSummary(5, 2, 3, 90.0, 120.5, 90.0)
    assert DrillSummary.of(()) == DrillSummary(0, 0, 0, None, None, None)


def test_findings_stale_first_then_failed_runs_and_drift():
    bad = Event(NOW - timedelta(hours=1), False, "records/secrets-verify/x.json", "K: drift", ("K: drift",))
    replica = Event(NOW - timedelta(hours=1), False, "records/secrets-verify/y.json", "not ok", ())
    stale = ClassStatus("media", None, None, 24, False, "no successful run")
    fresh = ClassStatus("secrets", "x", 1.0, 24, True, "")
    lane = Lane("x", 1, ())
    found = findings([Evidence(stale, lane, ()), Evidence(fresh, lane, (bad, replica))], (), ())
    assert [(f.kind, f.subject, f.key) for f in found] == [
        ("stale", "media", None), ("vault-drift", "secrets", "records/secrets-verify/x.json")]
    assert found[1].detail == "20261203T110000Z (2 since the newest good one): K: drift"
    assert findings([Evidence(fresh, lane, (replica,))], (), ())[0].kind == "secrets-verify-failed"


def test_axis_ticks_are_round_and_inside_the_window():
    month = Window.ending(NOW, 35)
    found = ticks(month)
    assert 3 <= len(found) <= 10 and all(month.start <= t <= month.end for t in found)
    assert all(t.hour == 0 and t.minute == 0 for t in found) and found[1] - found[0] == timedelta(days=7)
    day = Window.ending(NOW.replace(minute=17), 1)
    hourly = ticks(day)
    assert hourly[1] - hourly[0] == timedelta(hours=3) and all(t.hour % 3 == 0 and t.minute == 0 for t in hourly)
    assert x_of(month, month.start - timedelta(days=9)) == LEFT and x_of(month, NOW + timedelta(days=1)) == WIDTH - RIGHT


def test_numbers_print_as_json_prints_them_and_durations_read_well():
    assert [num(v) for v in (None, 7, 7.0, 26.25, 1320.5)] == ["", "7", "7.0", "26.25", "1320.5"]
    assert [duration(s) for s in (None, 45, 123.4, 3725, 200000)] == ["", "45s", "2m 03s", "1h 02m 05s", "2d 07h"]
