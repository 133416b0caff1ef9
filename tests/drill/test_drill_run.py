"""``deedbox drill run`` end to end: real Automation API over a fake pulumi, moto, Convex test server.

Every failure path must end with the stack destroyed and removed and a report naming the step.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys

from deedbox.drill.run import STEPS, run_drill
from tests.drill.conftest import DRILL_KEY


def _report(store, key="drills/20261127T020000Z/report.json") -> dict:
    return json.loads(store.get_bytes(key))


def _torn_down(fake) -> bool:
    verbs = [c[:2] for c in fake.calls()]
    return fake.stacks() == {} and ["destroy", "--skip-preview"] in verbs and ["stack", "rm"] in verbs


def test_full_drill_passes_and_tears_down(config, tools, fake, snapshot, drill_server, store):
    report, code = run_drill(config, tools)
    assert code == 0, [(s.name, s.status, s.detail) for s in report.steps]
    assert [(s.name, s.status) for s in report.steps] == [
        ("verify snapshot", "passed"), ("stack up", "passed"), ("restore secrets", "passed"), ("code push", "skipped"),
        ("import snapshot", "passed"), ("round trip", "passed"), ("media", "skipped"), ("checks", "passed"),
        ("web app", "skipped"), ("teardown", "passed"), ("report upload", "passed")]
    assert fake.stacks() == {}
    doc = _report(store)
    assert doc["status"] == "passed" and doc["failed_step"] is None
    assert doc["snapshot"] == snapshot.object.key.rsplit("/", 1)[0] + "/"
    assert doc["rpo_s"] == 7200.0 and doc["rto_s"] is not None
    assert [c["status"] for c in doc["checks"]] == ["passed"] * 3
    assert "round trip" in store.get_bytes("drills/20261127T020000Z/report.md").decode()
    # the drill deployment got the whole snapshot, imported as into an empty deployment
    assert sum(len(t.docs) for t in drill_server.deployment.component("").values()) == \
        sum(t["count"] for t in snapshot.tables)
    text = json.dumps(doc) + store.get_bytes("drills/20261127T020000Z/report.md").decode()
    assert DRILL_KEY not in text and "PROD-KEY" not in text
    init = next(c for c in fake.calls() if c[:2] == ["stack", "init"])
    assert init[2] == "drill-20261127T020000Z"
    tags = [c for c in fake.calls() if c[:3] == ["stack", "tag", "set"]]
    assert ["deedbox:expires", "2026-11-27T06:00:00Z"] in [c[3:5] for c in tags]


def test_corrupted_snapshot_fails_before_anything_is_created(config, tools, fake, snapshot, store):
    key = snapshot.object.key
    store.s3.put_object(Bucket=store.bucket, Key=key, Body=b"not a zip")  # a newer version hides it
    report, code = run_drill(config, tools)
    assert code == 1 and report.failed_step == "verify snapshot"
    assert not [c for c in fake.calls() if c[0] in ("up", "stack") and c[:2] != ["stack", "ls"]]
    assert report.step("teardown").status == "skipped"
    assert _report(store)["failed_step"] == "verify snapshot"


def _assert_failed_at(step, config, tools, fake, store):
    report, code = run_drill(config, tools)
    assert code == 1, report.to_dict()
    assert report.failed_step == step
    assert report.step("teardown").status == "passed"
    assert _torn_down(fake)
    doc = _report(store)
    assert doc["failed_step"] == step and doc["status"] == "failed"
    after = STEPS[STEPS.index(step) + 1:STEPS.index("teardown")]
    assert all(report.step(s).status == "skipped" for s in after)
    return report


def test_stack_up_failure(config, tools, fake, snapshot, store):
    fake.behave(fail={"up": "creating drill deployment: HTTP 503"})
    report = _assert_failed_at("stack up", config, tools, fake, store)
    assert "HTTP 503" in report.step("stack up").detail


def test_code_push_failure_and_env(config, tools, fake, snapshot, store):
    cmd = (f"{sys.executable} -c \"import os,sys; e=os.environ; "
           f"sys.exit(7 if e.get('CONVEX_DEPLOY_KEY')=={DRILL_KEY!r} else 9)\"")
    cfg = dataclasses.replace(config, drills=dataclasses.replace(config.drills, code_push=cmd))
    report = _assert_failed_at("code push", cfg, tools, fake, store)
    assert "exited 7" in report.step("code push").detail  # it saw the drill key, not prod's


def test_code_push_success(config, tools, fake, snapshot, store):
    cmd = f"{sys.executable} -c \"import os,sys; sys.exit(0 if 'PROD' not in os.environ['CONVEX_DEPLOY_KEY'] else 1)\""
    cfg = dataclasses.replace(config, drills=dataclasses.replace(config.drills, code_push=cmd))
    report, code = run_drill(cfg, tools)
    assert code == 0 and report.step("code push").status == "passed"


def test_import_failure(config, tools, fake, snapshot, store, drill_server):
    drill_server.fail_next("/api/import", status=500, times=50)
    _assert_failed_at("import snapshot", config, tools, fake, store)


def test_round_trip_mismatch(config, tools, fake, snapshot, store, drill_server):
    drill_server.db().insert("stray", {"note": "left over"}, component="old")  # not in the snapshot
    report = _assert_failed_at("round trip", config, tools, fake, store)
    assert "stray" in report.step("round trip").detail


def test_failing_check(config, tools, fake, snapshot, store, drill_server):
    drill_server.functions.pop(("query", "courses:get"))
    report = _assert_failed_at("checks", config, tools, fake, store)
    failed = [c for c in report.checks if c.status == "failed"]
    assert [c.name for c in failed] == ["open a course"]
    assert "courses:get" in failed[0].detail


def test_check_expectation_not_met(config, tools, fake, snapshot, store, drill_server):
    drill_server.register_query("posts:feed", lambda db, args, ident: [])
    report = _assert_failed_at("checks", config, tools, fake, store)
    assert "at least 1" in next(c.detail for c in report.checks if c.name == "open the feed")


def test_report_upload_failure(config, tools, fake, snapshot, store):
    store.put_new("drills/20261127T020000Z/report.json", b"{}")  # write-once: the key is taken
    report, code = run_drill(config, tools)
    assert code == 1 and report.failed_step == "report upload"
    assert report.step("teardown").status == "passed" and _torn_down(fake)
    assert "refusing to overwrite" in report.step("report upload").detail


def test_sigterm_mid_drill_still_tears_down(config, tools, fake, snapshot, store):
    cmd = f"{sys.executable} -c \"import os,signal,time; os.kill(os.getppid(), signal.SIGTERM); time.sleep(0.5)\""
    cfg = dataclasses.replace(config, drills=dataclasses.replace(config.drills, code_push=cmd))
    report, code = run_drill(cfg, tools)
    assert code == 130
    assert report.failed_step == "code push" and "interrupted" in report.step("code push").detail
    assert _torn_down(fake)
    assert _report(store)["failed_step"] == "code push"
    assert signal.getsignal(signal.SIGTERM) is not None  # handlers restored, process alive


def test_ctrl_c_mid_drill_still_tears_down(config, tools, fake, snapshot, store):
    def interrupting(url, key):
        raise KeyboardInterrupt
    tools = dataclasses.replace(tools, client_factory=interrupting)
    report, code = run_drill(config, tools)
    assert code == 130 and report.failed_step == "restore secrets"  # the first call to the drill deployment
    assert _torn_down(fake)


def test_self_hosted_target(config, tools, fake, snapshot, store, drill_server):
    """A dedicated self-hosted drill backend: URL and admin key from the env, import replaceAll
    (so a previous drill's data is replaced), no deployment outputs needed from the stack."""
    from deedbox.config.model import EnvRef

    target = dataclasses.replace(config.drills.target, kind="self-hosted", project=None,
                                 url=EnvRef("DRILL_URL"), admin_key=EnvRef("DRILL_ADMIN_KEY"))
    cfg = dataclasses.replace(config, drills=dataclasses.replace(config.drills, target=target))
    drill_server.db().insert("users", {"name": "from the last drill"})
    fake.behave(outputs={"readerRoleArn": "arn:aws:iam::222222222222:role/r"})
    env = {**tools.env, "DRILL_URL": drill_server.url, "DRILL_ADMIN_KEY": DRILL_KEY}
    report, code = run_drill(cfg, dataclasses.replace(tools, env=env))
    assert code == 0, [(s.name, s.status, s.detail) for s in report.steps]
    assert fake.stacks() == {}
    users = drill_server.deployment.component("")["users"].docs
    assert not any(b"from the last drill" in line for line in users.values())


def test_self_hosted_without_env_fails_at_stack_up(config, tools, fake, snapshot, store):
    from deedbox.config.model import EnvRef

    target = dataclasses.replace(config.drills.target, kind="self-hosted", project=None,
                                 url=EnvRef("DRILL_URL"), admin_key=EnvRef("DRILL_ADMIN_KEY"))
    cfg = dataclasses.replace(config, drills=dataclasses.replace(config.drills, target=target))
    report = _assert_failed_at("stack up", cfg, tools, fake, store)
    assert "DRILL_URL and DRILL_ADMIN_KEY" in report.step("stack up").detail
