"""What the manifest carries per job (docs/export.md): bytes for export and verify (format 2),
content for the drill; format-1 manifests (content digests) keep verifying."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import UTC, datetime

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.backend.verify import compare_content, verify_snapshot
from deedbox.bucket.manifest import MANIFEST_VERSION, parse_manifest
from deedbox.bucket.snapshots import MANIFEST_FILE, resolve_snapshot
from deedbox.convex.snapshot import content_summary, summarize
from deedbox.errors import CheckFailed
from tests.support.snapshots import Table, community_tables, documents, make_zip, snapshot_bytes

NOW = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)


def test_export_writes_format_2_with_the_byte_summary(config, store, small_zip):
    manifest = export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW)
    assert manifest.format_version == MANIFEST_VERSION == 2 and manifest.byte_digests
    assert manifest.snapshot == summarize(small_zip).to_dict()
    assert all(t["digest"].startswith("sha256:") and t["size"] > 0 for t in manifest.tables)


def _format_1(config, store, path, now=NOW):
    """A snapshot stored as an older deedbox stored it: its manifest carries content digests."""
    manifest = export_snapshot(config, store, from_zip=path, reason="manual", now=now)
    old = dataclasses.replace(manifest, format_version=1, snapshot=content_summary(path).to_dict())
    prefix = manifest.object.folder.replace("-manual/", "-scheduled/")
    store.put_new(prefix + "snapshot.zip", path)
    put = store.head(prefix + "snapshot.zip")
    obj = dataclasses.replace(old.object, key=prefix + "snapshot.zip", version_id=put.version_id,
                              s3_checksum_sha256=put.checksum or "")
    store.put_new(prefix + MANIFEST_FILE, dataclasses.replace(old, object=obj, reason="scheduled").to_bytes())
    return resolve_snapshot(store, config, prefix)


def test_a_format_1_manifest_still_verifies_and_parses_as_it_was_written(config, store, tmp_path):
    path = make_zip(tmp_path / "s.zip", posts=20)
    ref = _format_1(config, store, path)
    result = verify_snapshot(store, ref, read_data=True)
    assert result.ok, result.problems
    assert result.manifest is not None and result.manifest.format_version == 1
    assert not result.manifest.byte_digests
    raw = store.get_bytes(ref.manifest_key)
    assert parse_manifest(raw, key="m").to_bytes() == raw  # one parser, one serializer, per version


def test_a_format_1_manifest_whose_content_differs_is_reported(config, store, tmp_path):
    path = make_zip(tmp_path / "s.zip", posts=20)
    ref = _format_1(config, store, path)
    raw = parse_manifest(store.get_bytes(ref.manifest_key), key="m")
    tables = [dict(t, digest="0" * 64) if t["name"] == "posts" else t for t in raw.tables]
    forged = dataclasses.replace(raw, snapshot={**raw.snapshot, "tables": tables})
    other = ref.prefix.replace("031500Z", "041500Z")
    store.put_new(other + "snapshot.zip", path)
    head = store.head(other + "snapshot.zip")
    obj = dataclasses.replace(forged.object, key=other + "snapshot.zip", version_id=head.version_id)
    store.put_new(other + MANIFEST_FILE, dataclasses.replace(forged, object=obj).to_bytes())
    result = verify_snapshot(store, resolve_snapshot(store, config, other), read_data=True)
    assert result.problems == [f"snapshot.tables.posts.digest: manifest {'0' * 64!r} != stored "
                               f"{next(t for t in raw.tables if t['name'] == 'posts')['digest']!r}"]


@pytest.mark.parametrize("version", [0, 3, "2", True, None])
def test_other_format_versions_are_refused(config, store, small_zip, version):
    import json

    doc = json.loads(export_snapshot(config, store, from_zip=small_zip, reason="manual", now=NOW).to_bytes())
    doc["format_version"] = version
    with pytest.raises(CheckFailed, match=rf"^m: manifest format version {version!r} is not one of 1, 2;"):
        parse_manifest(json.dumps(doc).encode(), key="m")


def test_a_reordered_stored_table_fails_verify_read_data(config, aws, tmp_path):
    """Stored bytes in another order are not the bytes exported: verify says which table."""
    from deedbox.bucket.client import BucketClient
    from tests.support.moto_server import make_backup_bucket

    store = BucketClient(make_backup_bucket(aws, "plain-reorder", locked=False))
    tables = community_tables(200, seed=6)
    path = tmp_path / "s.zip"
    path.write_bytes(snapshot_bytes(tables))
    manifest = export_snapshot(config, store, from_zip=path, reason="manual", now=NOW)
    store.s3.put_object(Bucket=store.bucket, Key=manifest.object.key, Body=snapshot_bytes(tables, shuffle_seed=1))
    result = verify_snapshot(store, resolve_snapshot(store, config, "latest"), read_data=True)
    assert not result.ok
    assert any("sha256 of the stored bytes differs" in p for p in result.problems)
    assert any(p.startswith("snapshot.tables.posts.digest: manifest 'sha256:") for p in result.problems)
    assert not any(".count:" in p for p in result.problems)


# ---- the drill's comparison: same data, whatever the bytes ----------------------------------------
def _zip(tmp_path, name, tables, **kw):
    path = tmp_path / name
    path.write_bytes(snapshot_bytes(tables, **kw))
    return path


def _recompact(data: bytes) -> bytes:
    """Every document re-written as another backend might: compact separators, keys reversed."""
    import json

    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("/documents.jsonl") and not info.filename.startswith("_"):
                rows = [json.loads(line) for line in body.splitlines()]
                body = b"".join(json.dumps(dict(reversed(r.items())), separators=(",", ":")).encode() + b"\n"
                                for r in rows)
            dst.writestr(info.filename, body)
    return out.getvalue()


def test_the_round_trip_passes_on_the_same_data_in_other_bytes_and_order(tmp_path):
    tables = community_tables(400, seed=8)
    stored = _zip(tmp_path, "stored.zip", tables)
    for name, data in (("shuffled.zip", snapshot_bytes(tables, shuffle_seed=3)),
                       ("compact.zip", _recompact(snapshot_bytes(tables))),
                       ("legacy.zip", snapshot_bytes(tables, encoding="legacy"))):
        restored = tmp_path / name
        restored.write_bytes(data)
        result = compare_content(stored, restored)
        assert result.problems == [], name
        assert result.stored["tables"] == result.restored["tables"]
        assert summarize(stored).tables != summarize(restored).tables  # the bytes differ


def test_the_round_trip_names_a_changed_a_missing_and_an_extra_document(tmp_path):
    docs = documents(10002, 5)
    stored = _zip(tmp_path, "stored.zip", [Table("posts", 10002, docs), Table("users", 10001, documents(10001, 2))])
    changed = _zip(tmp_path, "changed.zip", [Table("posts", 10002, [dict(docs[0], title="edited"), *docs[1:]]),
                                             Table("users", 10001, documents(10001, 2))])
    missing = _zip(tmp_path, "missing.zip", [Table("posts", 10002, docs[:4]), Table("users", 10001, documents(10001, 2))])
    extra = _zip(tmp_path, "extra.zip", [Table("posts", 10002, docs), Table("users", 10001, documents(10001, 2)),
                                         Table("stray", 10009, [])])
    (line,) = compare_content(stored, changed).problems
    assert line.startswith("snapshot.tables.posts.digest: snapshot '") and "!= restored '" in line
    assert compare_content(stored, missing).problems[0] == "snapshot.tables.posts.count: snapshot 5 != restored 4"
    assert compare_content(stored, extra).problems == ["snapshot.tables.stray: not in the snapshot"]


def test_a_duplicated_document_fails_the_round_trip(tmp_path):
    from deedbox.errors import SnapshotError

    docs = documents(10002, 3)
    stored = _zip(tmp_path, "stored.zip", [Table("posts", 10002, docs)])
    twice = _zip(tmp_path, "twice.zip", [Table("posts", 10002, [*docs, docs[0]])])
    with pytest.raises(SnapshotError, match="duplicate _id"):
        compare_content(stored, twice)
    with pytest.raises(SnapshotError, match="duplicate _id"):  # the stored side, read in the other process
        compare_content(twice, stored)
