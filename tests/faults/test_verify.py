"""``deedbox verify --read-data`` under S3 faults.

Requests, in order: ListObjectsV2 (``latest``), GetObject manifest.json, HeadObject snapshot.zip
(the manifest's version), ListObjectVersions (``?versions``), GetObject snapshot.zip (that
version: the bytes re-hashed and re-summarized), ListObjectsV2 (newer incomplete folders).
"""

from __future__ import annotations

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.bucket.client import BucketClient
from tests.faults.helpers import assert_clean_failure, cli, json_out

SNAPSHOT = r"/snapshot\.zip$"
MANIFEST = r"/manifest\.json$"


@pytest.fixture
def stored(config, bucket, aws, small_zip):
    """One complete snapshot, written straight to moto (not through the proxy)."""
    direct = BucketClient(bucket, s3_client=aws.client("s3"))
    return export_snapshot(config, direct, from_zip=small_zip, reason="scheduled")


def verify(config, bucket):
    return cli("verify", "--config", config.path, "--bucket", bucket, "--read-data", "--format", "json")


TRANSIENT = {
    "503 SlowDown on 2 GetObject snapshot": dict(kind="status", method="GET", path=SNAPSHOT, status=503, times=2),
    "reset on 2 GetObject snapshot": dict(kind="reset", method="GET", path=SNAPSHOT, times=2),
    "500 on GetObject manifest": dict(kind="status", method="GET", path=MANIFEST, status=500),
    "503 on 2 HeadObject snapshot": dict(kind="status", method="HEAD", path=SNAPSHOT, status=503, times=2),
    "500 on ListObjectVersions": dict(kind="status", method="GET", query="versions", status=500),
    "reset on ListObjectsV2": dict(kind="reset", method="GET", query="list-type"),
}
# A body cut once is read again from the start (BucketClient.read_into: StreamingBody.read checks the
# announced length); what is vouched for is the whole second read.
CUT_ONCE = {
    "truncated body of GetObject snapshot, once": dict(kind="truncate", method="GET", path=SNAPSHOT, times=1),
    "truncated body of GetObject manifest, once": dict(kind="truncate", method="GET", path=MANIFEST, times=1),
}


@pytest.mark.parametrize("fault", CUT_ONCE.values(), ids=CUT_ONCE.keys())
def test_a_body_cut_once_is_read_again_whole(fault, config, bucket, stored, s3_proxy):
    fault = dict(fault)
    rule = s3_proxy.inject(fault.pop("kind"), **fault)
    res = verify(config, bucket)
    assert res.exit_code == 0, res.output
    assert json_out(res)["ok"] is True and rule.injected == 1


@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_fault_is_retried_and_verifies(fault, config, bucket, stored, s3_proxy):
    fault = dict(fault)
    rule = s3_proxy.inject(fault.pop("kind"), **fault)
    res = verify(config, bucket)
    assert res.exit_code == 0, res.output
    assert json_out(res)["ok"] is True and json_out(res)["mode"] == "read-data"
    assert rule.injected == rule.times
    full_reads = s3_proxy.events(action="forwarded", method="GET", path=SNAPSHOT)
    assert len(full_reads) == 1  # the bytes vouched for were read whole, once



PERSISTENT = {
    "503 SlowDown on GetObject snapshot": (dict(kind="status", method="GET", path=SNAPSHOT, status=503), None),
    "reset on GetObject snapshot": (dict(kind="reset", method="GET", path=SNAPSHOT), None),
    "503 SlowDown on ListObjectsV2": (dict(kind="status", method="GET", query="list-type", status=503), None),
    "truncated body of GetObject snapshot, always": (dict(kind="truncate", method="GET", path=SNAPSHOT),
                                                     None),
    "500 on ListObjectVersions": (dict(kind="status", method="GET", query="versions", status=500), None),
    "503 SlowDown on HeadObject snapshot": (dict(kind="status", method="HEAD", path=SNAPSHOT, status=503),
                                            None),
    "500 on GetObject manifest": (dict(kind="status", method="GET", path=MANIFEST, status=500), None),
}


def _arm(proxy, fault):
    fault = dict(fault)
    return proxy.inject(fault.pop("kind"), **{"times": None, **fault})


@pytest.mark.parametrize("fault", [f for f, _ in PERSISTENT.values()], ids=PERSISTENT.keys())
def test_a_failed_read_is_never_vouched_for(fault, config, bucket, stored, s3_proxy):
    """Whatever the fault, verify never says ok unless it read every byte once, whole."""
    _arm(s3_proxy, fault)
    res = verify(config, bucket)
    assert res.exit_code != 0, res.output
    assert '"ok": true' not in res.stdout and "Traceback" not in res.output


@pytest.mark.parametrize("fault", [pytest.param(f, marks=[pytest.mark.xfail(strict=True, reason=bug)] if bug else [])
                                   for f, bug in PERSISTENT.values()], ids=PERSISTENT.keys())
def test_a_failed_read_is_one_environment_error_line(fault, config, bucket, stored, s3_proxy):
    """The contract: an S3 that keeps failing is an environment problem (exit 2, one line)."""
    _arm(s3_proxy, fault)
    res = verify(config, bucket)
    assert_clean_failure(res, 2, match="s3://guild-backups/")
    assert res.stdout == ""
