"""Hostile snapshot ZIPs for the reader's tests: one builder per kind, and a hypothesis strategy.

Every builder starts from valid, real-format content (``tests.support.snapshots``), breaks one
thing, and returns a ``Hostile``: the ZIP's bytes, a regex of the one-line ``SnapshotError`` the
reader must give, and where ``find_document`` should look so that it meets the hostile part
(``find_refuses`` is False for the few kinds that sit in an entry ``find_document`` never reads,
such as ``_storage/documents.jsonl``).

Where zipfile cannot write the hostile form (the encryption flag, a NUL in a name, lying sizes,
headers that disagree, overlapping entries), the entries are written by ``write_raw``, a small
ZIP writer (APPNOTE 4.3.7 local headers, 4.3.12 central directory, 4.3.16 end record; no ZIP64)
whose every header field can be overridden. ``write_raw`` of honest entries is a valid snapshot
(tests/convex/test_hostile_zips.py checks it), so each kind differs from a good ZIP only in what
it names.

``hostile_zips()`` is a hypothesis strategy drawing random valid content (tables with random
typed documents in either encoding, components, storage files) and one hostile kind with random
parameters, or random corruption of a valid ZIP (flipped bytes, truncation; those may happen to
leave a valid ZIP, ``refused`` is then False).
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import random
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from tests.support.snapshots import (
    StoredFile,
    Table,
    documents,
    make_id,
    snapshot_bytes,
    uniform,
)

# The reader's bounds (deedbox.convex.zipio), restated here on purpose: the tests check the
# numbers the module documents, not whatever the module happens to say.
MAX_DEPTH = 128
MAX_RATIO = 1100
RATIO_FLOOR = 1 << 20


@dataclass(frozen=True)
class Hostile:
    kind: str
    data: bytes
    message: str  # regex the SnapshotError's one line must match (re.search)
    table: str = "t"
    doc_id: str = ""
    component: str = ""
    find_refuses: bool = True  # find_document(table, doc_id, component) meets the hostile part
    refused: bool = True  # False: a random corruption that may leave a valid ZIP


@dataclass
class Content:
    """Valid snapshot content; ``target`` is (component, table, doc id) of a document in it."""

    tables: list[Table]
    files: list[StoredFile] = field(default_factory=list)
    encoding: str = "uniform"
    target: tuple[str, str, str] = ("", "t", "")

    def zip(self) -> bytes:
        return snapshot_bytes(self.tables, files=self.files, encoding=self.encoding)

    @property
    def target_entry(self) -> str:
        comp, table, _ = self.target
        return _prefix(comp) + f"{table}/documents.jsonl"


def default_content(seed: int = 0, *, docs: int = 5, pad: int = 0) -> Content:
    """Tables ``t`` (10001) and ``u`` (10002), one storage file; the target is t's first document."""
    t = documents(10001, docs, seed=seed, pad=pad)
    files = [StoredFile(make_id(8, bytes([seed % 256]) * 16), b"blob-bytes" * 20)]
    return Content([Table("t", 10001, t), Table("u", 10002, documents(10002, 3, seed=seed))], files,
                   target=("", "t", t[0]["_id"]))


def _prefix(component: str) -> str:
    return "".join(f"_components/{c}/" for c in component.split("/") if c)


# ---- a raw ZIP writer ---------------------------------------------------------------------------
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_DATE = (1 << 5) | 1  # 1980-01-01


