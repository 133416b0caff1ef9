"""``restore record`` against the Convex test server and moto: find, refuse, put back exactly."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deedbox.backend.export import export_snapshot
from deedbox.convex.client import ConvexClient
from deedbox.errors import CheckFailed, ConvexError
from deedbox.restore.common import with_convex_url
from deedbox.restore.record import restore_record
from tests.support.convex_server import ConvexTestServer
from tests.support.snapshots import Table, make_id, snapshot_bytes

KEY = "live-admin-key"
POST_ID = make_id(10002, bytes(range(16)))
LEGACY_ID = make_id(10003, bytes(range(1, 17)))
NESTED_ID = make_id(10001, bytes(range(2, 18)))
TAKEN = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


def dataset() -> list[Table]:
    user = make_id(10001, b"\x07" * 16)
    return [
        Table("users", 10001, [{"_id": user, "_creationTime": 1_700_000_000_000.5, "name": "ada"}]),
        Table("posts", 10002, [
            {"_id": POST_ID, "_creationTime": 1_700_000_123_456.25, "authorId": user, "likes": 2**53 + 1,
             "score": 1.0, "neg": -0.0, "ratio": float("nan"), "big": float("inf"), "avatar": b"\x00\xffhi",
             "title": "welcome"},
            {"_id": make_id(10002, b"\x09" * 16), "_creationTime": 1_700_000_200_000.0, "likes": 0,
             "title": "second"}]),
        Table("notes", 10003, [{"_id": LEGACY_ID, "_creationTime": 1_700_000_300_000.0, "n": 5, "blob": b"\x01"}]),
        Table("badges", 10001, [{"_id": NESTED_ID, "_creationTime": 1_700_000_400_000.0, "level": 3}],
              component="a/b"),
    ]


@pytest.fixture
def live():
    with ConvexTestServer(admin_key=KEY, export_polls=1) as srv:
        yield srv


@pytest.fixture
def setup(config, store, live, tmp_path, monkeypatch):
    """Live deployment = the dataset; one verified snapshot of it in the bucket (legacy notes too)."""
    cfg = with_convex_url(config, live.url)
    uniform = snapshot_bytes([t for t in dataset() if t.name != "notes"])
    legacy = snapshot_bytes([t for t in dataset() if t.name == "notes"], encoding="legacy")
    import io
    import zipfile
    merged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(uniform)) as a, zipfile.ZipFile(io.BytesIO(legacy)) as b, \
            zipfile.ZipFile(merged, "w", zipfile.ZIP_DEFLATED) as out:
        index = a.read("_tables/documents.jsonl") + b.read("_tables/documents.jsonl")
        for name in a.namelist():
            out.writestr(name, index if name == "_tables/documents.jsonl" else a.read(name))
        for name in b.namelist():
            if name.startswith("notes/"):
                out.writestr(name, b.read(name))
    path = tmp_path / "snap.zip"
    path.write_bytes(merged.getvalue())
    live.load_zip(merged.getvalue())
    export_snapshot(cfg, store, from_zip=path, reason="scheduled", now=TAKEN)
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", KEY)
    return cfg


def client_factory(live):
    return lambda: ConvexClient(live.url, KEY, retries=0, backoff=0)




def test_find_prints_the_line_in_the_snapshot_encoding(setup, store, live):
    before = list(live.requests)
    result = restore_record(setup, store, table="posts", doc_id=POST_ID)
    doc = json.loads(result.line)
    assert doc["_id"] == POST_ID and result.encoding == "uniform"
    assert b'"likes": 9007199254740993' in result.line  # Int64 as a bare integer, exactly
    assert b'"score": 1.0' in result.line and b'"neg": -0.0' in result.line
    assert b'"$bytes"' in result.line and b'"$float"' in result.line
    assert not result.applied and live.requests == before  # nothing touched the live deployment
    assert not list(store.list("restores/"))


def test_not_found(setup, store):
    with pytest.raises(CheckFailed, match=f"no document {make_id(10002, b'x' * 16)} in table posts"):
        restore_record(setup, store, table="posts", doc_id=make_id(10002, b"x" * 16))


def _posts(live):
    return live.deployment.component("")["posts"]


def test_a_post_deleted_an_hour_ago_comes_back_with_its_id(setup, store, live):
    """The common case: Convex refuses to re-insert a deleted _id for 14 days (DocumentDeleted),
    so an append import cannot do it; the replace of the rebuilt table can."""
    original = _posts(live).docs[POST_ID]
    live.db().delete("posts", POST_ID)  # someone deleted the post; its tombstone stays
    live.clock = lambda: __import__("time").time() + 3600  # an hour later
    one = snapshot_bytes([Table("posts", 10002, raw_lines=[original])])
    with pytest.raises(ConvexError, match="Cannot recreate document with _id .* that was deleted"):
        client_factory(live)().import_zip(io.BytesIO(one), mode="append", poll_s=0.01)
    result = restore_record(setup, store, table="posts", doc_id=POST_ID, apply=True,
                            client_factory=client_factory(live))
    posts = _posts(live)
    assert result.applied and result.written == 2 == len(posts.docs)  # the whole table, rebuilt
    assert posts.docs[POST_ID] == original  # byte for byte: id, _creationTime, Int64, floats, bytes
    assert live.deployment.component("")["users"].docs  # the other tables are untouched
    log = json.loads(store.get_bytes(result.log_key))
    assert result.log_key.startswith("restores/") and result.log_key.endswith(f"-record-posts-{POST_ID}.json")
    assert log["id"] == POST_ID and log["mode"] == "replace" and log["safety_snapshot"].endswith("-safety/")
    assert log["table_documents_before"] == 1 and log["count_guarded"] is True
    assert store.exists(log["safety_snapshot"] + "manifest.json")  # the rollback point is complete
    imports = [i for i in live.imports.values() if i["state"]["state"] == "completed"]
    assert imports[-1]["mode"] == "Replace"


def test_apply_refuses_when_the_document_exists(setup, store, live):
    with pytest.raises(CheckFailed, match="refusing: document .* already exists"):
        restore_record(setup, store, table="posts", doc_id=POST_ID, apply=True,
                       client_factory=client_factory(live))
    assert not any(p.startswith("/api/import") for p in live.paths())
    assert not list(store.list("restores/"))


def test_a_write_after_the_safety_export_stops_the_restore(setup, store, live, monkeypatch):
    """The write window: a document added to the table after the safety export would be lost by
    the replace, so the count guard refuses and nothing is imported."""
    from deedbox.restore import record

    live.db().delete("posts", POST_ID)
    real = record.exists_live

    def then_someone_writes(*args, **kwargs):
        found = real(*args, **kwargs)
        live.db().insert("posts", {"title": "written during the restore"})
        return found

    monkeypatch.setattr(record, "exists_live", then_someone_writes)
    with pytest.raises(CheckFailed, match=r"refusing: table posts changed since the safety export \(1 → 2"):
        restore_record(setup, store, table="posts", doc_id=POST_ID, apply=True,
                       client_factory=client_factory(live))
    assert not any(p.startswith("/api/import") for p in live.paths())
    assert POST_ID not in _posts(live).docs and len(_posts(live).docs) == 2


def test_legacy_encoding_round_trips_with_its_schema(setup, store, live):
    original = live.deployment.component("")["notes"].docs[LEGACY_ID]
    live.db().delete("notes", LEGACY_ID)
    result = restore_record(setup, store, table="notes", doc_id=LEGACY_ID, apply=True,
                            client_factory=client_factory(live))
    notes = live.deployment.component("")["notes"]
    assert result.encoding == "legacy" and b'"n": "5"' in result.line  # Int64 as a string
    assert notes.docs[LEGACY_ID] == original
    assert notes.schema_lines and "int64" in notes.schema_lines[0]  # shape went along


def test_nested_component(setup, store, live):
    original = live.deployment.component("a/b")["badges"].docs[NESTED_ID]
    live.db().delete("badges", NESTED_ID, component="a/b")
    result = restore_record(setup, store, table="badges", doc_id=NESTED_ID, component="a/b",
                            apply=True, client_factory=client_factory(live))
    assert result.applied and live.deployment.component("a/b")["badges"].docs[NESTED_ID] == original
    assert NESTED_ID not in live.deployment.component("").get("badges", type("T", (), {"docs": {}})).docs
    assert json.loads(store.get_bytes(result.log_key))["count_guarded"] is False  # tableSize: root only


def test_unverified_snapshot_is_not_used(setup, store):
    key = next(o.key for o in store.list("backend/") if o.key.endswith("snapshot.zip"))
    store.s3.put_object(Bucket=store.bucket, Key=key, Body=b"tampered")
    with pytest.raises(CheckFailed, match="failed verification"):
        restore_record(setup, store, table="posts", doc_id=POST_ID)


def test_cli_prints_jsonl(setup, store, live, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from deedbox.cli import app

    cfg_path = tmp_path / "backup.yaml"
    text = Path(setup.path or "backup.yaml").read_text().replace("https://happy-otter-123.convex.cloud", live.url)
    cfg_path.write_text(text)
    res = CliRunner().invoke(app, ["restore", "record", "--table", "posts", "--id", POST_ID,
                                   "--config", str(cfg_path), "--bucket", store.bucket])
    assert res.exit_code == 0, res.output
    first = res.stdout.splitlines()[0]
    assert json.loads(first)["_id"] == POST_ID
    missing = CliRunner().invoke(app, ["restore", "record", "--table", "posts", "--id",
                                       make_id(10002, b"z" * 16), "--config", str(cfg_path),
                                       "--bucket", store.bucket])
    assert missing.exit_code == 1 and "no document" in missing.output


# ---- ranged reads: the central directory and one table, not the snapshot -------------------------
def _big_snapshot(tmp_path: Path, *, posts_first: bool = False) -> Path:
    """posts (the table looked up) beside 6 MiB of other data: a table and a file-storage blob."""
    import os

    from tests.support.snapshots import StoredFile, documents

    rows = [*documents(10002, 40, seed=3), {"_id": POST_ID, "_creationTime": 1.0, "title": "it"}]
    blob = StoredFile(make_id(8, b"\x05" * 16), os.urandom(4 << 20), "video/mp4")
    path = tmp_path / "big.zip"
    tables = [Table("comments", 10003, documents(10003, 8000, pad=200)), Table("posts", 10002, rows)]
    path.write_bytes(snapshot_bytes(tables[::-1] if posts_first else tables, files=[blob]))
    return path


@pytest.mark.parametrize("posts_first, gets", [(False, 3), (True, 2)])
def test_find_reads_only_the_directory_and_one_table(config, store, tmp_path, monkeypatch, posts_first, gets):
    """The tail (the directory), then ``_tables``, the table and its schema in the order they lie:
    entries side by side are one GET (Convex writes each schema right after its table)."""
    from deedbox.bucket.client import BucketClient
    from deedbox.restore import record

    path = _big_snapshot(tmp_path, posts_first=posts_first)
    export_snapshot(config, store, from_zip=path, reason="scheduled", now=TAKEN)
    readers: list = []
    real = BucketClient.open_ranged

    def spy(self, *args):
        readers.append(real(self, *args))
        return readers[-1]

    monkeypatch.setattr(BucketClient, "open_ranged", spy)
    fetched: list[int] = []
    real_open = BucketClient.open

    def sized(self, key, version_id=None, *, first=None, last=None):
        if key.endswith("/snapshot.zip"):
            assert first is not None and last is not None, "only ranged GETs of the snapshot"
            fetched.append(last - first + 1)
        return real_open(self, key, version_id, first=first, last=last)

    monkeypatch.setattr(BucketClient, "open", sized)
    snap, found = record.find(store, config, table="posts", doc_id=POST_ID)
    assert found.document["title"] == "it"
    (reader,) = readers
    assert reader.requests == len(fetched) == gets, fetched
    assert sum(fetched) < path.stat().st_size / 4


def test_a_table_that_is_not_the_manifests_is_refused(config, store, tmp_path):
    """The manifest records each table's stored bytes; a table read by ranges must be that one."""
    import dataclasses

    from deedbox.bucket.manifest import parse_manifest
    from deedbox.convex.snapshot import summarize
    from deedbox.restore.record import table_differs

    path = _big_snapshot(tmp_path)
    manifest = export_snapshot(config, store, from_zip=path, reason="scheduled", now=TAKEN)
    posts = next(t for t in summarize(path).tables if t.name == "posts")
    assert table_differs(manifest, posts) is None
    other = dataclasses.replace(posts, digest="sha256:" + "0" * 64)
    assert table_differs(manifest, other) == f"digest: manifest {posts.digest!r}, read {other.digest!r}"
    assert table_differs(manifest, dataclasses.replace(posts, name="nope")) == "the manifest does not list it"
    old = parse_manifest(manifest.to_bytes(), key="m")
    v1 = dataclasses.replace(old, format_version=1, snapshot={**old.snapshot, "tables": [
        {k: v for k, v in t.items() if k != "size"} | {"digest": "0" * 64} for t in old.tables]})
    assert table_differs(v1, other) is None  # format 1 records content digests: the count is compared
    assert table_differs(v1, dataclasses.replace(other, count=1)) == "count: manifest 41, read 1"
