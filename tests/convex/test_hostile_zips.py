"""Hostile snapshot ZIPs (tests/support/hostile_zips.py): every kind ends in ONE SnapshotError line
from ``content_summary`` (the drill's reader) and ``find_document``. Every kind the ZIP layer, the
indexes (``_tables``, ``_storage``) or the bytes reveal is refused by ``summarize`` too, hence by
``export_snapshot`` and ``deedbox export --from-zip`` (exit 1), and nothing is stored under
backend/ (no object, no manifest, no open multipart upload). The kinds only a parse of the
documents reveals (``CONTENT_KINDS``: too deep, a duplicated ``_id``, a line over MAX_LINE) are
stored by export, whose manifest records bytes (docs/export.md), and refused by the drill's reader.
What real exports do stays valid: data descriptors, ZIP64 headers, directory entries, a blank
file compressing 1028:1, documents nested right up to the bound. A property test runs the
readers over random hostile ZIPs: never an exception but SnapshotError/UsageError, in bounded time.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from typer.testing import CliRunner

from deedbox.backend.export import export_snapshot
from deedbox.cli import app
from deedbox.convex import zipio
from deedbox.convex.snapshot import content_summary, find_document, summarize
from deedbox.errors import SnapshotError, UsageError
from tests.support import hostile_zips as hz
from tests.support.snapshots import StoredFile, Table, documents, make_id, snapshot_bytes

NOW = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)
HOSTILES = hz.all_hostiles()
IDS = [f"{i:02d}-{h.kind}" for i, h in enumerate(HOSTILES)]
CONTENT_KINDS = ("deep:documents", "deep:schema", "duplicate-id:", "long-line:")  # found by parsing documents
STORED = [h for h in HOSTILES if h.kind.startswith(CONTENT_KINDS)]
REFUSED = [h for h in HOSTILES if not h.kind.startswith(CONTENT_KINDS)]
STORED_IDS = [f"{i:02d}-{h.kind}" for i, h in enumerate(STORED)]
REFUSED_IDS = [f"{i:02d}-{h.kind}" for i, h in enumerate(REFUSED)]
EXAMPLES = int(os.environ.get("DEEDBOX_HOSTILE_EXAMPLES", "200"))


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and "\r" not in text, f"not one line: {text!r}"
    return text


def nothing_stored(store) -> None:
    assert list(store.list("backend/")) == []
    assert store.s3.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_the_bounds_are_the_documented_ones():
    assert (zipio.MAX_DEPTH, zipio.MAX_RATIO, zipio.RATIO_FLOOR) == (hz.MAX_DEPTH, hz.MAX_RATIO, hz.RATIO_FLOOR)
    assert zipio.CONVEX_MAX_NESTING == 64 and zipio.MAX_DEPTH >= 2 * zipio.CONVEX_MAX_NESTING
    assert zipio.MAX_RATIO > 1032  # deflate's own ceiling: no honest entry is refused
    assert zipio.SUPPORTED_METHODS == {0: "stored", 8: "deflate"}


# ---- every kind, every reader -------------------------------------------------------------------
@pytest.mark.parametrize("h", HOSTILES, ids=IDS)
def test_content_summary_refuses_with_one_line(h):
    with pytest.raises(SnapshotError) as caught:
        content_summary(io.BytesIO(h.data))
    assert re.search(h.message, one_line(caught.value)), str(caught.value)


@pytest.mark.parametrize("h", REFUSED, ids=REFUSED_IDS)
def test_summarize_refuses_with_one_line(h):
    with pytest.raises(SnapshotError) as caught:
        summarize(io.BytesIO(h.data))
    assert re.search(h.message, one_line(caught.value)), str(caught.value)


@pytest.mark.parametrize("h", STORED, ids=STORED_IDS)
def test_what_only_a_parse_finds_is_stored_by_export_and_refused_by_the_drills_reader(h, config, store, tmp_path):
    """The manifest records the bytes as exported: export parses no document, so it stores these
    (their bytes verify); the drill reads the stored snapshot with content_summary and fails."""
    from deedbox.backend.verify import verify_snapshot
    from deedbox.bucket.snapshots import resolve_snapshot

    path = tmp_path / "hostile.zip"
    path.write_bytes(h.data)
    manifest = export_snapshot(config, store, from_zip=path, reason="manual", now=NOW)
    assert manifest.snapshot == summarize(path).to_dict()
    assert verify_snapshot(store, resolve_snapshot(store, config, "latest"), read_data=True).ok
    with pytest.raises(SnapshotError) as caught:
        content_summary(path)
    assert re.search(h.message, one_line(caught.value)), str(caught.value)


@pytest.mark.parametrize("h", HOSTILES, ids=IDS)
def test_find_document_refuses_with_one_line(h):
    if not h.find_refuses:  # the hostile part is in an entry find_document never reads
        found = find_document(io.BytesIO(h.data), table=h.table, doc_id=h.doc_id, component=h.component)
        assert found is not None and found.document["_id"] == h.doc_id
        return
    with pytest.raises(SnapshotError) as caught:
        find_document(io.BytesIO(h.data), table=h.table, doc_id=h.doc_id, component=h.component)
    assert re.search(h.message, one_line(caught.value)), str(caught.value)


@pytest.mark.parametrize("h", REFUSED, ids=REFUSED_IDS)
def test_export_refuses_and_stores_nothing(h, config, store, tmp_path):
    path = tmp_path / "hostile.zip"
    path.write_bytes(h.data)
    with pytest.raises(SnapshotError) as caught:
        export_snapshot(config, store, from_zip=path, reason="manual", now=NOW)
    assert re.search(h.message, one_line(caught.value))
    nothing_stored(store)


@pytest.mark.parametrize("h", REFUSED, ids=REFUSED_IDS)
def test_cli_export_is_one_error_line_and_exit_1(h, store, reference_config_path, tmp_path):
    path = tmp_path / "hostile.zip"
    path.write_bytes(h.data)
    res = CliRunner().invoke(app, ["export", "--config", str(reference_config_path), "--bucket", store.bucket,
                                   "--from-zip", str(path), "--reason", "manual"])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deedbox: error: "), res.stderr
    assert re.search(h.message, lines[0].removeprefix("deedbox: error: ")), lines[0]
    assert "Traceback" not in res.output and "unexpected error" not in res.output
    nothing_stored(store)


def _big(kind):
    """A > 16 MiB snapshot (a multipart upload) whose fault is only found at its very end."""
    content = hz.default_content(docs=1500, pad=20_000)
    return kind(content)


@pytest.mark.parametrize("make", [
    lambda c: hz.lying_size(c, by=1),
    lambda c: hz.short_size(c),
    lambda c: hz.header_mismatch(c, what="crc"),
], ids=["lying-size", "short-size", "crc"])
def test_a_big_snapshot_bad_at_its_end_leaves_no_multipart_upload(make, config, store, tmp_path):
    h = _big(make)
    path = tmp_path / "big.zip"
    path.write_bytes(h.data)
    assert path.stat().st_size > 16 * 2 ** 20
    with pytest.raises(SnapshotError) as caught:
        export_snapshot(config, store, from_zip=path, reason="manual", now=NOW)
    assert re.search(h.message, one_line(caught.value))
    nothing_stored(store)


def test_a_line_over_max_line_is_refused_where_lines_are_split(monkeypatch):
    monkeypatch.setattr(zipio, "MAX_LINE", 1 << 20)
    h = hz.long_line(size=(1 << 20) + 1)
    with pytest.raises(SnapshotError) as caught:
        content_summary(io.BytesIO(h.data))
    assert re.search(h.message, one_line(caught.value))
    with pytest.raises(SnapshotError, match=h.message):
        find_document(io.BytesIO(h.data), table=h.table, doc_id=h.doc_id)
    assert summarize(io.BytesIO(h.data)).tables  # the byte summary never holds a line
    assert content_summary(io.BytesIO(hz.long_line(size=1 << 19).data)).tables  # under the bound: fine


def test_the_zipfile_reader_would_have_truncated_silently():
    """Why deedbox inflates entries itself: zipfile stops at the declared size, and with a CRC of
    that prefix it reports nothing; Convex's import would read the whole stream."""
    h = hz.lying_size(by=40)
    entry = hz.default_content().target_entry
    short = zipfile.ZipFile(io.BytesIO(h.data)).read(entry)
    full = zipfile.ZipFile(io.BytesIO(hz.default_content().zip())).read(entry)
    assert full.startswith(short) and len(full) == len(short) + 40