@dataclass
class RawEntry:
    """One entry as ``write_raw`` writes it; every ``None`` override means "the honest value"."""

    name: bytes
    data: bytes  # the uncompressed content
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    payload: bytes | None = None  # the bytes stored (default: ``data`` compressed by ``method``)
    crc: int | None = None
    size: int | None = None  # declared uncompressed size
    csize: int | None = None  # declared compressed size
    local: dict[str, int] = field(default_factory=dict)  # fields overridden in the local header only
    local_name: bytes | None = None
    offset: int | None = None  # central directory's offset of the local header
    write_local: bool = True  # False: listed in the central directory only (see ``offset``)

    @classmethod
    def of(cls, name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> RawEntry:
        raw = name.encode("utf-8")
        return cls(raw, data, method, 0x800 if not name.isascii() else 0)

    def stored(self) -> bytes:
        if self.payload is not None:
            return self.payload
        if self.method == zipfile.ZIP_STORED:
            return self.data
        if self.method == zipfile.ZIP_BZIP2:
            return bz2.compress(self.data)
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(self.data) + c.flush()

    def fields(self) -> dict[str, int]:
        payload = self.stored()
        return {"flags": self.flags, "method": self.method,
                "crc": zlib.crc32(self.data) if self.crc is None else self.crc,
                "csize": len(payload) if self.csize is None else self.csize,
                "size": len(self.data) if self.size is None else self.size}

    def local_record(self) -> bytes:
        f = {**self.fields(), **self.local}
        name = self.name if self.local_name is None else self.local_name
        return _LOCAL.pack(b"PK\x03\x04", 20, 0, f["flags"], f["method"], 0, _DATE, f["crc"],
                           f["csize"], f["size"], len(name), 0) + name + self.stored()


def write_raw(entries: list[RawEntry]) -> bytes:
    out = bytearray()
    offsets = []
    for e in entries:
        offsets.append(len(out))
        if e.write_local:
            out += e.local_record()
    start = len(out)
    for e, at in zip(entries, offsets, strict=True):
        f = e.fields()
        out += _CENTRAL.pack(b"PK\x01\x02", 20, 3, 20, 0, f["flags"], f["method"], 0, _DATE, f["crc"],
                             f["csize"], f["size"], len(e.name), 0, 0, 0, 0, 0o644 << 16,
                             at if e.offset is None else e.offset) + e.name
    out += _END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), len(out) - start, start, 0)
    return bytes(out)


