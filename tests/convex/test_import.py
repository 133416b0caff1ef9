"""import_zip one-shot and chunked, each mode, and Convex's conflict rules."""

import io

import pytest

from deedbox.convex.snapshot import summarize
from deedbox.errors import ConvexError
from tests.support.snapshots import IdMaker, Table, community_tables, snapshot_bytes

ids = IdMaker(11)
DATA = snapshot_bytes(community_tables(300, seed=8))


def docs(number, n):
    return [{"_id": ids(number), "_creationTime": 1.0 + i, "i": i} for i in range(n)]


def export_summary(server, client):
    status = client.export(include_storage=True, poll_s=0.01)
    with client.download_export(status.start_ts) as fp:
        return summarize(io.BytesIO(fp.read()))


@pytest.mark.parametrize("chunked", [False, True])
def test_require_empty_restores_ids_and_digests(server, client, chunked, monkeypatch):
    monkeypatch.setattr("deedbox.convex.importer.PART_SIZE", 4096)  # several parts
    written = client.import_zip(io.BytesIO(DATA), chunked=chunked, poll_s=0.01)
    assert written == sum(t.count for t in summarize(io.BytesIO(DATA)).tables)
    assert export_summary(server, client).tables == summarize(io.BytesIO(DATA)).tables
    if chunked:
        assert server.paths().count("/api/import/upload_part") > 1
        assert "/api/perform_import" in server.paths()


@pytest.mark.parametrize("chunked", [False, True])
def test_require_empty_refuses_a_non_empty_table(server, client, chunked):
    server.load_zip(DATA)
    with pytest.raises(ConvexError, match="Table \\w+ is not empty"):
        client.import_zip(io.BytesIO(DATA), chunked=chunked, poll_s=0.01)


def test_append_replace_replace_all(server, client):
    base = [Table("posts", 10001, docs(10001, 3)), Table("users", 10002, docs(10002, 2))]
    server.load_zip(snapshot_bytes(base))
    more = snapshot_bytes([Table("posts", 10001, docs(10001, 2))])
    assert client.import_zip(io.BytesIO(more), mode="append") == 2
    assert client.table_size("posts") == 5
    assert client.import_zip(io.BytesIO(more), mode="replace") == 2
    assert (client.table_size("posts"), client.table_size("users")) == (2, 2)
    assert client.import_zip(io.BytesIO(more), mode="replaceAll", chunked=True, poll_s=0.01) == 2
    assert (client.table_size("posts"), client.table_size("users")) == (2, 0)


def test_id_of_another_table_is_an_import_conflict(server, client):
    bad = snapshot_bytes([Table("posts", 10001, docs(10002, 1))])
    with pytest.raises(ConvexError, match="Convex 400 ImportConflict"):
        client.import_zip(io.BytesIO(bad))


def test_table_number_clash_is_a_table_number_conflict(server, client):
    server.load_zip(snapshot_bytes([Table("users", 10001, docs(10001, 1))]))
    clash = snapshot_bytes([Table("posts", 10001, docs(10001, 1))])
    with pytest.raises(ConvexError, match="Convex 400 TableNumberConflict"):
        client.import_zip(io.BytesIO(clash), mode="append")


def test_chunked_import_failure_is_reported(server, client):
    bad = snapshot_bytes([Table("posts", 10001, docs(10002, 1))])
    with pytest.raises(ConvexError, match="^Convex import failed: ImportConflict"):
        client.import_zip(io.BytesIO(bad), chunked=True, poll_s=0.01)