# ---- valid snapshots stay valid ------------------------------------------------------------------
def _tables_of(data: bytes):
    return summarize(io.BytesIO(data)).tables


def test_an_honest_raw_rewrite_is_the_same_snapshot():
    content = hz.default_content()
    assert _tables_of(hz.write_raw(hz.entries_of(content.zip()))) == _tables_of(content.zip())


class _Unseekable(io.RawIOBase):
    def __init__(self) -> None:
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.buf += b
        return len(b)


def _rewritten(data: bytes, **open_kw) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = _Unseekable() if open_kw.pop("unseekable", False) else io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            with dst.open(info.filename, "w", **open_kw) as fp:
                fp.write(src.read(info))
    return bytes(out.buf) if isinstance(out, _Unseekable) else out.getvalue()


def test_data_descriptors_zip64_headers_and_directory_entries_are_read():
    data = hz.default_content().zip()
    want = _tables_of(data)
    streamed = _rewritten(data, unseekable=True)  # written as a stream: flag 0x8, sizes after the data
    assert all(i.flag_bits & 0x8 for i in zipfile.ZipFile(io.BytesIO(streamed)).infolist())
    assert _tables_of(streamed) == want
    assert _tables_of(_rewritten(data, force_zip64=True)) == want  # local sizes 0xFFFFFFFF + ZIP64 extra
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        dst.writestr("t/", b"")  # a directory entry, as a re-zipping tool might add
        for info in zipfile.ZipFile(io.BytesIO(data)).infolist():
            dst.writestr(info.filename, zipfile.ZipFile(io.BytesIO(data)).read(info))
    assert _tables_of(buf.getvalue()) == want
    assert _tables_of(b"#!/bin/sh\nexit 0\n" + data) == want  # bytes before the ZIP (zipfile's concat)


