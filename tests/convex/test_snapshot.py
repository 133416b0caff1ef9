"""Snapshot readers: the manifest's byte summary (what was stored), the content summary (what the
data is, across encodings and orders), components, storage, rejections, one-record lookup."""

import hashlib
import io
import json
import math
import zipfile

import pytest

from deedbox.convex.canonical import Digest
from deedbox.convex.snapshot import SnapshotSummary, content_summary, find_document, summarize
from deedbox.errors import SnapshotError
from tests.support.snapshots import IdMaker, StoredFile, Table, community_tables, snapshot_bytes

ids = IdMaker(1)


def tricky_docs(number=10001):
    """Values whose typing differs between encodings: Int64 vs float, -0.0, NaN/Inf, bytes."""
    rows = [
        {"n": 1, "f": 1.0, "z": -0.0, "b": b"\x00\xffhi", "s": "123"},
        {"n": -(2**63), "f": math.nan, "z": math.inf, "b": b"", "s": "NaN"},
        {"n": 2**63 - 1, "f": -math.inf, "z": 0.0, "nested": {"k": [1, 2.5, b"x"]}, "s": "x"},
    ]
    return [{"_id": ids(number), "_creationTime": 1.7e12 + i, **r} for i, r in enumerate(rows)]


def zip_of(tables, **kw) -> io.BytesIO:
    return io.BytesIO(snapshot_bytes(tables, **kw))


def test_uniform_and_legacy_encodings_give_identical_digests(caplog):
    tables = [Table("things", 10001, tricky_docs()), *community_tables(300, seed=3)]
    uni = content_summary(zip_of(tables))
    leg = content_summary(zip_of(tables, encoding="legacy"))
    assert (uni.encoding, leg.encoding) == ("uniform", "legacy")
    assert [(t.name, t.count, t.digest) for t in uni.tables] == \
        [(t.name, t.count, t.digest) for t in leg.tables]
    assert "undetermined type" not in caplog.text  # every legacy value was typed by its shape


def test_document_order_does_not_change_the_digest():
    tables = community_tables(300, seed=4)
    assert content_summary(zip_of(tables)).tables == content_summary(zip_of(tables, shuffle_seed=9)).tables


def test_int64_and_float_are_different_values():
    docs = tricky_docs()
    as_float = [dict(d, n=float(d["n"])) for d in docs]
    a = content_summary(zip_of([Table("t", 10001, docs)])).tables[0]
    b = content_summary(zip_of([Table("t", 10001, as_float)])).tables[0]
    assert a.count == b.count == 3 and a.digest != b.digest


def test_a_duplicated_document_is_refused_and_the_digest_still_counts_copies():
    # Convex's import refuses a repeated _id (DuplicateId): such a snapshot could never restore
    docs = tricky_docs()
    with pytest.raises(SnapshotError, match=r"^t/documents.jsonl line 4: duplicate _id \w+ \(also on line 1\)"):
        content_summary(zip_of([Table("t", 10001, docs + docs[:1])]))
    one, two = Digest(), Digest()
    one.add(b"x")
    two.add(b"x")
    two.add(b"x")
    assert one.hexdigest() != two.hexdigest()


def test_components_and_storage_are_counted_and_round_trip_through_to_dict():
    files = [StoredFile(ids(8), b"png-bytes" * 10), StoredFile(ids(8), b"v" * 1000, "video/mp4", "chat/sub")]
    tables = [Table("posts", 10001, tricky_docs()), Table("msgs", 10001, tricky_docs(), "chat"),
              Table("deep", 10002, tricky_docs(10002), "chat/sub")]
    s = summarize(zip_of(tables, files=files))
    assert s.components == ("chat", "chat/sub")
    assert [(t.component, t.name, t.count) for t in s.tables] == \
        [("", "posts", 3), ("chat", "msgs", 3), ("chat/sub", "deep", 3)]
    assert (s.storage_count, s.storage_bytes) == (2, 1090)
    assert SnapshotSummary.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_progress_reports_growing_byte_counts():
    seen = []
    summarize(zip_of(community_tables(200)), progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] > 10_000