def entries_of(data: bytes) -> list[RawEntry]:
    """The entries of a (valid) ZIP, as honest ``RawEntry``s in their order."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [RawEntry.of(i.filename, zf.read(i), i.compress_type) for i in zf.infolist()]


def _with(content: Content | None, change: Callable[[list[RawEntry]], list[RawEntry] | None]) -> bytes:
    entries = entries_of((content or default_content()).zip())
    return write_raw(change(entries) or entries)


def _entry(entries: list[RawEntry], name: str) -> RawEntry:
    return next(e for e in entries if e.name == name.encode())


def _target(content: Content | None) -> tuple[Content, dict[str, Any]]:
    c = content or default_content()
    comp, table, doc_id = c.target
    return c, {"table": table, "doc_id": doc_id, "component": comp}


def _where(entry: str) -> str:
    return re.escape(entry)


# ---- the kinds ----------------------------------------------------------------------------------
def encrypted(content: Content | None = None, *, entry: str | None = None, flag: int = 0x1,
              where: str = "both") -> Hostile:
    """The encryption flag (0x1, or strong encryption 0x40) on one entry: central, local or both."""
    c, find = _target(content)
    name = entry or c.target_entry

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, name)
        if where in ("both", "central"):
            e.flags |= flag
        if where == "local":
            e.local["flags"] = e.flags | flag

    message = "is encrypted or patched in its local header" if where == "local" else "is encrypted"
    if where == "local":  # only a read of the entry meets its local header (opening reads none)
        find["find_refuses"] = name in _find_reads(c)
    return Hostile(f"encrypted:{flag:#x}-{where}", _with(c, change), f"^snapshot entry {_where(name)} {message}",
                   **find)


def unsupported_method(content: Content | None = None, *, method: int = zipfile.ZIP_BZIP2,
                       entry: str | None = None) -> Hostile:
    """An entry compressed with another method: bzip2 (real data, zipfile reads it), or a method
    number patched in (lzma 14, deflate64 9, zstd 93, xz 95, WinZip AES 99, an unknown 77)."""
    c, find = _target(content)
    name = entry or c.target_entry

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, name)
        if method == zipfile.ZIP_BZIP2:
            e.method = method
        else:
            e.payload, e.method = e.stored(), method

    message = "is encrypted" if method == 99 else f"uses compression method {method}"
    return Hostile(f"method:{method}", _with(c, change), f"^snapshot entry {_where(name)} {message}", **find)


def lzma_by_zipfile(content: Content | None = None) -> Hostile:
    """A ZIP zipfile itself writes with ZIP_LZMA for the target table (readable by zipfile)."""
    c, find = _target(content)
    src = zipfile.ZipFile(io.BytesIO(c.zip()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            method = zipfile.ZIP_LZMA if info.filename == c.target_entry else zipfile.ZIP_DEFLATED
            dst.writestr(info.filename, src.read(info), compress_type=method)
    return Hostile("method:14-zipfile", out.getvalue(),
                   f"^snapshot entry {_where(c.target_entry)} uses compression method 14", **find)


def deep_line(depth: int, shape: str = "array") -> str:
    """JSON nested exactly ``depth`` levels (arrays, objects, or both alternating)."""
    kinds = [shape == "object" or (shape == "mixed" and i % 2 == 1) for i in range(depth)]
    opens = "".join('{"a":' if obj else "[" for obj in kinds[:-1])
    closes = "".join("}" if obj else "]" for obj in reversed(kinds[:-1]))
    return opens + ("{}" if kinds[-1] else "[]") + closes


def deep_document(content: Content | None = None, *, depth: int = 100_000, shape: str = "array",
                  where: str = "documents") -> Hostile:
    """A line nested ``depth`` levels (counting the document itself) in the target table
    (``documents``, where find_document looks for it), ``_tables``, ``_storage`` or the
    table's ``generated_schema.jsonl``."""
    c, find = _target(content)
    comp, table, _ = c.target
    number = next(t.number for t in c.tables if t.name == table and t.component == comp)
    doc_id = make_id(number, b"\xde\xe9" * 8)
    value = deep_line(depth - 1, shape)
    line = f'{{"_id": "{doc_id}", "_creationTime": 1.0, "deep": {value}}}'.encode()
    pre = _prefix(comp)
    entry = {"documents": c.target_entry, "tables": pre + "_tables/documents.jsonl",
             "storage": pre + "_storage/documents.jsonl",
             "schema": pre + f"{table}/generated_schema.jsonl"}[where]

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, entry)
        # generated_schema: as line 1 (a "uniform" line 1 ends the reading of the file)
        e.data = line + b"\n" if where == "schema" else e.data + line + b"\n"

    if where == "storage" and not any(f.component == comp for f in c.files):
        c = replace(c, files=[*c.files, StoredFile(make_id(8, b"\x01" * 16), b"x", component=comp)])
    data = _with(c, change)
    lines = zipfile.ZipFile(io.BytesIO(data)).read(entry).count(b"\n")
    if where == "documents":
        find["doc_id"] = doc_id
    return Hostile(f"deep:{where}-{shape}-{depth}", data,
                   rf"^{_where(entry)} line {lines}: nested more than {MAX_DEPTH} levels deep",
                   find_refuses=where != "storage", **find)


def duplicate_entry(content: Content | None = None, *, which: str = "documents") -> Hostile:
    """Two entries with the same name (zipfile writes it with a warning; it reads the last):
    the target table's documents (the copy differs), ``_tables``, a storage blob, the README."""
    c, find = _target(content)
    blob = next((_prefix(f.component) + "_storage/" + f.id + ".png" for f in c.files), None)
    name = {"documents": c.target_entry, "tables": _prefix(c.target[0]) + "_tables/documents.jsonl",
            "blob": blob or c.target_entry, "blob-extension": blob or c.target_entry, "readme": "README.md"}[which]

    other_ext = which == "blob-extension" and blob is not None

    def change(entries: list[RawEntry]) -> list[RawEntry]:
        first = _entry(entries, name)
        copy = replace(first, data=b"\n".join(first.data.split(b"\n")[:1]) + b"\n", local={}, payload=None)
        if other_ext:  # the same storage id under another extension: a second file for one id
            copy.name = name.rsplit(".", 1)[0].encode() + b".jpg"
        return [*entries, copy]

    message = (rf"^snapshot entries {_where(name)} and .*\.jpg are both storage file" if other_ext
               else f"^snapshot entry {_where(name)} appears more than once")
    return Hostile(f"duplicate-entry:{which}", _with(c, change), message, **find)


