"""export → verify against moto over HTTP: manifest last, structure and read-data checks, tamper."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from deedbox.backend.export import export_snapshot
from deedbox.backend.verify import compare_summaries, verify_snapshot
from deedbox.bucket.client import BucketClient
from deedbox.bucket.manifest import parse_manifest
from deedbox.bucket.snapshots import list_snapshots, resolve_snapshot
from deedbox.cli import app
from deedbox.errors import CheckFailed, SnapshotError
from tests.support.moto_server import make_backup_bucket
from tests.support.snapshots import Table, build_snapshot, documents, make_zip, uniform

NOW = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)
DEP = "happy-otter-123"


def test_export_writes_data_then_manifest(config, store, small_zip):
    manifest = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    prefix = f"backend/{DEP}/20261127T031500Z-manual/"
    assert manifest.object.key == prefix + "snapshot.zip"
    assert manifest.object.size == small_zip.stat().st_size
    assert {t["name"]: t["count"] for t in manifest.tables} == {"posts": 3, "users": 2}
    assert manifest.timestamp == "20261127T031500Z" and manifest.source.kind == "zip"
    keys = [o.key for o in store.list(prefix)]
    assert keys == [prefix + "manifest.json", prefix + "snapshot.zip"]
    assert store.get_bytes(prefix + "manifest.json") == manifest.to_bytes()
    assert parse_manifest(manifest.to_bytes(), key="m") == manifest  # one parser, one serializer
    ref = resolve_snapshot(store, config, "latest")
    assert ref.prefix == prefix and ref.complete
    assert verify_snapshot(store, ref, read_data=True).ok


def test_same_second_gets_a_new_folder(config, store, small_zip):
    first = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    second = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    assert first.timestamp == "20261127T031500Z" and second.timestamp == "20261127T031501Z"


def test_corrupt_zip_stores_nothing(config, store, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SnapshotError):
        export_snapshot(config, store, from_zip=bad, reason="manual", now=NOW)
    assert list(store.list("backend/")) == []


def test_incomplete_folder_is_listed_but_never_latest(config, store, small_zip):
    export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    store.put_new(f"backend/{DEP}/20261128T000000Z-scheduled/snapshot.zip", b"partial")
    refs = list_snapshots(store, DEP)
    assert [(r.name, r.complete) for r in refs] == [
        ("20261128T000000Z-scheduled", False), ("20261127T031500Z-manual", True)]
    assert resolve_snapshot(store, config, "latest").name == "20261127T031500Z-manual"
    with pytest.raises(CheckFailed, match="incomplete"):
        resolve_snapshot(store, config, "20261128T000000Z-scheduled")


def test_new_version_over_snapshot_is_reported(config, store, small_zip, aws):
    manifest = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    key = manifest.object.key
    aws.client("s3").put_object(Bucket=store.bucket, Key=key, Body=b"evil", ChecksumAlgorithm="SHA256")
    ref = resolve_snapshot(store, config, "latest")
    result = verify_snapshot(store, ref, read_data=False)
    assert not result.ok and any(p.startswith(f"tampering: {key} was written 2 times") for p in result.problems)
    # the manifest pins the version: restore reads the original bytes, which still verify
    assert store.get_bytes(key, manifest.object.version_id) == small_zip.read_bytes()


def test_tampered_bytes_caught_by_read_data(config, aws, tmp_path):
    """An unlocked, unversioned bucket lets bytes be flipped in place: --read-data must see it."""
    store = BucketClient(make_backup_bucket(aws, "plain-bucket", locked=False))
    zpath = make_zip(tmp_path / "s.zip", posts=50)
    manifest = export_snapshot(config, store, from_zip=zpath, reason="manual", now=NOW)
    key = manifest.object.key
    data = bytearray(zpath.read_bytes())
    data[len(data) // 3] ^= 0xFF
    aws.client("s3").put_object(Bucket=store.bucket, Key=key, Body=bytes(data))  # same size, no checksum
    ref = resolve_snapshot(store, config, "latest")
    deep = verify_snapshot(store, ref, read_data=True)
    assert not deep.ok
    assert any("sha256 of the stored bytes differs" in p for p in deep.problems)


def test_compare_summaries_names_the_table():
    exp = {"encoding": "uniform", "tables": [{"component": "", "name": "posts", "count": 3, "digest": "a"}]}
    act = {"encoding": "uniform", "tables": [{"component": "", "name": "posts", "count": 2, "digest": "b"}]}
    assert compare_summaries(exp, act) == [
        "snapshot.tables.posts.count: manifest 3 != stored 2",
        "snapshot.tables.posts.digest: manifest 'a' != stored 'b'"]


def test_cli_export_and_verify(config, bucket, small_zip, reference_config_path):
    runner = CliRunner()
    args = ["--config", str(reference_config_path), "--bucket", bucket]
    out = runner.invoke(app, ["export", *args, "--from-zip", str(small_zip), "--format", "json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["tables"] == 2 and summary["documents"] == 5
    for extra in ([], ["--read-data"]):
        res = runner.invoke(app, ["verify", *args, "--snapshot", "latest", *extra, "--format", "json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["ok"] is True


def test_cli_without_bucket_is_environment_error(reference_config_path, aws, monkeypatch):
    import sys
    from pathlib import Path

    # no bucket anywhere: not from the environment, and no `pulumi` on PATH to ask for the stack
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    for name in ("DEEDBOX_BUCKET", "DEEDBOX_STACK_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    res = CliRunner().invoke(app, ["verify", "--config", str(reference_config_path)])
    assert res.exit_code == 2
    assert "no backup bucket" in res.stderr and "Traceback" not in res.output


def test_progress_and_key_forms(config, store, small_zip):
    from deedbox.commands.output import progress_bar

    seen = []
    manifest = export_snapshot(config, store, from_zip=small_zip, reason="pre-change", now=NOW,
                               progress=lambda phase, n, total: seen.append((phase, n, total)))
    assert sum(n for p, n, t in seen if p == "upload") == small_zip.stat().st_size
    with progress_bar(enabled=True) as bar:  # the rich bar itself (a TTY is not needed to drive it)
        bar("upload", 10, 20)
    prefix = manifest.object.key.rsplit("/", 1)[0]
    assert prefix.endswith("20261127T031500Z-pre-change")
    for form in (prefix, prefix + "/", prefix + "/snapshot.zip", prefix + "/manifest.json",
                 "20261127T031500Z-pre-change", f"s3://{store.bucket}/{prefix}/"):
        ref = resolve_snapshot(store, config, form)
        assert ref.reason == "pre-change" and ref.complete
    with pytest.raises(CheckFailed, match="no snapshot at"):
        resolve_snapshot(store, config, "20990101T000000Z-manual")


@pytest.mark.parametrize("pad", [0, 20_000])  # one PUT / a multipart upload (> 8 MiB)
def test_snapshot_bad_at_its_end_stores_nothing(config, store, tmp_path, pad):
    """The summary runs beside the upload; a table that is wrong at the very end of the ZIP (a
    blank last line: Convex's import refuses it) must still leave nothing stored: no object, no
    manifest, no multipart upload left open."""
    posts = [json.dumps(uniform(d), separators=(", ", ": ")).encode()
             for d in documents(10002, 1500 if pad else 3, pad=pad)]
    bad = tmp_path / "bad.zip"
    build_snapshot(str(bad), [Table("users", 10001, documents(10001, 2)),
                              Table("posts", 10002, raw_lines=[*posts, b""])])
    assert (bad.stat().st_size > 16 * 2 ** 20) == bool(pad)
    with pytest.raises(SnapshotError, match=rf"^posts/documents.jsonl line {len(posts) + 1} is blank"):
        export_snapshot(config, store, from_zip=bad, reason="manual", now=NOW)
    assert list(store.list("backend/")) == []
    assert store.s3.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_manifest_copied_into_another_folder_vouches_for_nothing(config, store, small_zip):
    manifest = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    other = f"backend/{DEP}/20261127T041500Z-manual/"
    store.put_new(other + "snapshot.zip", small_zip)
    store.put_new(other + "manifest.json", manifest.to_bytes())
    result = verify_snapshot(store, resolve_snapshot(store, config, other), read_data=False)
    assert not result.ok
    assert result.problems[0] == (f"manifest of {other} describes {manifest.object.key}, "
                                  f"not this folder's {other}snapshot.zip")
    assert "not the first one written" in result.problems[1] and len(result.problems) == 2


def test_folder_without_its_snapshot_names_what_is_missing(config, store, small_zip):
    manifest = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    other = f"backend/{DEP}/20261127T041500Z-manual/"
    store.put_new(other + "manifest.json", manifest.to_bytes())
    with pytest.raises(CheckFailed, match="has a manifest but no snapshot.zip"):
        resolve_snapshot(store, config, other)


def test_weak_protection_is_pure_and_says_what_is_missing():
    from deedbox.bucket.client import weak_protection

    locked = {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                                          "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 35}}}}
    assert weak_protection({"Status": "Enabled"}, locked) == []
    assert weak_protection(None, None) == []  # no permission to read: no claim either way
    assert weak_protection({}, {}) == [
        "versioning is not enabled: a snapshot version could be replaced or deleted",
        "object lock is not enabled: whoever can write a backup can delete it"]
    no_rule = {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}}
    assert weak_protection({"Status": "Enabled"}, no_rule) == [
        "object lock has no default retention: new snapshots are not locked"]


def test_cli_export_warns_about_a_bucket_without_lock(aws, small_zip, reference_config_path):
    plain = make_backup_bucket(aws, "plain-unlocked-bucket", locked=False)
    out = CliRunner().invoke(app, ["export", "--config", str(reference_config_path), "--bucket", plain,
                                   "--from-zip", str(small_zip), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["warnings"] == [
        "versioning is not enabled: a snapshot version could be replaced or deleted",
        "object lock is not enabled: whoever can write a backup can delete it"]
    assert "deedbox: warning: s3://plain-unlocked-bucket: object lock is not enabled" in out.stderr


def test_cli_export_into_the_topology_bucket_has_no_warning(bucket, small_zip, reference_config_path):
    out = CliRunner().invoke(app, ["export", "--config", str(reference_config_path), "--bucket", bucket,
                                   "--from-zip", str(small_zip), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["warnings"] == [] and "warning" not in out.stderr
