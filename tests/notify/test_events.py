"""Event derivation (pure): each operation's document, exit code and error line -> one Event."""

from __future__ import annotations

import pytest

from deedbox.drill.report import FAILED, PASSED, CheckOutcome, DrillReport, Step
from deedbox.drill.run import STEPS
from deedbox.notify import FAILURE, STALE, SUCCESS, Event, derive, probe_event, wanted

SNAP = "backend/happy-otter-123/20261127T000000Z-scheduled/"


def test_export_success_points_at_the_manifest():
    doc = {"bucket": "b", "key": SNAP + "snapshot.zip", "manifest": SNAP + "manifest.json", "size": 10,
           "tables": 2, "documents": 5, "storage_files": 0, "reason": "scheduled"}
    event = derive("export", 0, doc, None)
    assert (event.kind, event.exit_code, event.evidence_key) == (SUCCESS, 0, SNAP + "manifest.json")
    assert event.evidence == f"s3://b/{SNAP}manifest.json"
    assert event.title == f"export stored {SNAP}snapshot.zip"
    assert event.details == ("2 tables, 5 documents, 0 storage files, 10 bytes, reason scheduled",)


@pytest.mark.parametrize("code, title, todo", [
    (2, "export could not run", "fix what the error names (credentials, network, the bucket, a key), "
                                "then rerun `deedbox export --reason manual`"),
    (1, "export failed", "read the error, fix what it names, then rerun `deedbox export --reason manual`"),
    (130, "export was interrupted", "rerun `deedbox export --reason manual`; the job was cancelled or killed "
                                    "before it ended"),
])
def test_an_export_that_raised_is_a_failure_with_its_error(code, title, todo):
    event = derive("export", code, None, "environment variable CONVEX_DEPLOY_KEY is not set")
    assert event == Event("export", FAILURE, title, code, failed_step="export",
                          details=("environment variable CONVEX_DEPLOY_KEY is not set",), next_steps=(todo,))


def test_verify_failure_lists_problems_and_says_what_to_do():
    problems = [f"table posts: digest differs ({i})" for i in range(7)]
    doc = {"snapshot": SNAP, "bucket": "b", "mode": "read-data", "ok": False, "problems": problems,
           "newer_incomplete": []}
    event = derive("verify", 1, doc, None)
    assert (event.kind, event.failed_step) == (FAILURE, "verify (read-data)")
    assert event.evidence_key == SNAP + "manifest.json"
    assert event.details == (*problems[:5], "… and 2 more")
    assert event.next_steps == (
        "take a new export (`deedbox export --reason manual`) and check it with "
        "`deedbox verify --snapshot latest --read-data`",
        f"do not restore from {SNAP}: it differs from its manifest")
    ok = derive("verify", 0, {**doc, "ok": True, "problems": []}, None)
    assert (ok.kind, ok.title, ok.next_steps) == (SUCCESS, "snapshot verified (read-data)", ())


def test_media_replicate_missing_objects_suggest_backfill():
    doc = {"mode": "replicate", "ok": False, "bucket": "b", "record_key": "records/media-sync/20261127T000000Z.json",
           "classes": {"images": {"source": 5, "missing": 2, "lagging": 1}, "video": {"source": 1, "missing": 0}},
           "errors": [], "error_count": 0}
    event = derive("media-sync", 1, doc, None)
    assert event.title == "media replicate NOT ok: images"
    assert event.failed_step == "media sync: images"
    assert event.details == ("images: 2 missing, 1 lagging",)
    assert event.evidence_key == "records/media-sync/20261127T000000Z.json"
    assert event.next_steps[0] == "copy what replication missed: `deedbox media sync --backfill`"


def test_media_sync_failed_copies_count_hidden_errors():
    errors = [f"uploads/{i}.png: AccessDenied" for i in range(50)]
    doc = {"mode": "sync", "ok": False, "bucket": "b", "record_key": "records/media-sync/x.json",
           "classes": {"images": {"copied": 3, "failed": 60}}, "errors": errors, "error_count": 60}
    event = derive("media-sync", 1, doc, None)
    assert event.details[0] == "images: 60 failed"
    assert event.details[-1] == "… and 56 more"  # 51 lines shown 5, plus 10 errors not in the record
    assert event.next_steps[0] == "rerun `deedbox media sync` (it copies only what is missing)"


def test_secrets_drift_and_failed_replica():
    doc = {"action": "verify", "ok": False, "recorded": "records/secrets-verify/20261127T000000Z.json", "keys": [
        {"key": "STRIPE_SECRET_KEY", "state": "drift", "replicas": {"eu-central-1": "InSync"}},
        {"key": "SESSION_SECRET", "state": "in-sync", "replicas": {"eu-central-1": "Failed"}},
        {"key": "CONVEX_DEPLOY_KEY", "state": "not-checked", "replicas": {}}]}
    event = derive("secrets-verify", 1, doc, None)
    assert event.title == "secrets NOT in sync: SESSION_SECRET, STRIPE_SECRET_KEY"
    assert event.failed_step == "secrets verify: SESSION_SECRET, STRIPE_SECRET_KEY"
    assert event.details == ("STRIPE_SECRET_KEY: drift", "SESSION_SECRET: replica eu-central-1 Failed")
    assert event.evidence_key == "records/secrets-verify/20261127T000000Z.json"
    assert event.next_steps == (
        "STRIPE_SECRET_KEY changed live: if intended, store it with `deedbox secrets push --from convex` "
        "(`--env-file` for external keys); if not, find out who changed it",
        "a vault replica of SESSION_SECRET is not in sync: check Secrets Manager replication in that region")