def duplicate_entry_by_zipfile(content: Content | None = None) -> Hostile:
    """The same, written by zipfile itself (``UserWarning: Duplicate name``)."""
    c, find = _target(content)
    buf = io.BytesIO()
    src = zipfile.ZipFile(io.BytesIO(c.zip()))
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        warnings.simplefilter("ignore")
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr(c.target_entry, src.read(c.target_entry).split(b"\n")[0] + b"\n")
    return Hostile("duplicate-entry:zipfile", buf.getvalue(),
                   f"^snapshot entry {_where(c.target_entry)} appears more than once", **find)


def duplicate_id(content: Content | None = None, *, same: bool = True, at_end: bool = True) -> Hostile:
    """The target document twice in its table: the same line, or another document with its _id;
    right after it or at the end of the table."""
    c, find = _target(content)
    entry = c.target_entry
    doc_id = c.target[2]

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, entry)
        lines = e.data.rstrip(b"\n").split(b"\n")
        at = next(i for i, line in enumerate(lines) if doc_id.encode() in line)
        dup = lines[at] if same else json.dumps(uniform({"_id": doc_id, "_creationTime": 2.0,
                                                         "other": "copy"})).encode()
        lines.insert(len(lines) if at_end else at + 1, dup)
        e.data = b"\n".join(lines) + b"\n"

    return Hostile(f"duplicate-id:{'same' if same else 'differs'}-{'end' if at_end else 'next'}",
                   _with(c, change), rf"^{_where(entry)} line \d+: duplicate _id {doc_id} \(also on line \d+\)",
                   **find)


def duplicate_table(content: Content | None = None, *, number: int = 10999) -> Hostile:
    """``_tables`` lists the target table a second time (with ``number``, maybe its own)."""
    c, find = _target(content)
    comp, table, _ = c.target
    entry = _prefix(comp) + "_tables/documents.jsonl"

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, entry)
        e.data += json.dumps({"name": table, "id": number}).encode() + b"\n"

    return Hostile(f"duplicate-table:{number}", _with(c, change),
                   rf"^{_where(entry)} line \d+: table {re.escape(table)} is listed twice", **find)


def duplicate_storage_id(content: Content | None = None) -> Hostile:
    """``_storage/documents.jsonl`` lists one file twice (find_document never reads it)."""
    c, find = _target(content)
    if not c.files:
        c = replace(c, files=[StoredFile(make_id(8, b"\x02" * 16), b"x")])
    f = c.files[0]
    entry = _prefix(f.component) + "_storage/documents.jsonl"

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, entry)
        e.data += json.dumps(f.document()).encode() + b"\n"

    return Hostile("duplicate-storage-id:", _with(c, change), rf"^{_where(entry)} line \d+: duplicate _id",
                   find_refuses=False, **find)


UNSAFE_NAMES = {
    "../../etc/x": "has a '..' segment",
    "t/../../x": "has a '..' segment",
    "/etc/x": "has an absolute name",
    "//server/share/x": "has an absolute name",
    "a\\b.txt": "has a backslash",
    "..\\..\\x": "has a backslash",
    "C:/x": "has a name with a drive letter",
    "c:x": "has a name with a drive letter",
    "./t/documents.jsonl": r"has an empty or '\.' segment",
    "a//b": r"has an empty or '\.' segment",
    "x\x00y": "has a control character",
    "t/documents.jsonl\x00.txt": "has a control character",
    "x\ny": "has a control character",
    "x\ry": "has a control character",
    "x\x1by": "has a control character",
    "x\x7fy": "has a control character",
    "x\x85y": "has a control character",
    "": "has an empty name",
    "t/": "is a directory entry holding data",
}


