"""``Reader.matching_lines`` (restore record's search) against ``Reader.lines``, and the inflate
loop with chunks small enough that ISA-L keeps output past ``max_length`` after taking in all
its input (zlib would hand that input back as ``unconsumed_tail``; ISA-L does not always)."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deedbox.convex import zipio
from deedbox.errors import SnapshotError

ENTRY = "t/documents.jsonl"
LINES = [b'{"a":"xNEEDLEx"}', b'{"b":1}', b'{"c":"NEE"}', b'{"d":"DLE NEEDLE"}', b"x" * 50, b'"NEEDLE"']


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(ENTRY, data)
    return out.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINES), min_size=1, max_size=60), st.booleans(), st.integers(1, 40))
def test_matching_lines_are_the_lines_holding_the_needle(lines, final_newline, chunk):
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zipio, "CHUNK", chunk)
        with zipio.open_zip(io.BytesIO(_zip(data))) as zf:
            reader = zipio.Reader(zf)
            want = [(n, line) for n, line in reader.lines(ENTRY) if b"NEEDLE" in line]
            digest = zipio.JsonlDigest(ENTRY)
            got = list(reader.matching_lines(ENTRY, b"NEEDLE", digest))
            assert b"".join(reader.chunks(ENTRY)) == data  # every chunk size inflates the whole entry
    assert got == want
    assert digest.count == len(lines)


def test_matching_lines_refuses_a_blank_line_and_an_overlong_one(monkeypatch):
    with zipio.open_zip(io.BytesIO(_zip(b'{"a":"NEEDLE"}\n\n{"b":2}\n'))) as zf, \
            pytest.raises(SnapshotError, match="line 2 is blank"):
        list(zipio.Reader(zf).matching_lines(ENTRY, b"NEEDLE", zipio.JsonlDigest(ENTRY)))
    monkeypatch.setattr(zipio, "MAX_LINE", 10)
    monkeypatch.setattr(zipio, "CHUNK", 4)
    with zipio.open_zip(io.BytesIO(_zip(b'{"a":1}\n{"long":"' + b"y" * 40 + b'"}\n'))) as zf, \
            pytest.raises(SnapshotError, match="line 2 is longer than"):
        list(zipio.Reader(zf).matching_lines(ENTRY, b"NEEDLE", zipio.JsonlDigest(ENTRY)))