def test_status_stale_only_from_status_exit_1():
    doc = {"bucket": "b", "fresh": False, "incomplete_uploads": [], "classes": [
        {"data_class": "backend", "newest": "x", "age_hours": 7.0, "limit_hours": 6, "fresh": False,
         "detail": SNAP + "; 1 newer incomplete (no manifest)"},
        {"data_class": "media", "newest": "x", "age_hours": 1.0, "limit_hours": 24, "fresh": True, "detail": ""},
        {"data_class": "secrets", "newest": None, "age_hours": None, "limit_hours": 24, "fresh": False,
         "detail": "no successful run in records/secrets-verify/"}]}
    event = derive("status", 1, doc, None)
    assert (event.kind, event.title) == (STALE, "backups STALE: backend, secrets")
    assert event.failed_step == "freshness: backend, secrets"
    assert event.evidence_key == SNAP + "manifest.json"
    assert event.details == (f"backend: 7.0h old, limit 6h ({SNAP}; 1 newer incomplete (no manifest))",
                             "secrets: no backup, limit 24h (no successful run in records/secrets-verify/)")
    assert event.next_steps == (
        "take fresh backups now: `deedbox export --reason manual`, `deedbox secrets verify --from convex`",
        "then find out why the scheduled job did not: the Actions runs of deedbox-export.yml, "
        "deedbox-secrets-verify.yml")
    only_secrets = derive("status", 1, {**doc, "classes": doc["classes"][2:]}, None)
    assert only_secrets.evidence_key == "records/secrets-verify/"
    assert derive("status", 1, None, "backup.yaml is invalid").kind == FAILURE  # exit 1 without a document
    assert derive("status", 2, None, "no bucket").kind == FAILURE
    assert derive("export", 1, None, "x").kind == FAILURE  # stale comes from status only
    fresh = derive("status", 0, {**doc, "fresh": True, "classes": [doc["classes"][1]]}, None)
    assert (fresh.kind, fresh.details) == (SUCCESS, ("media: 1.0h old, limit 24h",))


def _report(failed: str | None, *, keys: bool = True, teardown: str = PASSED) -> dict:
    steps = [Step(name, status=PASSED, detail="ok") for name in STEPS]
    report = DrillReport(drill_id="20261127T020000Z", stack="guild-drill-20261127t020000z",
                         started_at="2026-11-27T02:00:00+00:00", snapshot=SNAP, steps=steps, rpo_s=7200, rto_s=95)
    if failed:
        report.step(failed).status, report.step(failed).detail = FAILED, "1 of 3 checks failed: open the feed"
        report.checks = [CheckOutcome("open the feed", "posts:feed", FAILED, "expected at least 1 items, got 0")]
    report.step("teardown").status = teardown
    if keys:
        prefix = "drills/20261127T020000Z/"
        report.report_keys = [prefix + "report.json", prefix + "report.md", prefix + "report.html"]
    return report.to_dict()


def test_drill_failure_from_the_report_document():
    event = derive("drill", 1, _report("checks"), None)
    assert (event.kind, event.title) == (FAILURE, "drill 20261127T020000Z FAILED at `checks`")
    assert event.failed_step == "checks"
    assert event.evidence_key == "drills/20261127T020000Z/report.html"
    assert event.details == ("checks: 1 of 3 checks failed: open the feed",
                             "check open the feed: expected at least 1 items, got 0")
    assert event.next_steps == (
        "the restored app does not answer as expected: open the report to see which check failed and why",)


def test_drill_failure_with_a_stack_left_behind_and_no_report():
    event = derive("drill", 1, _report("import snapshot", keys=False, teardown=FAILED), None)
    assert event.failed_step == "import snapshot" and event.evidence_key is None
    assert event.details[-1] == "the report was not uploaded (see the job's log)"
    assert event.next_steps[1] == "the drill stack was not destroyed: run `deedbox drill reap`"
    passed = derive("drill", 0, _report(None), None)
    assert (passed.kind, passed.title) == (SUCCESS, "drill 20261127T020000Z passed")
    assert passed.details == (f"snapshot {SNAP}, RPO 7200s, RTO 95s",)


@pytest.mark.parametrize("kind, on, sent", [
    (FAILURE, ("failure", "stale"), True), (STALE, ("failure", "stale"), True),
    (SUCCESS, ("failure", "stale"), False), (SUCCESS, ("success",), True), (FAILURE, ("success",), False),
    (STALE, ("failure",), False),
])
def test_on_filters_kinds(kind, on, sent):
    assert wanted(Event("status", kind, "t", 0), on) is sent


def test_the_test_event_always_goes_out():
    event = probe_event()
    assert (event.operation, event.kind) == ("test", SUCCESS)
    assert wanted(event, ()) is True


def test_unknown_operation_is_a_bug():
    with pytest.raises(ValueError):
        derive("plan", 0, None, None)