def unsafe_name(content: Content | None = None, *, name: str = "../../etc/x") -> Hostile:
    """An extra entry with an unsafe name (zipfile would cut a NUL: written raw)."""
    c, find = _target(content)

    def change(entries: list[RawEntry]) -> list[RawEntry]:
        return [*entries, RawEntry.of(name, b"not a snapshot file\n")]

    problem = UNSAFE_NAMES.get(name, ".")
    shown = name if name and name.isprintable() else repr(name)  # as zipio.show
    return Hostile(f"unsafe-name:{name!r}", _with(c, change), f"^snapshot entry {re.escape(shown)} {problem}",
                   **find)


def lying_size(content: Content | None = None, *, entry: str | None = None, by: int = 1,
               fix_crc: bool = True) -> Hostile:
    """An entry inflating to ``by`` bytes more than its headers declare. With ``fix_crc`` the CRC is
    that of the declared prefix, so zipfile (which stops at the declared size) reads a truncated
    entry without a word."""
    c, find = _target(content)
    name = entry or c.target_entry

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, name)
        declared = max(0, len(e.data) - by)
        e.size = declared
        if fix_crc:
            e.crc = zlib.crc32(e.data[:declared])

    find["find_refuses"] = name in _find_reads(c)
    return Hostile(f"lying-size:{by}-{'crc' if fix_crc else 'nocrc'}", _with(c, change),
                   f"^snapshot entry {_where(name)} inflates beyond its declared size", **find)


def short_size(content: Content | None = None, *, entry: str | None = None, by: int = 7) -> Hostile:
    """An entry inflating to fewer bytes than declared."""
    c, find = _target(content)
    name = entry or c.target_entry

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, name)
        e.size = len(e.data) + by

    find["find_refuses"] = name in _find_reads(c)
    return Hostile(f"short-size:{by}", _with(c, change),
                   f"^snapshot entry {_where(name)} is corrupt: .* its header says", **find)


def stored_size_lie(content: Content | None = None, *, entry: str | None = None) -> Hostile:
    """A stored entry declaring more bytes than it stores."""
    c, find = _target(content)
    name = entry or c.target_entry

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, name)
        e.method = zipfile.ZIP_STORED
        e.size = len(e.data) + 100

    return Hostile("stored-size-lie:", _with(c, change),
                   f"^snapshot entry {_where(name)} is stored uncompressed but declares", **find)


def ratio_lie(content: Content | None = None, *, entry: str | None = None,
              declared: int = 0xFFFF_FFFE) -> Hostile:
    """An entry declaring an impossible ratio (up to 4 GiB from a few hundred bytes)."""
    c, find = _target(content)
    name = entry or c.target_entry

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, name)
        e.size = min(0xFFFF_FFFE, max(declared, MAX_RATIO * len(e.stored()) + 1))  # always over the bound

    return Hostile(f"ratio-lie:{declared}", _with(c, change),
                   rf"^snapshot entry {_where(name)} declares \d+ bytes from .* more than {MAX_RATIO}:1",
                   **find)


def total_lie(content: Content | None = None, *, count: int = 8) -> Hostile:
    """At least ``count`` extra entries each declaring ``RATIO_FLOOR`` (1 MiB, under the per-entry
    check) from a few bytes, as many as it takes for the total to exceed ``MAX_RATIO`` times the
    ZIP's size: the total is refused (before any entry is read)."""
    c, find = _target(content)

    def change(entries: list[RawEntry]) -> list[RawEntry]:
        n = count
        while True:
            extra = [replace(RawEntry.of(f"pad{i}.txt", b"x"), size=RATIO_FLOOR) for i in range(n)]
            out = [*entries, *extra]
            if sum(e.fields()["size"] for e in out) > MAX_RATIO * len(write_raw(out)) + RATIO_FLOOR:
                return out
            n *= 2

    return Hostile(f"total-lie:{count}", _with(c, change),
                   rf"^snapshot declares \d+ bytes uncompressed in a ZIP of \d+, more than {MAX_RATIO}:1", **find)


