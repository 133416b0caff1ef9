"""import_zip (the CLI's chunked protocol) against the nested import state machine, each mode,
and Convex's conflict rules as the import reports them (inner codes never surface)."""

import io

import pytest

from deedbox.convex.importer import MAX_PARTS, PART_SIZE, part_size
from deedbox.convex.snapshot import content_summary
from deedbox.errors import ConvexError
from tests.support.snapshots import IdMaker, Table, community_tables, snapshot_bytes

ids = IdMaker(11)
DATA = snapshot_bytes(community_tables(300, seed=8))


def docs(number, n):
    return [{"_id": ids(number), "_creationTime": 1.0 + i, "i": i} for i in range(n)]


def export_summary(server, client):
    status = client.export(include_storage=True, poll_s=0.01)
    with client.download_export(status.start_ts) as fp:
        return content_summary(io.BytesIO(fp.read()))


def test_require_empty_restores_ids_and_digests_through_every_state(server, client, monkeypatch):
    monkeypatch.setattr("deedbox.convex.importer.PART_SIZE", 4096)  # several parts
    written = client.import_zip(io.BytesIO(DATA), poll_s=0.01)
    assert written == sum(t.count for t in content_summary(io.BytesIO(DATA)).tables)
    assert export_summary(server, client).tables == content_summary(io.BytesIO(DATA)).tables
    assert server.paths().count("/api/import/upload_part") > 1
    assert server.paths().count("/api/perform_import") == 1  # confirmed exactly once
    (imp,) = server.imports.values()
    assert imp["state"]["state"] == "completed" and imp["mode"] == "RequireEmpty"


def test_parts_follow_the_cli_rule():
    assert part_size(10) == PART_SIZE == 5 * 1024 * 1024
    big = 60 * 1024 ** 3  # 60 GiB would need 12,288 parts of 5 MiB
    assert part_size(big) > PART_SIZE and -(-big // part_size(big)) <= MAX_PARTS


def test_an_import_held_waiting_for_confirmation_times_out_with_its_state(server, client):
    server.hold_imports = True
    with pytest.raises(ConvexError, match="did not finish within 0.2s \\(state: waiting_for_confirmation\\)"):
        client.import_zip(io.BytesIO(DATA), poll_s=0.05, deadline_s=0.2)
    assert server.paths().count("/api/perform_import") == 1


def test_require_empty_refuses_a_non_empty_table(server, client):
    server.load_zip(DATA)
    with pytest.raises(ConvexError, match="Convex import failed: Table \\w+ already exists"):
        client.import_zip(io.BytesIO(DATA), poll_s=0.01)


def test_append_replace_replace_all(server, client):
    base = [Table("posts", 10001, docs(10001, 3)), Table("users", 10002, docs(10002, 2))]
    server.load_zip(snapshot_bytes(base))
    more = snapshot_bytes([Table("posts", 10001, docs(10001, 2))])
    assert client.import_zip(io.BytesIO(more), mode="append", poll_s=0.01) == 2
    assert client.table_size("posts") == 5
    assert client.import_zip(io.BytesIO(more), mode="replace", poll_s=0.01) == 2
    assert (client.table_size("posts"), client.table_size("users")) == (2, 2)
    assert client.import_zip(io.BytesIO(more), mode="replaceAll", poll_s=0.01) == 2
    assert (client.table_size("posts"), client.table_size("users")) == (2, 0)


def test_id_of_another_table_is_refused(server, client):
    bad = snapshot_bytes([Table("posts", 10001, docs(10002, 1))])
    with pytest.raises(ConvexError, match="Convex import failed: _id \\w+ cannot be imported into 'posts'"):
        client.import_zip(io.BytesIO(bad), poll_s=0.01)


def test_table_number_clash_is_refused(server, client):
    server.load_zip(snapshot_bytes([Table("users", 10001, docs(10001, 1))]))
    clash = snapshot_bytes([Table("posts", 10001, docs(10001, 1))])
    with pytest.raises(ConvexError, match="New table `posts` has IDs that conflict with existing table `users`"):
        client.import_zip(io.BytesIO(clash), mode="append", poll_s=0.01)


def test_an_import_into_a_component_addresses_that_component(server, client):
    data = snapshot_bytes([Table("badges", 10001, docs(10001, 2))])
    assert client.import_zip(io.BytesIO(data), component="a/b", poll_s=0.01) == 2
    assert len(server.deployment.component("a/b")["badges"].docs) == 2
    assert "badges" not in server.deployment.component("")
