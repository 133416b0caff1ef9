"""The block-wise uniform fast path of ``summarize`` equals the line-by-line reference path.

The fast path must give the same digests and counts, and fall back to the reference path (the
exact error and line number) for anything unusual: blank or padded lines, CRLF, special floats,
a bad id or bad JSON deep in a table (after several 1 MiB blocks).
"""

from __future__ import annotations

import base64
import json
import struct

import pytest

import deedbox.convex.snapshot as snapshot
from deedbox.convex.ids import encode_id
from deedbox.convex.snapshot import summarize
from deedbox.convex.writer import TableData, write_snapshot
from deedbox.errors import SnapshotError

N = 12_000  # about 3 MiB of documents: several blocks


def _doc(i: int, number: int = 10002) -> bytes:
    doc = {"_id": encode_id(number, i.to_bytes(16, "big")), "_creationTime": 1.7e12 + i,
           "title": f"post {i} on 2026-01-0{i % 9}", "n": -i, "w": i / 7, "text": "é ✓ " + "x" * 200}
    if i % 1000 == 3:
        doc["neg0"] = {"$float": base64.b64encode(struct.pack("<d", -0.0)).decode()}
    return json.dumps(doc, ensure_ascii=i % 2 == 0).encode()


def _snapshot(tmp_path, lines: list[bytes], name: str = "s.zip"):
    path = tmp_path / name
    write_snapshot(path, [TableData("", "users", 10001, [json.dumps(
        {"_id": encode_id(10001, b"\x01" * 16), "_creationTime": 1.0}).encode()]),
        TableData("", "posts", 10002, lines)])
    return path


def _both(path, monkeypatch):
    fast = summarize(path)
    monkeypatch.setattr(snapshot, "_encode_canonical", None)  # the reference path only
    ref = summarize(path)
    monkeypatch.undo()
    return fast, ref


def test_fast_path_equals_reference(tmp_path, monkeypatch):
    lines = [_doc(i) for i in range(N)]
    lines[5000] = b""  # a blank line in the middle: skipped by both paths
    lines[7000] = b"  " + lines[7000] + b"  "  # padded: valid JSON, reference path for its block
    lines[9000] = lines[9000] + b"\r"  # CRLF ending on one line
    fast, ref = _both(_snapshot(tmp_path, lines), monkeypatch)
    assert fast == ref
    assert fast.tables[0].count == N - 1


def test_fast_path_is_order_independent_and_counts_duplicates(tmp_path, monkeypatch):
    lines = [_doc(i) for i in range(N)]
    a = summarize(_snapshot(tmp_path, lines, "a.zip"))
    b = summarize(_snapshot(tmp_path, lines[::-1], "b.zip"))
    c = summarize(_snapshot(tmp_path, lines + lines[:1], "c.zip"))
    assert a.tables == b.tables
    assert c.tables[0].digest != a.tables[0].digest and c.tables[0].count == N + 1


@pytest.mark.parametrize("bad, message", [
    (b'{"_id": 5', "invalid JSON in posts/documents.jsonl line 10001"),
    (b"[1, 2]", "posts/documents.jsonl line 10001: a document must be a JSON object"),
    (b'{"_id": "' + encode_id(10001, b"\x09" * 16).encode() + b'"}', "holds _id"),
    (b'{"_id": "zzzz", "_creationTime": 1.0}', "posts/documents.jsonl line 10001: invalid _id"),
    (b'{"x": NaN}', "invalid JSON in posts/documents.jsonl line 10001"),
    (b'{"x": "\xff"}', "invalid UTF-8 in posts/documents.jsonl line 10001"),
])
def test_errors_deep_in_a_table_name_the_line(tmp_path, bad, message):
    lines = [_doc(i) for i in range(N)]
    lines[10000] = bad
    with pytest.raises(SnapshotError, match=message.replace("(", r"\(")):
        summarize(_snapshot(tmp_path, lines))