def test_storage_size_mismatch_is_rejected():
    f = StoredFile(ids(8), b"abc")
    data = snapshot_bytes([], files=[f])
    bad = _rewrite(data, "_storage/documents.jsonl",
                   lambda b: b.replace(b'"size": 3', b'"size": 4'))
    with pytest.raises(SnapshotError, match=r"storage file _storage/\w+\.png is 3 bytes, documents say 4"):
        summarize(io.BytesIO(bad))


def _rewrite(data: bytes, name: str, fn) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if name is not None and info.filename == name:
                body = fn(body)
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


# ---- rejections, each with its message --------------------------------------------------------
def test_truncated_zip():
    data = snapshot_bytes(community_tables(100))
    with pytest.raises(SnapshotError, match="^snapshot is not a readable ZIP"):
        summarize(io.BytesIO(data[: len(data) // 2]))


def test_flipped_byte_fails_the_crc_or_inflate():
    data = bytearray(snapshot_bytes([Table("t", 10001, tricky_docs() * 50)], readme=False))
    info = next(i for i in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()
                if i.filename == "t/documents.jsonl")
    pos = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[pos] ^= 0x01
    with pytest.raises(SnapshotError, match=r"^snapshot entry t/documents.jsonl is corrupt: "):
        summarize(io.BytesIO(bytes(data)))


def test_wrong_table_number_names_table_and_id_number():
    docs = tricky_docs(10002)  # ids of table 10002 stored in table 10001
    with pytest.raises(SnapshotError,
                       match=r"^table posts \(number 10001\) holds _id \w+ of table number 10002$"):
        content_summary(zip_of([Table("posts", 10001, docs)]))


def test_invalid_json_line_names_entry_and_line():
    data = snapshot_bytes([Table("posts", 10001, tricky_docs())])
    bad = _rewrite(data, "posts/documents.jsonl", lambda b: b.replace(b"\n", b"\n{oops\n", 1))
    with pytest.raises(SnapshotError, match=r"^invalid JSON in posts/documents.jsonl line 2: Expecting property name"):
        content_summary(io.BytesIO(bad))


def test_missing_tables_index():
    data = snapshot_bytes([Table("posts", 10001, tricky_docs())], with_tables_index=False)
    with pytest.raises(SnapshotError, match=r"^snapshot has no _tables/documents.jsonl$"):
        summarize(io.BytesIO(data))


def test_missing_component_tables_index():
    data = snapshot_bytes([Table("m", 10001, tricky_docs(), "chat")])
    bad = _rewrite(data, "_components/chat/_tables/documents.jsonl", lambda b: None)
    with pytest.raises(SnapshotError, match="no _components/chat/_tables/documents.jsonl of component chat"):
        summarize(io.BytesIO(bad))


# ---- find_document ----------------------------------------------------------------------------
def test_find_document_returns_the_raw_line_and_schema():
    docs = tricky_docs()
    buf = zip_of([Table("t", 10001, docs)], encoding="legacy")
    found = find_document(buf, table="t", doc_id=docs[1]["_id"])
    assert found is not None and found.encoding == "legacy" and found.table_number == 10001
    assert found.document["n"] == str(-(2**63)) and found.document["f"] == "NaN"
    assert json.loads(found.line) == found.document
    assert found.generated_schema[0].startswith('"{')
    assert find_document(buf, table="t", doc_id=ids(10001)) is None
    assert find_document(buf, table="nope", doc_id=ids(10001)) is None


def test_find_document_stops_at_the_match():
    docs = tricky_docs() * 1 + [{"_id": ids(10001), "_creationTime": 1.0} for _ in range(3)]
    data = snapshot_bytes([Table("t", 10001, docs)])
    # put garbage after the target line: a reader that went on would fail on invalid JSON
    bad = _rewrite(data, "t/documents.jsonl", lambda b: b + b"{not json\n" * 1000)
    found = find_document(io.BytesIO(bad), table="t", doc_id=docs[2]["_id"])
    assert found is not None and found.document["_id"] == docs[2]["_id"]
    with pytest.raises(SnapshotError, match="invalid JSON"):
        content_summary(io.BytesIO(bad))


def test_find_document_with_an_id_of_another_table_is_a_usage_error():
    from deedbox.errors import UsageError
    buf = zip_of([Table("t", 10001, tricky_docs())])
    with pytest.raises(UsageError, match="belongs to table number 10002, but table t has number 10001"):
        find_document(buf, table="t", doc_id=ids(10002))


def test_crc_mismatch_in_a_stored_entry():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("README.md", "hello snapshot " * 10)
        zf.writestr("_tables/documents.jsonl", "")
    data = bytearray(buf.getvalue())
    data[data.index(b"hello") + 3] ^= 0x20
    with pytest.raises(SnapshotError, match=r"^snapshot entry README.md is corrupt: Bad CRC-32 for file 'README.md'$"):
        summarize(io.BytesIO(bytes(data)))


def test_mixed_encodings_and_a_table_without_generated_schema():
    uni = Table("a", 10001, raw_lines=[b'{"_id": "%s", "_creationTime": 1.0, "n": 1}' % ids(10001).encode()])
    leg = Table("b", 10002, raw_lines=[b'{"_id": "%s", "_creationTime": 1, "n": "1"}' % ids(10002).encode()],
                schema_lines=['"{\\"_creationTime\\": normalfloat64, \\"_id\\": string, \\"n\\": int64}"'])
    s = content_summary(zip_of([uni, leg]))
    assert s.encoding == "mixed"
    a, b = s.tables
    # same typed content except the id: n is Int64 1 in both
    assert a.count == b.count == 1
    noschema = content_summary(zip_of([Table("c", 10003, tricky_docs(10003))], encoding="legacy",
                                with_schema=False))
    assert noschema.encoding == "legacy" and noschema.tables[0].count == 3


def test_legacy_without_shape_reads_strings_as_strings():
    doc = {"_id": ids(10001), "_creationTime": 2.0, "n": 5}
    typed = content_summary(zip_of([Table("t", 10001, [doc])], encoding="legacy")).tables[0]
    untyped = content_summary(zip_of([Table("t", 10001, [doc])], encoding="legacy", with_schema=False)).tables[0]
    as_string = content_summary(zip_of([Table("t", 10001, [dict(doc, n="5")])])).tables[0]
    assert typed.digest != untyped.digest == as_string.digest


@pytest.mark.parametrize("body, message", [
    (b'"n": NaN', "invalid JSON in t/documents.jsonl line 1: NaN is not JSON"),
    (b'"n": 1e400', "t/documents.jsonl line 1: value not valid in Convex: Out of range float values"),
    (b'"n": {"$float": "!!"}', "t/documents.jsonl line 1: value not valid in Convex"),
])
def test_values_convex_cannot_hold_are_rejected(body, message):
    line = b'{"_id": "%s", "_creationTime": 1.0, %s}' % (ids(10001).encode(), body)
    with pytest.raises(SnapshotError, match=message.replace("(", r"\(")):
        content_summary(zip_of([Table("t", 10001, raw_lines=[line])]))


def test_missing_file(tmp_path):
    with pytest.raises(SnapshotError, match=r"^cannot read snapshot: No such file or directory: .*nope.zip$"):
        summarize(tmp_path / "nope.zip")


def test_find_document_in_a_nested_component(tmp_path):
    docs = tricky_docs()
    path = tmp_path / "s.zip"
    path.write_bytes(snapshot_bytes([Table("t", 10001, tricky_docs()), Table("t", 10001, docs, "a/b")]))
    found = find_document(path, table="t", doc_id=docs[0]["_id"], component="a/b")
    assert found is not None and found.document["_id"] == docs[0]["_id"]
    assert find_document(path, table="t", doc_id=docs[0]["_id"]) is None
    assert find_document(path, table="t", doc_id=docs[0]["_id"], component="zzz") is None


def test_ids_are_validated_even_after_their_prefix_was_seen():
    good = ids(10001)
    for bad in (good[:-1], good + "0", good[:-1] + "!", "i" + good[1:]):
        line = b'{"_id": "%s", "_creationTime": 1.0}' % bad.encode()
        rows = [b'{"_id": "%s", "_creationTime": 1.0}' % good.encode(), line]
        with pytest.raises(SnapshotError, match=r"^t/documents.jsonl line 2: invalid _id"):
            content_summary(zip_of([Table("t", 10001, raw_lines=rows)]))


# ---- the byte summary (manifest format 2) and the content summary (the drill), side by side ------
def _digests(read, tables, **kw):
    return {t.name: (t.count, t.digest) for t in read(zip_of(tables, **kw)).tables}


USERS = tricky_docs(10001)


def _posts(docs):
    return [Table("users", 10001, USERS), Table("posts", 10002, docs)]


@pytest.mark.parametrize("read", [summarize, content_summary], ids=["bytes", "content"])
def test_a_changed_a_missing_and_a_duplicated_document_each_change_their_tables_digest(read):
    docs = tricky_docs(10002)
    base = _digests(read, _posts(docs))
    changed = _digests(read, _posts([docs[0], dict(docs[1], s="NaN!"), docs[2]]))
    missing = _digests(read, _posts(docs[:2]))
    assert changed["users"] == missing["users"] == base["users"]  # the other table: unchanged
    assert changed["posts"][0] == base["posts"][0] and changed["posts"][1] != base["posts"][1]
    assert missing["posts"][0] == 2 and missing["posts"][1] != base["posts"][1]
    if read is summarize:  # the bytes are recorded as they are: a second copy is a change
        twice = _digests(read, _posts([*docs, docs[1]]))
        assert twice["posts"][0] == 4 and twice["posts"][1] != base["posts"][1]
    else:  # Convex's import refuses a duplicated _id (DuplicateId): the drill's reader refuses it too
        with pytest.raises(SnapshotError, match="duplicate _id"):
            _digests(read, _posts([*docs, docs[1]]))


def test_a_reordered_table_is_the_same_data_but_not_the_same_bytes():
    """The drill's comparison (content) does not count a new order as a change; verify's (bytes)
    does, because stored bytes in another order are not the bytes that were exported."""
    tables = community_tables(300, seed=4)
    assert _digests(content_summary, tables) == _digests(content_summary, tables, shuffle_seed=9)
    ordered, shuffled = _digests(summarize, tables), _digests(summarize, tables, shuffle_seed=9)
    assert {n: c for n, (c, _) in ordered.items()} == {n: c for n, (c, _) in shuffled.items()}
    assert all(ordered[n][1] != shuffled[n][1] for n in ordered if ordered[n][0] > 1)


def test_the_content_digest_ignores_how_a_backend_spells_the_same_values():
    """What a newer backend may change (crates/value/src/export.rs, serde_json): key order,
    separators, float spelling, and the value encoding itself (legacy -> uniform, March 2026)."""
    doc_id = ids(10001)
    spellings = [
        b'{"_creationTime": 1.7e+12, "_id": "%s", "big": 1e+16, "n": 5, "tiny": 1e-07}',  # Python's json
        b'{"_creationTime":1.7e12,"_id":"%s","big":1e16,"n":5,"tiny":1e-7}',  # serde_json (ryu), compact
        b'{"n":5,"tiny":0.0000001,"big":10000000000000000.0,"_id":"%s","_creationTime":1700000000000.0}',
    ]
    tables = [[Table("t", 10001, raw_lines=[line % doc_id.encode()])] for line in spellings]
    contents = {_digests(content_summary, t)["t"] for t in tables}
    assert len(contents) == 1
    assert len({_digests(summarize, t)["t"] for t in tables}) == 3  # three different byte strings
    legacy = Table("t", 10001, [{"_id": doc_id, "_creationTime": 1.7e12, "big": 1e16, "n": 5, "tiny": 1e-7}])
    assert _digests(content_summary, [legacy], encoding="legacy")["t"] in contents


def test_the_byte_summary_records_each_table_as_stored():
    data = snapshot_bytes([Table("t", 10001, tricky_docs()), Table("empty", 10002, [])])
    s = summarize(io.BytesIO(data))
    zf = zipfile.ZipFile(io.BytesIO(data))
    for t in s.tables:
        info = zf.getinfo(f"{t.name}/documents.jsonl")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        stored = data[start:start + info.compress_size]
        assert t.digest == "sha256:" + hashlib.sha256(stored).hexdigest()
        assert (t.size, t.count) == (info.file_size, zf.read(info).count(b"\n"))
    assert [(t.name, t.count, t.size) for t in s.tables] == [("empty", 0, 0), ("t", 3, s.tables[1].size)]
    assert s.to_dict()["tables"][1] == {"component": "", "name": "t", "number": 10001, "count": 3,
                                        "size": s.tables[1].size, "digest": s.tables[1].digest}


def test_the_same_jsonl_in_another_zip_has_the_same_byte_digests():
    tables = community_tables(200, seed=5)
    first = summarize(zip_of(tables))
    again = summarize(zip_of(tables, readme=False))  # other offsets, same entries
    assert first.tables == again.tables


@pytest.mark.parametrize("chunks, line", [
    ([b"\n{}\n"], 1), ([b"{}\n\n{}\n"], 2), ([b"{}\n{}\n", b"\n"], 3), ([b"{}\n{}", b"\n\n"], 3),
])
def test_the_byte_digest_refuses_an_empty_line_wherever_the_chunks_split(chunks, line):
    from deedbox.convex.zipio import JsonlDigest

    digest = JsonlDigest("t/documents.jsonl")
    with pytest.raises(SnapshotError, match=rf"^t/documents.jsonl line {line} is blank"):
        for chunk in chunks:
            digest.update(chunk)


def test_a_last_line_without_its_newline_is_counted():
    from deedbox.convex.zipio import JsonlDigest

    digest = JsonlDigest("t")
    for chunk in (b"{}\n{", b"}"):
        digest.update(chunk)
    assert (digest.count, digest.size) == (2, 5)


def test_two_readers_give_what_one_gives_and_the_first_error_in_entry_order(tmp_path):
    path = tmp_path / "s.zip"
    path.write_bytes(snapshot_bytes(community_tables(3000, seed=2), files=[StoredFile(ids(8), b"x" * 5000)]))
    assert summarize(path, workers=2) == summarize(path, workers=1) == summarize(io.BytesIO(path.read_bytes()))
    data = bytearray(path.read_bytes())
    zf = zipfile.ZipFile(io.BytesIO(bytes(data)))
    for name in ("comments/documents.jsonl", "users/documents.jsonl"):  # two bad entries
        info = zf.getinfo(name)
        data[info.header_offset + 30 + len(name) + info.compress_size // 2] ^= 0x01
    path.write_bytes(bytes(data))
    errors = set()
    for workers in (1, 2):
        with pytest.raises(SnapshotError, match=r"^snapshot entry comments/documents.jsonl is corrupt") as caught:
            summarize(path, workers=workers)
        errors.add(str(caught.value))
    assert len(errors) == 1


def test_find_document_digests_its_table_as_the_byte_summary_does():
    docs = tricky_docs()
    data = snapshot_bytes([Table("t", 10001, docs)])
    found = find_document(io.BytesIO(data), table="t", doc_id=docs[1]["_id"])
    assert found is not None and found.table == summarize(io.BytesIO(data)).tables[0]