def overlapping(content: Content | None = None, *, shared_header: bool = False) -> Hostile:
    """Two central directory entries whose data overlap: ``inner`` lies inside a stored entry
    ``outer`` (the overlapping-files ZIP bomb), or (``shared_header``) both point at one local
    header."""
    c, find = _target(content)

    def change(entries: list[RawEntry]) -> list[RawEntry]:
        inner = RawEntry.of("inner.txt", b"0" * 5000)
        outer_name = b"outer.bin"
        if shared_header:
            twin = replace(inner, name=b"twin.txt", write_local=False, offset=0)
            return [inner, twin, *entries]
        outer = RawEntry(outer_name, inner.local_record(), zipfile.ZIP_STORED)
        ghost = replace(inner, write_local=False, offset=_LOCAL.size + len(outer_name))
        return [outer, ghost, *entries]

    message = (r"^snapshot entries inner\.txt and twin\.txt overlap" if shared_header
               else r"^snapshot entries outer\.bin and inner\.txt overlap")
    return Hostile(f"overlapping:{'shared' if shared_header else 'nested'}", _with(c, change), message, **find)


def _find_reads(c: Content) -> set[str]:
    """The entries find_document(target) reads (besides the central directory and local headers)."""
    comp, table, _ = c.target
    return {c.target_entry, _prefix(comp) + "_tables/documents.jsonl",
            _prefix(comp) + f"{table}/generated_schema.jsonl"}


def header_mismatch(content: Content | None = None, *, what: str = "method") -> Hostile:
    """The local header disagrees with the central directory: method, size, CRC or name."""
    c, find = _target(content)
    name = c.target_entry

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, name)
        if what == "name":
            e.local_name = e.name[:-1] + b"X"
        elif what == "method":
            e.local["method"] = zipfile.ZIP_STORED
        else:
            e.local[what] = (e.fields()[what] + 1) % 0xFFFF_FFFF  # differs, and never the ZIP64 mark

    message = {"name": " is corrupt: its local header names", "method": ": its local header says compression method",
               "size": ": its local header says size", "crc": ": its local header says CRC",
               "csize": ": its local header says compressed size"}[what]
    return Hostile(f"header-mismatch:{what}", _with(c, change), f"^snapshot entry {_where(name)}{message}", **find)


def long_line(content: Content | None = None, *, size: int = (64 << 20) + 10) -> Hostile:
    """A table line of ``size`` bytes of hex digits (incompressible enough that the ratio check
    does not catch it first): over the reader's MAX_LINE (64 MiB) by default; a test may lower
    the bound instead of building ~100 MB."""
    c, find = _target(content)
    body = random.Random(5).randbytes(size // 2 + 1).hex().encode()[:size]

    comp, table, _ = c.target
    number = next(t.number for t in c.tables if t.name == table and t.component == comp)
    doc_id = make_id(number, b"\x10" * 16)

    def change(entries: list[RawEntry]) -> None:
        e = _entry(entries, c.target_entry)
        e.data += b'{"_id": "%s", "_creationTime": 1.0, "x": "%s"}\n' % (doc_id.encode(), body)

    return Hostile("long-line:", _with(c, change), rf"^{_where(c.target_entry)} line \d+ is longer than", **find)


# Every kind with a fixed set of parameters: what the per-kind tests iterate over.
def all_hostiles() -> list[Hostile]:
    return [kind() for kind in all_kinds()]


def all_kinds() -> list[Callable[[], Hostile]]:
    kinds: list[Callable[[], Hostile]] = [
        encrypted, lambda: encrypted(flag=0x40), lambda: encrypted(where="local"),
        lambda: encrypted(entry="README.md"), lambda: encrypted(entry="_storage/" + _blob_name()),
        unsupported_method, lzma_by_zipfile, lambda: unsupported_method(method=9),
        lambda: unsupported_method(method=93), lambda: unsupported_method(method=99),
        lambda: unsupported_method(method=77),
        deep_document, lambda: deep_document(shape="object"), lambda: deep_document(shape="mixed"),
        lambda: deep_document(depth=MAX_DEPTH + 1), lambda: deep_document(depth=MAX_DEPTH + 1, shape="object"),
        lambda: deep_document(where="tables"), lambda: deep_document(where="schema", depth=5000),
        lambda: deep_document(where="storage"),
        duplicate_entry, duplicate_entry_by_zipfile, lambda: duplicate_entry(which="tables"),
        lambda: duplicate_entry(which="blob"), lambda: duplicate_entry(which="blob-extension"),
        lambda: duplicate_entry(which="readme"),
        duplicate_id, lambda: duplicate_id(same=False), lambda: duplicate_id(at_end=False),
        duplicate_table, lambda: duplicate_table(number=10001), duplicate_storage_id,
        *(lambda n=n: unsafe_name(name=n) for n in UNSAFE_NAMES),
        lying_size, lambda: lying_size(by=10_000), lambda: lying_size(fix_crc=False),
        short_size, stored_size_lie, ratio_lie, lambda: ratio_lie(declared=200 << 20), total_lie,
        overlapping, lambda: overlapping(shared_header=True),
        header_mismatch, *(lambda w=w: header_mismatch(what=w) for w in ("name", "size", "crc", "csize")),
    ]
    return kinds


def _blob_name() -> str:
    f = default_content().files[0]
    return f.id + ".png"


# ---- hypothesis: random valid content, then one hostile kind or random corruption -----------------
_FIELD = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,8}", fullmatch=True)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(),
                     st.text(max_size=12), st.binary(max_size=12))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(_FIELD, inner, max_size=4)),
                       max_leaves=10)