def test_a_blank_file_compressing_1028_to_1_is_not_a_bomb():
    blank = StoredFile(make_id(8, b"\x09" * 16), bytes(4 << 20))
    data = snapshot_bytes([Table("t", 10001, documents(10001, 2))], files=[blank])
    info = next(i for i in zipfile.ZipFile(io.BytesIO(data)).infolist() if i.filename.endswith(".png"))
    assert info.file_size / info.compress_size > 1000
    s = summarize(io.BytesIO(data))
    assert (s.storage_count, s.storage_bytes) == (1, 4 << 20)


@pytest.mark.parametrize("shape", ["array", "object", "mixed"])
@pytest.mark.parametrize("encoding", ["uniform", "legacy"])
def test_a_document_nested_right_up_to_the_bound_is_read_even_in_a_thread(shape, encoding):
    """MAX_DEPTH levels (the document included) are fine in both encodings, in a worker thread
    as export runs the summary, and with the canonical encoder's recursion on top."""
    doc_id = make_id(10001, b"\x07" * 16)
    deep: object = [] if shape != "object" else {}
    for level in range(zipio.MAX_DEPTH - 2):  # the document and the innermost container: MAX_DEPTH
        as_object = shape == "object" or (shape == "mixed" and level % 2)
        deep = {"a": deep, "n": level} if as_object else [deep, level, b"\x00"]
    doc = {"_id": doc_id, "_creationTime": 1.0, "deep": deep}
    data = snapshot_bytes([Table("t", 10001, [doc])], encoding=encoding)
    line = zipfile.ZipFile(io.BytesIO(data)).read("t/documents.jsonl").rstrip(b"\n")
    assert not zipio.depth_exceeds(zipio.decode_json(line.decode()), zipio.MAX_DEPTH)
    assert zipio.depth_exceeds(zipio.decode_json(line.decode()), zipio.MAX_DEPTH - 1)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(_catch(lambda: content_summary(io.BytesIO(data)))))
    worker.start()
    worker.join()
    assert not isinstance(result[0], BaseException), repr(result[0])
    assert result[0].tables[0].count == 1
    found = find_document(io.BytesIO(data), table="t", doc_id=doc_id)
    assert found is not None and found.line == line


def _catch(fn):
    try:
        return fn()
    except BaseException as err:  # noqa: BLE001 - handed back to the test thread
        return err


def test_a_deep_value_is_refused_wherever_it_is_parsed():
    deep = hz.deep_line(100_000).encode()
    assert zipio.depth_exceeds([[[]]], 2) and not zipio.depth_exceeds([[[]]], 3)
    with pytest.raises(zipio.NestingError):
        zipio.decode_json(deep.decode())
    with pytest.raises(SnapshotError, match=r"^x line 3: nested more than 128 levels deep \(Convex allows 64\)$"):
        zipio.parse_json(deep, "x", 3)


def test_brackets_inside_strings_do_not_count():
    text = '{"s": "' + "[" * 500 + '", "t": [' + ", ".join(['"{"'] * 300) + "]}"
    assert zipio.decode_json(text) == {"s": "[" * 500, "t": ["{"] * 300}


# ---- the property ------------------------------------------------------------------------------
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hz.hostile_zips())
def test_no_hostile_zip_gets_past_the_reader_or_crashes_it(h):
    event(h.kind.split(":")[0])
    start = time.monotonic()
    for read in (summarize, content_summary):
        try:
            read(io.BytesIO(h.data))
        except (SnapshotError, UsageError) as err:
            one_line(err)
        else:
            parsed_only = read is summarize and h.kind.startswith(CONTENT_KINDS)
            assert not h.refused or parsed_only, f"{h.kind}: not refused by {read.__name__}"
    try:
        find_document(io.BytesIO(h.data), table=h.table, doc_id=h.doc_id, component=h.component)
    except (SnapshotError, UsageError) as err:
        one_line(err)
    else:
        # find_document checks the local headers of the entries it reads only (opening reads none,
        # so a lookup over ranged GETs costs the directory and three entries): a local-header flag
        # on another entry is not its concern (hostile_zips marks every "-local" kind find_refuses)
        assert not h.find_refuses or h.kind.endswith("-local"), f"{h.kind}: find_document did not refuse"
    assert time.monotonic() - start < 30, f"{h.kind} took {time.monotonic() - start:.1f}s"


@pytest.mark.parametrize("entry", ["{table}/generated_schema.jsonl", "_tables/documents.jsonl", "README.md"])
def test_summarize_reads_every_small_entry_to_its_end(entry):
    """Of a schema only the first line matters to the byte summary, but its CRC and size are
    checked all the same (found by the property test: a schema that inflates short)."""
    c = hz.default_content()
    comp, table, _ = c.target
    h = hz.short_size(c, entry=hz._prefix(comp) + entry.format(table=table))
    with pytest.raises(SnapshotError) as caught:
        summarize(io.BytesIO(h.data))
    assert re.search(h.message, one_line(caught.value)), str(caught.value)
