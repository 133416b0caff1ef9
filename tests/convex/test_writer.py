"""writer.write_snapshot: real layout, lines kept verbatim, readable by reader and importer."""

import io
import json
import zipfile

from deedbox.convex.snapshot import content_summary, find_document
from deedbox.convex.writer import TableData, write_snapshot
from tests.support.snapshots import IdMaker, Table, snapshot_bytes

ids = IdMaker(21)


def lines(number, n):
    return [json.dumps({"_id": ids(number), "_creationTime": 1.5 + i, "n": i, "f": float(i)}).encode()
            for i in range(n)]


def test_layout_order_and_compression(tmp_path):
    path = tmp_path / "one.zip"
    write_snapshot(path, [TableData("", "posts", 10001, lines(10001, 2)),
                          TableData("chat", "msgs", 10001, lines(10001, 1))])
    zf = zipfile.ZipFile(path)
    assert zf.namelist() == ["README.md", "_tables/documents.jsonl", "posts/documents.jsonl",
                             "posts/generated_schema.jsonl", "_components/chat/_tables/documents.jsonl",
                             "_components/chat/msgs/documents.jsonl",
                             "_components/chat/msgs/generated_schema.jsonl"]
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    assert zf.read("_tables/documents.jsonl") == b'{"name": "posts", "id": 10001}\n'
    assert zf.read("posts/generated_schema.jsonl") == b'"uniform"\n'


def test_same_digest_as_the_independent_builder():
    rows = lines(10001, 5)
    mine = io.BytesIO()
    write_snapshot(mine, [TableData("", "posts", 10001, rows)])
    theirs = snapshot_bytes([Table("posts", 10001, raw_lines=rows)])
    assert content_summary(mine) == content_summary(io.BytesIO(theirs))


def test_a_found_legacy_document_round_trips_with_its_schema():
    legacy_docs = [{"_id": ids(10001), "_creationTime": 1.0, "n": 7, "b": b"\x01"}]
    src = io.BytesIO(snapshot_bytes([Table("t", 10001, legacy_docs)], encoding="legacy"))
    found = find_document(src, table="t", doc_id=legacy_docs[0]["_id"])
    out = io.BytesIO()
    write_snapshot(out, [TableData("", "t", found.table_number, [found.line], found.generated_schema)])
    again = find_document(out, table="t", doc_id=legacy_docs[0]["_id"])
    assert (again.line, again.encoding, again.generated_schema) == \
        (found.line, "legacy", found.generated_schema)
    assert content_summary(out).tables == content_summary(src).tables


def test_import_of_a_written_snapshot(server, client):
    rows = lines(10001, 3)
    buf = io.BytesIO()
    write_snapshot(buf, [TableData("", "posts", 10001, rows)])
    assert client.import_zip(io.BytesIO(buf.getvalue())) == 3
    assert client.table_size("posts") == 3