_TABLE_NAMES = ("t", "users", "posts", "msgs")


@st.composite
def contents(draw: st.DrawFn) -> Content:
    """Random valid snapshot content: 1-3 tables (maybe one in a component), random typed
    documents (Int64, floats with NaN/inf/-0, strings, bytes, nesting), 0-2 storage files."""
    names = draw(st.lists(st.sampled_from(_TABLE_NAMES), min_size=1, max_size=3, unique=True))
    component = draw(st.sampled_from(["", "", "chat", "chat/sub"]))
    tables = []
    for i, name in enumerate(names):
        number = 10001 + i
        n = draw(st.integers(1, 6))
        seed = draw(st.integers(0, 2**32))
        internals = [hashlib.sha256(f"{seed}-{j}".encode()).digest()[:16] for j in range(n)]  # distinct
        docs = [{"_id": make_id(number, raw), "_creationTime": 1.7e12 + j,
                 **draw(st.dictionaries(_FIELD, _VALUES, max_size=4))} for j, raw in enumerate(internals)]
        tables.append(Table(name, number, docs, component if i == 0 else ""))
    files = [StoredFile(make_id(8, bytes([k + 1]) * 16), draw(st.binary(max_size=200)), component=comp)
             for k, comp in enumerate(draw(st.lists(st.sampled_from(["", component]), max_size=2)))]
    encoding = draw(st.sampled_from(["uniform", "uniform", "legacy"]))
    first = tables[0]
    return Content(tables, files, encoding, (first.component, first.name, list(first.docs)[0]["_id"]))


