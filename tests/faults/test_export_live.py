"""``deedbox export`` of a live deployment (the Convex test server) under Convex and S3 faults.

Convex requests, in order: ``POST /api/query`` (exports:getLatest, before), ``POST
/api/export/request/zip``, ``POST /api/query`` polls until completed, ``GET /api/export/zip/<ts>``
(streamed to a temporary file); then the S3 requests of an export (a single PutObject here).
deedbox's transport retries 500/502/503/504, connection errors and timeouts of idempotent calls
(all of these are), 4 times, ``0.5 s * 2**attempt`` (scaled down by ``fast_retries``).
"""

from __future__ import annotations

import pytest

from tests.faults.helpers import assert_clean_failure, cli, config_file, json_out, keys, manifests
from tests.support.canary import DEPLOY_KEY as KEY
from tests.support.convex_server import ConvexTestServer
from tests.support.fault_proxy import FaultProxy
from tests.support.snapshots import StoredFile, community_tables, make_id, snapshot_bytes

QUERY, REQUEST, DOWNLOAD = "/api/query", "/api/export/request/zip", "/api/export/zip/"


@pytest.fixture
def convex(monkeypatch):
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", KEY)
    with ConvexTestServer(admin_key=KEY) as srv:
        files = [StoredFile(make_id(9, bytes(range(16))), b"\x89PNG avatar bytes" * 50)]
        srv.load_zip(snapshot_bytes(community_tables(120), files=files))
        yield srv


def export(cfg, bucket):
    return cli("export", "--config", cfg, "--bucket", bucket, "--reason", "scheduled", "--format", "json")


def verified(cfg, bucket) -> dict:
    res = cli("verify", "--config", cfg, "--bucket", bucket, "--read-data", "--format", "json")
    assert res.exit_code == 0, res.output
    return json_out(res)


def _config(tmp_path, reference_config_path, url):
    return config_file(tmp_path, reference_config_path, convex_url=url)


TRANSIENT = {
    "500 on 2 getLatest queries": dict(path_prefix=QUERY, status=500, times=2),
    "502 on the export request": dict(path_prefix=REQUEST, status=502, times=1),
    "503 on 2 downloads": dict(path_prefix=DOWNLOAD, status=503, times=2),
}


@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_convex_fault_is_retried(fault, convex, bucket, s3_proxy, tmp_path, reference_config_path,
                                           fast_retries):
    cfg = _config(tmp_path, reference_config_path, convex.url)
    convex.fail_next(**fault)
    res = export(cfg, bucket)
    assert res.exit_code == 0, res.output
    out = json_out(res)
    assert out["source"] == "live" and out["storage_files"] == 1 and out["documents"] > 100
    assert len(fast_retries.convex) == fault["times"]  # exactly the injected failures were retried
    assert verified(cfg, bucket)["ok"] is True
    assert KEY not in res.output


@pytest.mark.parametrize("prefix", [QUERY, DOWNLOAD], ids=["getLatest", "download"])
def test_a_429_with_retry_after_is_waited_out(prefix, convex, bucket, s3_proxy, tmp_path, reference_config_path):
    cfg = _config(tmp_path, reference_config_path, convex.url)
    convex.fail_next(prefix, status=429, times=1, headers={"Retry-After": "0"})
    res = export(cfg, bucket)
    assert res.exit_code == 0, res.output


def test_a_dropped_connection_on_the_download_is_retried(convex, bucket, aws, monkeypatch, tmp_path,
                                                         reference_config_path):
    """A reset before any byte of the body (requests: ConnectionError): retried, like a 5xx."""
    with FaultProxy(convex.url) as proxy:
        cfg = _config(tmp_path, reference_config_path, proxy.url)
        rule = proxy.inject("reset", method="GET", path=f"^{DOWNLOAD}", times=2)
        res = export(cfg, bucket)
    assert res.exit_code == 0, res.output
    assert rule.injected == 2 and verified(cfg, bucket)["ok"] is True


def test_transient_s3_fault_during_a_live_export_is_retried(convex, bucket, s3_proxy, tmp_path,
                                                            reference_config_path):
    cfg = _config(tmp_path, reference_config_path, convex.url)
    rule = s3_proxy.inject("reset", method="PUT", path=r"/snapshot\.zip$", times=2)
    res = export(cfg, bucket)
    assert res.exit_code == 0, res.output
    assert rule.injected == 2 and verified(cfg, bucket)["ok"] is True


