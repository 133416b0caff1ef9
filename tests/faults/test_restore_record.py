"""``deedbox restore record --apply`` under S3 and Convex faults.

What it does, in order: structure-verify the snapshot (ListObjectsV2, ListObjectVersions,
GetObject manifest, HeadObject) and download it (s3transfer: GetObject ``-scheduled/snapshot.zip``);
a safety export of the live deployment (Convex: getLatest, export request, polls, download; S3:
PutObject ``-safety/snapshot.zip`` + manifest), verified with read-data and downloaded; the count
guard (``tableSize``); the chunked import (``start_upload``, ``upload_part``, ``finish_upload``,
``queryImport`` polls, ``perform_import``, ``queryImport``), ``tableSize`` again; the restore log
(PutObject ``restores/<ts>-record-posts-<id>.json``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.bucket.client import BucketClient
from deedbox.config import load
from tests.faults.helpers import assert_clean_failure, cli, config_file, json_out, keys
from tests.support.convex_server import ConvexTestServer
from tests.support.fault_proxy import FaultProxy
from tests.support.snapshots import documents, make_zip

KEY = "live-admin-key"
POST_ID = documents(10002, 3)[0]["_id"]
BACKUP = r"-scheduled/snapshot\.zip$"
SAFETY = r"-safety/snapshot\.zip$"
LOG = r"^/guild-backups/restores/"


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", KEY)
    with ConvexTestServer(admin_key=KEY, export_polls=1) as srv:
        yield srv


@pytest.fixture
def prepare(live, aws, bucket, tmp_path, reference_config_path):
    """``prepare(url)``: backup.yaml naming ``url`` as the live deployment, a verified snapshot of
    the dataset in the bucket (written straight to moto), and the post deleted from the live one."""
    def make(url: str):
        path = make_zip(tmp_path / "snap.zip", posts=3)
        live.load_zip(Path(path).read_bytes())
        cfg = config_file(tmp_path, reference_config_path, convex_url=url)
        export_snapshot(load(cfg), BucketClient(bucket, s3_client=aws.client("s3")), from_zip=path,
                        reason="scheduled")
        live.db().delete("posts", POST_ID)
        return cfg
    return make


def restore(cfg, bucket):
    return cli("restore", "record", "--table", "posts", "--id", POST_ID, "--apply", "--config", cfg,
               "--bucket", bucket, "--format", "json")


def posts(live) -> set[str]:
    return set(live.deployment.component("")["posts"].docs)


def assert_restored(res, live, s3, bucket) -> None:
    assert res.exit_code == 0, res.output
    out = json_out(res)
    assert out["applied"] is True and POST_ID in posts(live) and len(posts(live)) == 3
    assert keys(s3, bucket, "restores/") == [out["log"]]
    assert out["safety_snapshot"] + "manifest.json" in keys(s3, bucket, out["safety_snapshot"])


S3_TRANSIENT = {
    "503 SlowDown on 2 GetObject of the snapshot": dict(kind="status", method="GET", path=BACKUP, status=503, times=2),
    "snapshot body cut once (s3transfer retries)": dict(kind="truncate", method="GET", path=BACKUP),
    "reset on the safety snapshot PutObject": dict(kind="reset", method="PUT", path=SAFETY),
    "500 on the restore log PutObject": dict(kind="status", method="PUT", path=LOG, status=500),
}


@pytest.mark.parametrize("fault", S3_TRANSIENT.values(), ids=S3_TRANSIENT.keys())
def test_transient_s3_fault_is_retried(fault, prepare, live, s3, bucket, s3_proxy):
    cfg = prepare(live.url)
    fault = dict(fault)
    rule = s3_proxy.inject(fault.pop("kind"), **fault)
    res = restore(cfg, bucket)
    assert_restored(res, live, s3, bucket)
    assert rule.injected == rule.times


CONVEX_TRANSIENT = {
    "500 on upload_part": dict(path_prefix="/api/import/upload_part", status=500, times=1),
    "503 on 2 queries": dict(path_prefix="/api/query", status=503, times=2),
    "502 on the safety export download": dict(path_prefix="/api/export/zip/", status=502, times=1),
}


@pytest.mark.parametrize("fault", CONVEX_TRANSIENT.values(), ids=CONVEX_TRANSIENT.keys())
def test_transient_convex_fault_is_retried(fault, prepare, live, s3, bucket, s3_proxy, fast_retries):
    cfg = prepare(live.url)
    live.fail_next(**fault)
    res = restore(cfg, bucket)
    assert_restored(res, live, s3, bucket)
    assert len(fast_retries.convex) == fault["times"]




def test_a_500_on_start_upload(prepare, live, s3, bucket, s3_proxy):
    cfg = prepare(live.url)
    live.fail_next("/api/import/start_upload", status=500, times=1)
    res = restore(cfg, bucket)
    assert res.exit_code == 0 or assert_clean_failure(res, 2)


@pytest.mark.parametrize("prefix", ["/api/import/start_upload", "/api/import/upload_part"])
def test_persistent_import_fault_changes_nothing_and_logs_nothing(prefix, prepare, live, s3, bucket, s3_proxy):
    cfg = prepare(live.url)
    live.fail_next(prefix, status=500, times=99)
    res = restore(cfg, bucket)
    assert res.exit_code in (1, 2) and "Traceback" not in res.output
    assert len(res.stderr.splitlines()) == 1 and "Convex 500" in res.stderr
    assert POST_ID not in posts(live) and keys(s3, bucket, "restores/") == []
    assert not any(p == "/api/import/finish_upload" for p in live.paths())


def test_persistent_import_fault_is_an_environment_problem(prepare, live, s3, bucket, s3_proxy):
    cfg = prepare(live.url)
    live.fail_next("/api/import/upload_part", status=500, times=99)
    assert_clean_failure(restore(cfg, bucket), 2, match="Convex 500")


@pytest.mark.parametrize("what", ["safety snapshot PutObject", "safety export download"])
def test_persistent_fault_in_the_safety_export_stops_before_any_import(what, prepare, live, s3, bucket, s3_proxy):
    cfg = prepare(live.url)
    if what == "safety snapshot PutObject":
        s3_proxy.inject("status", method="PUT", path=SAFETY, status=503, times=None)
        match = "safety/snapshot.zip: SlowDown"
    else:
        live.fail_next("/api/export/zip/", status=503, times=99)
        match = "Convex 503"
    res = restore(cfg, bucket)
    assert_clean_failure(res, 2, match=match)
    assert not any(p.startswith("/api/import") for p in live.paths())
    assert POST_ID not in posts(live) and keys(s3, bucket, "restores/") == []




def test_a_log_that_cannot_be_written_says_the_restore_happened(prepare, live, s3, bucket, s3_proxy):
    cfg = prepare(live.url)
    s3_proxy.inject("status", method="PUT", path=LOG, status=503, times=None)
    res = restore(cfg, bucket)
    line = assert_clean_failure(res, 2, match=r"restores/.*SlowDown")
    assert POST_ID in posts(live) and keys(s3, bucket, "restores/") == []  # today: back, and in no log
    assert "restored" in line or "applied" in line




def test_a_lost_answer_to_the_log_write_is_not_a_failure(prepare, live, s3, bucket, s3_proxy):
    cfg = prepare(live.url)
    s3_proxy.inject("reset", method="PUT", path=LOG, forward=True)
    assert_restored(restore(cfg, bucket), live, s3, bucket)




def test_lost_answers_after_the_import_was_confirmed(prepare, live, s3, bucket, s3_proxy):
    with FaultProxy(live.url) as proxy:
        cfg = prepare(proxy.url)
        # the first queryImport answer (waiting_for_confirmation) passes; perform_import is sent;
        # every later poll reaches the server (which applies the import) and its answer is dropped
        proxy.inject("reset", method="POST", path="^/api/query$", body=rb"queryImport", skip=1, times=None,
                     forward=True)
        res = restore(cfg, bucket)
    assert POST_ID in posts(live)  # the restore happened
    assert res.exit_code == 2 and "the table is as it was" not in res.stderr
