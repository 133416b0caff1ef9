"""The drill proves all three stores: secrets restored into the drill deployment (before the code
push, at the snapshot's restore-point versions), media referenced by the restored documents
present in the backup, and the evidence (report.json/md/html) carrying no value."""

from __future__ import annotations

import dataclasses
import json
import sys

from deedbox.backend.export import export_snapshot
from deedbox.config.model import DrillMedia, MediaReference
from deedbox.drill.run import STEPS, run_drill
from deedbox.restore.point import capture
from tests.drill.conftest import SNAPSHOT_AT, VAULT_VALUES
from tests.support.snapshots import community_tables, snapshot_bytes

PREFIX = "drills/20261127T020000Z/"
CONVEX_KEYS = {k: v for k, v in VAULT_VALUES.items() if k != "CONVEX_DEPLOY_KEY"}  # lives_in: external


def _report(store) -> dict:
    return json.loads(store.get_bytes(PREFIX + "report.json"))


def _evidence(store) -> str:
    return "".join(store.get_bytes(PREFIX + name).decode() for name in ("report.json", "report.md", "report.html"))


def test_secrets_are_restored_before_the_code_push_and_reported_without_values(
        config, tools, snapshot, drill_server, store, tmp_path):
    # the code push stands in for `npx convex deploy`, which refuses an auth config whose
    # process.env variables are unset: it exits 4 unless the variables are already there
    script = tmp_path / "push.py"
    script.write_text(
        "import json, os, sys, urllib.request\n"
        f"req = urllib.request.Request({drill_server.url!r} + '/api/list_environment_variables', headers={{\n"
        "    'Authorization': 'Convex ' + os.environ['CONVEX_DEPLOY_KEY'], 'Convex-Client': 'npm-cli-1.48.0'})\n"
        "env = json.load(urllib.request.urlopen(req))['environmentVariables']\n"
        "sys.exit(0 if 'SESSION_SECRET' in env and 'STRIPE_SECRET_KEY' in env else 4)\n")
    cfg = dataclasses.replace(config, drills=dataclasses.replace(config.drills, code_push=f"{sys.executable} {script}"))
    report, code = run_drill(cfg, tools)
    assert code == 0, [(s.name, s.status, s.detail) for s in report.steps]
    assert report.step("code push").status == "passed"
    assert drill_server.deployment.env == CONVEX_KEYS  # the external key is never set on a deployment
    doc = _report(store)
    assert {s["key"]: (s["state"], s["matches"]) for s in doc["secrets"]} == \
        {k: ("set", True) for k in CONVEX_KEYS} | {"CONVEX_DEPLOY_KEY": ("external", None)}
    assert doc["stores"] == {"backend": "passed", "secrets": "passed", "media": "skipped", "web app": "skipped"}
    evidence = _evidence(store)
    assert not [v for v in VAULT_VALUES.values() if v in evidence]
    assert "<span class='verdict passed' id=verdict>PASSED</span>" in evidence


def test_the_restore_point_version_is_restored_not_a_later_rotation(config, tools, store, drill_server, vault, tmp_path):
    path = tmp_path / "source.zip"
    path.write_bytes(snapshot_bytes(community_tables(40)))
    export_snapshot(config, store, from_zip=path, reason="scheduled", now=SNAPSHOT_AT,
                    restore_point=capture(config, store))
    vault.put_secret_value(SecretId="deedbox/guild/SESSION_SECRET", SecretString="rotated-after-the-snapshot")
    report, code = run_drill(config, tools)
    assert code == 0, report.to_dict()
    assert drill_server.deployment.env["SESSION_SECRET"] == VAULT_VALUES["SESSION_SECRET"]
    rows = {s["key"]: s for s in _report(store)["secrets"]}
    assert rows["SESSION_SECRET"]["source"] == "restore-point"
    for name in ("report.md", "report.html"):
        assert "secrets: 5 of 5 keys pinned to their vault version at export time" in \
            store.get_bytes(PREFIX + name).decode()
    assert _report(store)["restore_point"]["secrets"][0]["version_id"]


def test_a_key_missing_from_the_vault_fails_the_drill_at_restore_secrets(config, tools, snapshot, store, vault, fake):
    vault.delete_secret(SecretId="deedbox/guild/RESEND_API_KEY", ForceDeleteWithoutRecovery=True)
    vault.create_secret(Name="deedbox/guild/RESEND_API_KEY")  # provisioned, never pushed
    report, code = run_drill(config, tools)
    assert code == 1 and report.failed_step == "restore secrets"
    assert "RESEND_API_KEY" in report.step("restore secrets").detail
    after = STEPS[STEPS.index("restore secrets") + 1:STEPS.index("teardown")]
    assert all(report.step(s).status == "skipped" for s in after)
    assert report.step("teardown").status == "passed" and fake.stacks() == {}
    assert _report(store)["stores"]["secrets"] == "failed"


def test_secrets_false_leaves_the_drill_deployment_without_variables(config, tools, snapshot, drill_server):
    cfg = dataclasses.replace(config, drills=dataclasses.replace(config.drills, secrets=False))
    report, code = run_drill(cfg, tools)
    assert code == 0 and report.step("restore secrets").status == "skipped"
    assert drill_server.deployment.env == {}


def _media_config(config):
    media = DrillMedia(references=(MediaReference("lessons", "video.key", "video"),), sample=50)
    return dataclasses.replace(config, drills=dataclasses.replace(config.drills, media=media))


def _lesson_keys():
    lessons = next(t for t in community_tables(60) if t.name == "lessons")
    return sorted({d["video"]["key"] for d in lessons.docs})


def test_media_the_restored_lessons_point_at_is_in_the_backup(config, tools, snapshot, store):
    keys = _lesson_keys()
    for key in keys:  # replicate mode: S3 replication keeps the source key in the backup bucket
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=b"video bytes of " + key.encode())
    report, code = run_drill(_media_config(config), tools)
    assert code == 0, report.step("media").detail
    assert report.step("media").status == "passed"
    media = _report(store)["media"]
    assert media["references"][0]["found"] == media["references"][0]["sampled"] == len(keys) > 0
    assert _report(store)["stores"]["media"] == "passed"


def test_a_missing_recording_fails_the_drill_at_media_naming_it(config, tools, snapshot, store, fake):
    keys = _lesson_keys()
    for key in keys[1:]:
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=b"video")
    report, code = run_drill(_media_config(config), tools)
    assert code == 1 and report.failed_step == "media"
    assert keys[0] in report.step("media").detail
    assert report.step("checks").status == "skipped" and fake.stacks() == {}
    assert keys[0] in store.get_bytes(PREFIX + "report.html").decode()
