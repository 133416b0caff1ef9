"""``deedbox restore full --yes`` under S3 and Convex faults.

What it does, in order: verify the snapshot with read-data (ListObjectsV2, ListObjectVersions,
GetObject manifest, HeadObject, GetObject ``-scheduled/snapshot.zip``: the *first* GET of it);
a safety export of the target (Convex + S3 PutObject ``-safety/...``), verified with read-data;
the snapshot downloaded again (s3transfer ``download_file``: the *second* GET of it); the chunked
``replaceAll`` import; ``tableSize`` per root table; the restore log ``restores/<ts>-full-...``.
"""

from __future__ import annotations

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.bucket.client import BucketClient
from tests.faults.helpers import assert_clean_failure, cli, json_out, keys
from tests.support.convex_server import ConvexTestServer
from tests.support.snapshots import community_tables, snapshot_bytes

KEY = "target-admin-key"
BACKUP = r"-scheduled/snapshot\.zip$"
SAFETY = r"-safety/snapshot\.zip$"
LOG = r"^/guild-backups/restores/"


@pytest.fixture
def target(monkeypatch):
    """The deployment restored into: other (newer, damaged) data than the backup."""
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", KEY)
    with ConvexTestServer(admin_key=KEY, export_polls=1) as srv:
        srv.load_zip(snapshot_bytes(community_tables(20, seed=99)))
        yield srv


@pytest.fixture
def backup(config, bucket, aws, tmp_path):
    path = tmp_path / "snap.zip"
    path.write_bytes(snapshot_bytes(community_tables(60)))
    return export_snapshot(config, BucketClient(bucket, s3_client=aws.client("s3")), from_zip=path,
                           reason="scheduled")


def restore(config, bucket, target):
    return cli("restore", "full", "--snapshot", "latest", "--to", target.url, "--yes", "--config", config.path,
               "--bucket", bucket, "--format", "json")


def counts(target) -> dict[str, int]:
    return {n: len(t.docs) for n, t in target.deployment.component("").items()}


def assert_restored(res, backup, target, s3, bucket) -> dict:
    assert res.exit_code == 0, res.output
    out = json_out(res)
    assert out["applied"] and out["ok"] and not out["count_problems"]
    assert counts(target) == {t["name"]: t["count"] for t in backup.tables}
    assert keys(s3, bucket, "restores/") == [out["log"]]
    return out


def assert_untouched(before, target, s3, bucket) -> None:
    assert counts(target) == before
    assert not any(p.startswith("/api/import") for p in target.paths())
    assert keys(s3, bucket, "restores/") == []


S3_TRANSIENT = {
    "503 SlowDown on 2 GetObject (the verify read)": dict(kind="status", method="GET", path=BACKUP, status=503,
                                                          times=2),
    "reset on the download before the import": dict(kind="reset", method="GET", path=BACKUP, skip=1),
    "body of the download before the import cut once": dict(kind="truncate", method="GET", path=BACKUP, skip=1),
    "500 on the safety manifest PutObject": dict(kind="status", method="PUT", path=r"-safety/manifest\.json$",
                                                 status=500),
    "reset on the restore log PutObject": dict(kind="reset", method="PUT", path=LOG),
}


@pytest.mark.parametrize("fault", S3_TRANSIENT.values(), ids=S3_TRANSIENT.keys())
def test_transient_s3_fault_is_retried(fault, config, backup, target, s3, bucket, s3_proxy):
    fault = dict(fault)
    rule = s3_proxy.inject(fault.pop("kind"), **fault)
    assert_restored(restore(config, bucket, target), backup, target, s3, bucket)
    assert rule.injected == rule.times


CONVEX_TRANSIENT = {
    "500 on 2 upload_part": dict(path_prefix="/api/import/upload_part", status=500, times=2),
    "503 on 2 queries": dict(path_prefix="/api/query", status=503, times=2),
}


@pytest.mark.parametrize("fault", CONVEX_TRANSIENT.values(), ids=CONVEX_TRANSIENT.keys())
def test_transient_convex_fault_is_retried(fault, config, backup, target, s3, bucket, s3_proxy, fast_retries):
    target.fail_next(**fault)
    assert_restored(restore(config, bucket, target), backup, target, s3, bucket)
    assert len(fast_retries.convex) == fault["times"]


def test_persistent_import_fault_is_one_line_and_logs_nothing(config, backup, target, s3, bucket, s3_proxy):
    before = counts(target)
    target.fail_next("/api/import/upload_part", status=500, times=99)
    res = restore(config, bucket, target)
    assert_clean_failure(res, 2, match=r"import into .* failed .*Convex 500.*the safety export .*-safety/ holds")
    assert counts(target) == before and keys(s3, bucket, "restores/") == []


def test_persistent_fault_in_the_safety_export_changes_nothing(config, backup, target, s3, bucket, s3_proxy):
    before = counts(target)
    s3_proxy.inject("status", method="PUT", path=SAFETY, status=503, times=None)
    res = restore(config, bucket, target)
    assert_clean_failure(res, 2, match="refusing to restore: the safety export of .* failed .*nothing was changed")
    assert_untouched(before, target, s3, bucket)



PERSISTENT_S3 = {
    "every GetObject body cut (verify)": (dict(kind="truncate", method="GET", path=BACKUP), None),
    "every body of the download cut (s3transfer)": (dict(kind="truncate", method="GET", path=BACKUP, skip=1),
                                                    None),
    "503 on every GetObject of the snapshot": (dict(kind="status", method="GET", path=BACKUP, status=503), None),
}


@pytest.mark.parametrize("fault", [f for f, _ in PERSISTENT_S3.values()], ids=PERSISTENT_S3.keys())
def test_persistent_read_fault_imports_nothing(fault, config, backup, target, s3, bucket, s3_proxy):
    """Whatever the read fault: not a byte imported, nothing logged, one line, no traceback."""
    before = counts(target)
    fault = dict(fault)
    s3_proxy.inject(fault.pop("kind"), times=None, **fault)
    res = restore(config, bucket, target)
    assert res.exit_code in (1, 2) and len(res.stderr.splitlines()) == 1 and "Traceback" not in res.output
    assert_untouched(before, target, s3, bucket)


@pytest.mark.parametrize("fault", [pytest.param(f, marks=[pytest.mark.xfail(strict=True, reason=bug)] if bug else [])
                                   for f, bug in PERSISTENT_S3.values()], ids=PERSISTENT_S3.keys())
def test_persistent_read_fault_is_an_environment_problem(fault, config, backup, target, s3, bucket, s3_proxy):
    fault = dict(fault)
    s3_proxy.inject(fault.pop("kind"), times=None, **fault)
    assert_clean_failure(restore(config, bucket, target), 2, match="snapshot.zip")




def test_a_log_that_cannot_be_written_says_the_restore_happened(config, backup, target, s3, bucket, s3_proxy):
    s3_proxy.inject("status", method="PUT", path=LOG, status=503, times=None)
    line = assert_clean_failure(restore(config, bucket, target), 2, match="restores/")
    assert "safety" in line and ("restored" in line or "imported" in line or "replaced" in line)