PERSISTENT = {
    "500 on every getLatest query": dict(path_prefix=QUERY, status=500, times=99),
    "503 on every download": dict(path_prefix=DOWNLOAD, status=503, times=99),
    "429 on every export request": dict(path_prefix=REQUEST, status=429, times=99),
    "401 (a wrong key)": dict(path_prefix=QUERY, status=401, times=99),
}


@pytest.mark.parametrize("fault", PERSISTENT.values(), ids=PERSISTENT.keys())
def test_persistent_convex_fault_stores_nothing(fault, convex, s3, bucket, s3_proxy, tmp_path, reference_config_path):
    cfg = _config(tmp_path, reference_config_path, convex.url)
    convex.fail_next(**fault)
    res = export(cfg, bucket)
    assert_clean_failure(res, 2, match=f"Convex {fault['status']} ")
    assert keys(s3, bucket) == [] and KEY not in res.output


@pytest.mark.parametrize("how", ["cut by the server", "cut once by a proxy"])
def test_a_cut_download_stores_nothing(how, convex, s3, bucket, s3_proxy, tmp_path, reference_config_path):
    """Headers promise N bytes, fewer come: GuardedStream says so; the download is not retried
    (requests never retries a body), so even a one-off cut fails the run, cleanly."""
    if how == "cut by the server":
        convex.cut_stream_after(2000)
        cfg = _config(tmp_path, reference_config_path, convex.url)
        res = export(cfg, bucket)
    else:
        with FaultProxy(convex.url) as proxy:
            cfg = _config(tmp_path, reference_config_path, proxy.url)
            proxy.inject("truncate", method="GET", path=f"^{DOWNLOAD}", times=1)
            res = export(cfg, bucket)
    assert_clean_failure(res, 2, match=r"download of export \d+ was cut after \d+ of \d+ bytes")
    assert keys(s3, bucket) == [] and manifests(s3, bucket) == []


def test_a_failed_export_stores_nothing(convex, s3, bucket, s3_proxy, tmp_path, reference_config_path):
    convex.fail_exports = True
    res = export(_config(tmp_path, reference_config_path, convex.url), bucket)
    assert_clean_failure(res, 2, match="Convex export failed")
    assert keys(s3, bucket) == []


def test_persistent_s3_fault_during_a_live_export_writes_no_manifest(convex, s3, bucket, s3_proxy, tmp_path,
                                                                     reference_config_path):
    cfg = _config(tmp_path, reference_config_path, convex.url)
    s3_proxy.inject("status", method="PUT", path=r"/snapshot\.zip$", status=503, times=None)
    res = export(cfg, bucket)
    assert_clean_failure(res, 2, match="snapshot.zip: SlowDown")
    assert keys(s3, bucket) == []


@pytest.mark.parametrize("times", [1, None], ids=["once", "every time"])
def test_a_download_slower_than_the_timeout(times, convex, s3, bucket, aws, config):
    """A read timeout (requests.ReadTimeout) is retried like a 5xx; one that persists fails the
    export with one ConvexError and stores nothing. (Function level: the CLI's client has a fixed
    30 s timeout, ``ConvexClient.from_env``.)"""
    from dataclasses import replace

    from deedbox.backend.export import export_snapshot
    from deedbox.bucket.client import BucketClient
    from deedbox.convex.client import ConvexClient
    from deedbox.errors import ConvexError

    with FaultProxy(convex.url) as proxy:
        cfg = replace(config, source=replace(config.source, convex=replace(config.source.convex, url=proxy.url)))
        client = ConvexClient(proxy.url, KEY, timeout=0.3, retries=2, backoff=0.01)
        rule = proxy.inject("delay", method="GET", path=f"^{DOWNLOAD}", times=times, seconds_delay=0.6)
        store = BucketClient(bucket, s3_client=aws.client("s3"))
        if times == 1:
            manifest = export_snapshot(cfg, store, client=client, reason="scheduled")
            assert manifest.source.kind == "live" and rule.injected == 1
            return
        with pytest.raises(ConvexError, match=r"cannot reach Convex at .*/api/export/zip/\d+: ReadTimeout"):
            export_snapshot(cfg, store, client=client, reason="scheduled")
        assert rule.injected == 3  # 1 + 2 retries
    assert keys(s3, bucket) == []
