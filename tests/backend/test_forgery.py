"""A consistent forgery: new versions of both ``snapshot.zip`` and ``manifest.json``, each matching
the other, written by someone with ``s3:PutObject`` (the runner has it). Object lock keeps the
originals; every reader must refuse the folder: verify, restore record, restore full and the drill
(all go through ``deedbox.backend.verify.verify_snapshot``)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import boto3
import pytest

from deedbox.backend.export import build_manifest, check_stored, export_snapshot
from deedbox.backend.verify import verify_snapshot
from deedbox.bucket.client import PutResult
from deedbox.bucket.snapshots import resolve_snapshot
from deedbox.convex.snapshot import summarize
from deedbox.drill.run import Drill, DrillTools
from deedbox.errors import CheckFailed
from deedbox.restore.full import plan as full_plan
from deedbox.restore.record import find
from tests.support.snapshots import make_zip

NOW = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)


@pytest.fixture
def forged(config, store, small_zip, tmp_path):
    """The folder after a forger rewrote both objects (conditional writes bypassed: a plain put)."""
    original = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    fake = make_zip(tmp_path / "fake.zip", posts=7, seed=99)
    data = fake.read_bytes()
    digest = hashlib.sha256(data)
    s3 = boto3.client("s3", region_name="eu-west-1")  # the forger's own client: plain, unconditional puts
    resp = s3.put_object(Bucket=store.bucket, Key=original.object.key, Body=data, ChecksumAlgorithm="SHA256",
                         ChecksumSHA256=base64.b64encode(digest.digest()).decode())
    put = PutResult(original.object.key, len(data), digest.hexdigest(), resp["VersionId"],
                    base64.b64encode(digest.digest()).decode())
    stored = check_stored(store, put)
    forgery = build_manifest(deployment=original.deployment, prefix=original.object.folder, reason="manual",
                             put=put, stored_checksum=stored, summary=summarize(fake).to_dict(), live=None,
                             convex_url=config.source.convex.url)
    s3.put_object(Bucket=store.bucket, Key=original.object.folder + "manifest.json", Body=forgery.to_bytes())
    return original, forgery


def test_the_forgery_is_consistent_with_itself(forged, store):
    _, forgery = forged
    assert forgery.object.version_id == store.head(forgery.object.key).version_id  # it names its own version


def test_verify_refuses_the_forgery_naming_keys_and_versions(forged, config, store):
    original, forgery = forged
    result = verify_snapshot(store, resolve_snapshot(store, config, "latest"), read_data=True)
    assert not result.ok
    folder = original.object.folder
    assert any(p.startswith(f"tampering: {folder}snapshot.zip was written 2 times (versions "
                            f"{original.object.version_id}, {forgery.object.version_id})") for p in result.problems)
    assert any(p.startswith(f"tampering: {folder}manifest.json was written 2 times") for p in result.problems)
    assert result.manifest == original  # read by its first version: the original manifest


def test_restore_record_restore_full_and_the_drill_refuse_it(forged, config, store):
    with pytest.raises(CheckFailed, match="failed verification: tampering"):
        find(store, config, table="posts", doc_id="x" * 32, snapshot="latest")
    with pytest.raises(CheckFailed, match="failed verification: tampering"):
        full_plan(store, config, snapshot="latest", to="https://new-otter-456.convex.cloud")
    drill = Drill(config, DrillTools(store=store, backend=None))  # type: ignore[arg-type] - _verify needs no stack
    with pytest.raises(CheckFailed, match="failed verification: tampering"):
        drill._verify()


def test_a_delete_marker_in_the_folder_is_tampering(config, store, small_zip):
    manifest = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    ref = resolve_snapshot(store, config, "latest")
    # a delete without a version id adds a marker, which even a compliance lock allows
    store.s3.delete_object(Bucket=store.bucket, Key=manifest.object.key)
    result = verify_snapshot(store, ref, read_data=False)
    assert not result.ok and any("has a delete marker" in p for p in result.problems)