def _kinds(content: Content) -> st.SearchStrategy[Hostile]:
    c = content
    raw = entries_of(c.zip())
    entries = [e.name.decode() for e in raw]
    nonempty = [e.name.decode() for e in raw if e.data]
    kinds = [
        st.builds(deep_document, st.just(c), depth=st.one_of(st.integers(MAX_DEPTH + 1, MAX_DEPTH + 50),
                                                             st.integers(MAX_DEPTH + 1, 200_000)),
                  shape=st.sampled_from(["array", "object", "mixed"]),
                  where=st.sampled_from(["documents", "documents", "tables", "schema", "storage"])),
        st.builds(lying_size, st.just(c), entry=st.sampled_from(nonempty), by=st.integers(1, 5000),
                  fix_crc=st.booleans()),
        st.builds(duplicate_id, st.just(c), same=st.booleans(), at_end=st.booleans()),
        st.builds(duplicate_entry, st.just(c),
                  which=st.sampled_from(["documents", "tables", "blob", "blob-extension", "readme"])),
        st.builds(total_lie, st.just(c), count=st.integers(4, 40)),
        st.builds(overlapping, st.just(c), shared_header=st.booleans()),
        st.builds(unsafe_name, st.just(c), name=st.one_of(st.sampled_from(sorted(UNSAFE_NAMES)), _unsafe_names())),
        st.builds(header_mismatch, st.just(c), what=st.sampled_from(["name", "method", "size", "crc", "csize"])),
        st.builds(short_size, st.just(c), entry=st.sampled_from(entries), by=st.integers(1, 5000)),
        st.builds(ratio_lie, st.just(c), entry=st.sampled_from(entries),
                  declared=st.integers(RATIO_FLOOR + 1, 0xFFFF_FFFE)),
        st.builds(duplicate_table, st.just(c), number=st.integers(1, 2**31)),
        st.builds(duplicate_storage_id, st.just(c)),
        st.builds(stored_size_lie, st.just(c), entry=st.sampled_from(entries)),
        st.builds(unsupported_method, st.just(c), method=st.sampled_from([12, 14, 9, 93, 95, 98, 99, 1, 77]),
                  entry=st.sampled_from(entries)),
        st.builds(encrypted, st.just(c), entry=st.sampled_from(entries), flag=st.sampled_from([0x1, 0x40]),
                  where=st.sampled_from(["both", "central", "local"])),
    ]
    return st.sampled_from(kinds).flatmap(lambda kind: kind)  # each kind equally likely (one_of favours the first)


@st.composite
def _unsafe_names(draw: st.DrawFn) -> str:
    """A random name with one unsafe feature somewhere in it."""
    safe = draw(st.from_regex(r"[a-z]{1,6}(/[a-z]{1,6}){0,2}", fullmatch=True))
    kind = draw(st.sampled_from(["dotdot", "abs", "backslash", "drive", "control", "empty"]))
    parts = safe.split("/")
    at = draw(st.integers(0, len(parts)))
    if kind == "dotdot":
        parts.insert(at, "..")
    elif kind == "abs":
        parts.insert(0, "")
    elif kind == "backslash":
        parts[min(at, len(parts) - 1)] += "\\x"
    elif kind == "drive":
        parts[0] = draw(st.sampled_from("acXZ")) + ":" + parts[0]
    elif kind == "control":
        c = draw(st.one_of(st.integers(0, 31), st.just(127), st.integers(0x80, 0x9F)))
        parts[min(at, len(parts) - 1)] += chr(c)
    else:  # an empty segment between two others ("a//b"; "a/" alone is a directory name)
        parts = [parts[0], "", *(parts[1:] or ["x"])]
    return "/".join(parts)


@st.composite
def corrupted(draw: st.DrawFn) -> Hostile:
    """A valid snapshot with random damage: flipped bytes (anywhere, or in the headers) or cut."""
    c = draw(contents())
    data = bytearray(c.zip())
    how = draw(st.sampled_from(["flip", "flip-headers", "truncate", "overwrite"]))
    if how == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "overwrite":
        at = draw(st.integers(0, len(data) - 1))
        chunk = draw(st.binary(min_size=1, max_size=8))
        data[at:at + len(chunk)] = chunk
    else:
        if how == "flip-headers":
            starts = [m.start() for m in re.finditer(rb"PK(\x03\x04|\x01\x02|\x05\x06)", bytes(data))]
            positions = st.builds(lambda s, k: min(len(data) - 1, s + k), st.sampled_from(starts),
                                  st.integers(0, 45))
        else:
            positions = st.integers(0, len(data) - 1)
        for at in draw(st.lists(positions, min_size=1, max_size=6)):
            data[at] ^= draw(st.integers(1, 255))
    comp, table, doc_id = c.target
    return Hostile(f"corrupt:{how}", bytes(data), "", table, doc_id, comp, find_refuses=False, refused=False)


@st.composite
def hostile_zips(draw: st.DrawFn) -> Hostile:
    """One hostile kind applied to random valid content, or random corruption of a valid ZIP."""
    if draw(st.integers(0, 5)) == 0:
        return draw(corrupted())
    return draw(_kinds(draw(contents())))
