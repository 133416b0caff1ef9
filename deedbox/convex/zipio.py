"""Low-level snapshot ZIP access: open, index entries by component, stream lines, map errors.

Every failure of the ZIP layer (bad central directory, CRC mismatch at end of entry, corrupt
Deflate data, truncation) becomes one ``SnapshotError`` line naming the entry.

A snapshot is untrusted input (a ZIP handed to ``export --from-zip``, a stored object read back
by ``verify --read-data`` or a restore). ``open_zip`` checks the whole central directory before
any data is read, and refuses (one ``SnapshotError`` line naming the entry):

- an entry name that is empty, absolute (``/x``), has a drive letter (``C:``), a backslash, an
  empty, ``.`` or ``..`` segment, or a control character (NUL included: zipfile would cut the
  name at the NUL); two entries with the same name (zipfile reads the last, Convex's import
  imports both);
- a directory entry (name ending in ``/``) that holds data, which no reader would check;
- an encrypted entry (flag bit 0x1, strong encryption 0x40, or WinZip AES, method 99), patched
  data (0x20), or a compression method other than stored (0) and deflate (8): Convex writes
  deflate (convex-backend crates/exports/src/zip_uploader.rs, ``Compression::Deflate``), and
  Python's zipfile cannot read deflate64 or zstd, the other methods Convex's import accepts;
- entries whose data overlap (the "overlapping files" ZIP bomb) or run into the central
  directory, by the directory's own offsets and sizes; then, when an entry is read, a local
  header that disagrees with the central directory (name, method, flags, or sizes and CRC when
  there is no data descriptor) or whose data reaches into the next entry. Opening reads no local
  header, so a snapshot read over ranged GETs costs its directory and the entries read;
- sizes that do not add up: a stored entry whose declared size is not its stored size; an
  entry over ``RATIO_FLOOR`` (1 MiB) declaring more than ``MAX_RATIO`` (1100) bytes per
  compressed byte; all entries together declaring more than ``MAX_RATIO`` times the ZIP's size
  (plus ``RATIO_FLOOR``). Real exports compress 5-15x (JSON) and ~1x (storage blobs). Deflate
  cannot exceed ~1032:1 (a 258-byte match costs at least 2 bits; zlib reaches 1028:1 on a run of
  zeros, which a blank file a user uploaded would be), so the bound is just above what any
  honest entry can declare: only a lying header reaches it, never a real export.

``Reader`` then inflates each entry itself (ISA-L's inflate through ``isal.isal_zlib``, zlib's API
at about twice zlib's speed on this machine's JSON, from the bytes after its local header) and
enforces the *declared* size while streaming: one byte more than the central directory says is
a SnapshotError at once, so a lying header can make the reader inflate at most ``file_size`` +
one chunk, and never more than ``MAX_RATIO`` times the ZIP in total; fewer bytes, a truncated
Deflate stream or a CRC mismatch are "corrupt". Lines are at most ``MAX_LINE`` bytes and JSON
values at most ``MAX_DEPTH`` levels deep (see ``parse_json``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
import threading
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, cast, runtime_checkable

from isal import isal_zlib

from deedbox.errors import SnapshotError

# isal's stub types ``error`` as an instance; at runtime it is igzip_lib.IsalError, a class
INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)

CHUNK = 1 << 20
SPAN_GAP = 256 * 1024  # entries this close are read by one ranged GET (``Reader.span``)
TABLES = "_tables/documents.jsonl"
STORAGE = "_storage/documents.jsonl"

# ---- bounds on hostile input (see the module docstring) ----------------------------------------
MAX_RATIO = 1100  # declared uncompressed bytes per compressed byte, per entry and in total (> 1032:1)
RATIO_FLOOR = 1 << 20  # entries up to this size are not ratio-checked (tiny entries ratio anything)
# Convex values nest at most 64 levels (``MAX_NESTING``, crates/value/src/size.rs), documents 16
# (``MAX_DOCUMENT_NESTING``, crates/common/src/document.rs); one more level for a ``$bytes`` /
# ``$float`` wrapper. 128 JSON levels is twice that, and leaves Python's default recursion limit
# (1000) ample room for the canonical encoder (2-3 frames a level).
CONVEX_MAX_NESTING = 64
MAX_DEPTH = 128
# A Convex document is at most 1 MiB (``MAX_USER_SIZE``, crates/common/src/document.rs); its JSON
# line at most ~6x that (a string of control characters, each written ``\u00XX``).
MAX_LINE = 64 << 20

SUPPORTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz", 98: "ppmd"}
_FLAG_ENCRYPTED = 0x1
_FLAG_DESCRIPTOR = 0x8
_FLAG_PATCHED = 0x20
_FLAG_STRONG_ENCRYPTION = 0x40
_FLAG_UTF8 = 0x800
_AES_METHOD = 99  # WinZip AE-1/AE-2: the real method is in an extra field
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # APPNOTE 4.3.7, as zipfile.structFileHeader
_LOCAL_SIG = b"PK\x03\x04"
_ZIP64_MARK = 0xFFFFFFFF
_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass
class Component:
    """The entries of one component (``""`` is the root app)."""

    path: str
    tables_entry: str | None = None
    documents: dict[str, str] = field(default_factory=dict)  # table -> entry name
    schemas: dict[str, str] = field(default_factory=dict)  # table -> entry name
    storage_entry: str | None = None
    blobs: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # storage id -> info
    other: list[str] = field(default_factory=list)


def show(text: str) -> str:
    """``text`` for a one-line message: as is when printable, else (or empty) its ``repr``."""
    return text if text and text.isprintable() else repr(text)


def split_entry(name: str) -> tuple[str, str]:
    """``_components/a/_components/b/t/documents.jsonl`` -> ``("a/b", "t/documents.jsonl")``."""
    parts = name.split("/")
    comps: list[str] = []
    while len(parts) >= 3 and parts[0] == "_components":
        comps.append(parts[1])
        parts = parts[2:]
    return "/".join(comps), "/".join(parts)


def prefix_of(component: str) -> str:
    """The entry-name prefix of a component path."""
    return "".join(f"_components/{c}/" for c in component.split("/") if c)


@contextlib.contextmanager
def open_zip(source: str | os.PathLike[str] | IO[bytes]) -> Iterator[zipfile.ZipFile]:
    """Open a snapshot; a file that is not a readable ZIP, or a hostile one, is a SnapshotError."""
    try:
        zf = zipfile.ZipFile(source if not isinstance(source, Path) else str(source))
    except OSError as err:
        raise SnapshotError(f"cannot read snapshot: {err.strerror or err}: {source}") from None
    except Exception as err:  # BadZipFile, EOFError, ValueError, NotImplementedError, struct.error...
        detail = show(str(err)) or type(err).__name__
        raise SnapshotError(f"snapshot is not a readable ZIP (truncated or corrupt): {detail}") from None
    with zf:
        check_entries(zf)
        yield zf


# ---- the central directory and local headers -----------------------------------------------------
def name_problem(name: str) -> str | None:
    """Why an entry name is refused, or None. Directory entries may end with one ``/``."""
    if not name:
        return "has an empty name"
    bad = None if name.isascii() and name.isprintable() else \
        next((c for c in name if unicodedata.category(c) == "Cc"), None)  # C0, DEL, C1
    if bad is not None:
        return f"has a control character ({bad!r}) in its name"
    if "\\" in name:
        return "has a backslash in its name"
    if name.startswith("/"):
        return "has an absolute name"
    if _DRIVE.match(name):
        return "has a name with a drive letter"
    segments = (name[:-1] if name.endswith("/") else name).split("/")
    if ".." in segments:
        return "has a '..' segment in its name"
    if "." in segments or "" in segments:
        return "has an empty or '.' segment in its name"
    return None


def entry_problem(info: zipfile.ZipInfo) -> str | None:
    """What the central directory says about one entry that makes it unreadable or hostile."""
    flags, method = info.flag_bits, info.compress_type
    if flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION) or method == _AES_METHOD:
        return "is encrypted: a Convex export never is, and deedbox cannot read it"
    if flags & _FLAG_PATCHED:
        return "holds patched data (flag bit 0x20), which deedbox cannot read"
    if method not in SUPPORTED_METHODS:
        label = _METHOD_NAMES.get(method, "unknown")
        return (f"uses compression method {method} ({label}): Convex exports use deflate, and "
                "deedbox reads only stored and deflate entries")
    if info.filename.endswith("/") and info.file_size:
        return "is a directory entry holding data (which no reader would check)"
    if method == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        return f"is stored uncompressed but declares {info.file_size} bytes in {info.compress_size}"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * info.compress_size:
        return (f"declares {info.file_size} bytes from {info.compress_size} compressed, more than "
                f"{MAX_RATIO}:1 (a ZIP bomb or a lying header)")
    return None


def check_entries(zf: zipfile.ZipFile) -> None:
    """Refuse a hostile central directory (see the module docstring) from the directory alone.

    No entry data and no local header is read here, so opening a snapshot over ranged GETs costs
    the central directory only. Each local header is checked when its entry is read
    (``data_offset``), against the central directory and against where the next entry begins.
    """
    infos = zf.infolist()
    for info in infos:
        problem = name_problem(info.orig_filename)
        if problem:
            raise SnapshotError(f"snapshot entry {show(info.orig_filename)} {problem}")
    dups = [name for name, n in Counter(i.orig_filename for i in infos).items() if n > 1]
    if dups:
        raise SnapshotError(f"snapshot entry {dups[0]} appears more than once: a reader could take "
                            "either copy (zipfile reads the last, Convex's import both)")
    for info in infos:
        problem = entry_problem(info)
        if problem:
            raise SnapshotError(f"snapshot entry {info.filename} {problem}")
    fp = _fp(zf)
    zip_size = fp.seek(0, os.SEEK_END)
    declared = sum(i.file_size for i in infos)
    if declared > MAX_RATIO * zip_size + RATIO_FLOOR:
        raise SnapshotError(f"snapshot declares {declared} bytes uncompressed in a ZIP of {zip_size}, "
                            f"more than {MAX_RATIO}:1 (a ZIP bomb or lying headers)")
    previous: zipfile.ZipInfo | None = None
    end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        _check_offset(zf, info)
        if previous is not None and info.header_offset < end:
            raise SnapshotError(f"snapshot entries {previous.filename} and {info.filename} overlap "
                                "(a ZIP bomb or a corrupt central directory)")
        end = info.header_offset + _LOCAL.size + _name_length(info) + info.compress_size  # at least
        if end > zf.start_dir:
            raise _past_the_entries(info)
        previous = info


def _check_offset(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    if not 0 <= info.header_offset < zf.start_dir:  # zipfile shifts offsets by any bytes before the ZIP
        raise SnapshotError(f"snapshot entry {info.filename} is corrupt: its local header offset "
                            f"{info.header_offset} is outside the entries")


def _name_length(info: zipfile.ZipInfo) -> int:
    """The length of the name in the central directory, as the local header must repeat it."""
    try:
        return len(info.orig_filename.encode("utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437"))
    except UnicodeEncodeError:
        return len(info.orig_filename.encode("utf-8"))


def _past_the_entries(info: zipfile.ZipInfo) -> SnapshotError:
    return SnapshotError(f"snapshot entry {info.filename} is corrupt: its data runs past the "
                         "end of the entries (truncated?)")


def _fp(zf: zipfile.ZipFile) -> IO[bytes]:
    if zf.fp is None:
        raise SnapshotError("snapshot is closed")
    return zf.fp


ReadAt = Callable[[int, int], bytes]  # (position, size) -> at most size bytes from there


def read_at(fp: IO[bytes]) -> ReadAt:
    """Positioned reads of ``fp``: ``os.pread`` on a real file (no shared position, so threads may
    read one file at once), else seek and read (one thread at a time)."""
    try:
        fd = fp.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is not None:
        return lambda pos, n: os.pread(fd, n, pos)

    def seek_read(pos: int, n: int) -> bytes:
        fp.seek(pos)
        return fp.read(n)
    return seek_read


@runtime_checkable
class Advisable(Protocol):
    """A file that can be told which range is read next, in order (a file over ranged GETs)."""

    def advise(self, start: int, end: int) -> None: ...


def data_offset(zf: zipfile.ZipFile, info: zipfile.ZipInfo, read: ReadAt | None = None,
                limit: int | None = None) -> int:
    """Where the entry's compressed data begins, after checking its local header against the
    central directory (a reader that trusts the local header must see the same entry) and, with
    ``limit`` (where the next entry begins), that its data ends before it."""
    name = info.filename
    read = read or read_at(_fp(zf))
    _check_offset(zf, info)
    raw = read(info.header_offset, _LOCAL.size)
    if len(raw) != _LOCAL.size or raw[:4] != _LOCAL_SIG:
        raise SnapshotError(f"snapshot entry {name} is corrupt: no local header at offset {info.header_offset}")
    (_, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len) = _LOCAL.unpack(raw)
    local_name = read(info.header_offset + _LOCAL.size, name_len)
    try:
        local = local_name.decode("utf-8" if flags & _FLAG_UTF8 else "cp437")
    except UnicodeDecodeError:
        local = None
    if local != info.orig_filename:
        raise SnapshotError(f"snapshot entry {name} is corrupt: its local header names {local_name!r}")
    if flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_PATCHED) or method == _AES_METHOD:
        raise SnapshotError(f"snapshot entry {name} is encrypted or patched in its local header "
                            f"(flags 0x{flags:04x}), which the central directory does not say")
    if method != info.compress_type:
        raise SnapshotError(f"snapshot entry {name}: its local header says compression method {method}, "
                            f"the central directory {info.compress_type}")
    if not flags & _FLAG_DESCRIPTOR:
        for what, here, there in (("CRC", crc, info.CRC), ("compressed size", csize, info.compress_size),
                                  ("size", usize, info.file_size)):
            if here != there and not (what != "CRC" and here == _ZIP64_MARK):
                raise SnapshotError(f"snapshot entry {name}: its local header says {what} {here}, "
                                    f"the central directory {there}")
    start = info.header_offset + _LOCAL.size + name_len + extra_len
    if limit is not None and start + info.compress_size > limit:
        raise (_past_the_entries(info) if limit >= zf.start_dir else SnapshotError(
            f"snapshot entry {name} is corrupt: its data runs into the next entry (a ZIP bomb or a "
            "corrupt central directory)"))
    return start


def index(zf: zipfile.ZipFile) -> dict[str, Component]:
    """Group the entries by component and kind, without reading any data."""
    comps: dict[str, Component] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        path, rest = split_entry(info.filename)
        comp = comps.setdefault(path, Component(path))
        head, _, tail = rest.partition("/")
        if rest == TABLES:
            comp.tables_entry = info.filename
        elif rest == STORAGE:
            comp.storage_entry = info.filename
        elif head == "_storage" and tail:
            sid = tail.split(".", 1)[0]
            if sid in comp.blobs:
                raise SnapshotError(f"snapshot entries {comp.blobs[sid].filename} and {info.filename} "
                                    f"are both storage file {sid}")
            comp.blobs[sid] = info
        elif tail == "documents.jsonl" and not head.startswith("_"):
            comp.documents[head] = info.filename
        elif tail == "generated_schema.jsonl" and not head.startswith("_"):
            comp.schemas[head] = info.filename
        else:
            comp.other.append(info.filename)
    return comps


# ---- reading data ------------------------------------------------------------------------------
class Reader:
    """Reads entries fully (so CRCs are checked) and reports uncompressed bytes to ``progress``.

    Entries are inflated here, not by ``ZipFile.open``: the declared size is enforced while
    streaming (zipfile would silently stop at it), and no password or method zipfile supports
    but Convex does not is ever used. Several entries may be read interleaved (every read is
    positioned). Over a real file (``parallel``) several threads may share one Reader: reads are
    ``pread``s, and ISA-L and hashlib release the GIL. A file that is ``Advisable`` (ranged GETs)
    is told each entry's extent before it is read, so an entry costs one request.
    """

    def __init__(self, zf: zipfile.ZipFile, progress: Callable[[int], None] | None = None) -> None:
        self.zf = zf
        self.progress = progress
        self.done = 0
        fp = _fp(zf)
        self._read = read_at(fp)
        self.parallel = _has_fileno(fp)
        self._advise = fp.advise if isinstance(fp, Advisable) else None
        self._runs: list[tuple[int, int]] = []  # see ``span``
        self._run: tuple[int, int] | None = None
        self._lock = threading.Lock()
        offsets = sorted({i.header_offset for i in zf.infolist()})
        self._next = dict(zip(offsets, [*offsets[1:], zf.start_dir], strict=True))

    def span(self, names: list[str | None]) -> list[str]:
        """``names`` (those present; None and unknown names dropped) in the order they lie in the ZIP,
        to be read in that order. Over a file of ranged GETs (``Advisable``), entries at most
        ``SPAN_GAP`` apart form one run, advised at once when its first entry is read: one request
        reads the run, reading on through the gaps. Convex writes each table's ``documents.jsonl``
        and then at once its ``generated_schema.jsonl`` (convex-backend crates/exports/src/lib.rs,
        ``write_table``), so for ``restore record`` a table and its schema are one request.
        Reading out of that order stays correct, at the cost of more requests."""
        infos = sorted((self.zf.getinfo(n) for n in dict.fromkeys(names) if n in self.zf.NameToInfo),
                       key=lambda i: i.header_offset)
        runs: list[tuple[int, int]] = []
        for info in infos:
            start, end = info.header_offset, self._next.get(info.header_offset, self.zf.start_dir)
            if runs and start - runs[-1][1] <= SPAN_GAP:
                runs[-1] = (runs[-1][0], end)
            else:
                runs.append((start, end))
        self._runs, self._run = runs, None
        return [i.filename for i in infos]

    def _advise_for(self, start: int, end: int) -> None:
        """Advise the run holding this entry (once), else the entry alone."""
        assert self._advise is not None
        run = next((r for r in self._runs if r[0] <= start and end <= r[1]), None)
        if run is None or run != self._run:
            self._advise(*(run or (start, end)))
        self._run = run

    def _tick(self, n: int) -> None:
        with self._lock:
            self.done += n
            done = self.done
        if self.progress is not None:
            self.progress(done)

    def chunks(self, name: str, *, stored: Callable[[bytes], object] | None = None) -> Iterator[bytes]:
        """The entry's bytes, inflated; ``stored`` sees its data as stored (deflated) on the way."""
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise SnapshotError(f"snapshot has no entry {show(name)}") from None
        problem = entry_problem(info)
        if problem:
            raise SnapshotError(f"snapshot entry {name} {problem}")
        try:
            yield from self._inflate(info, stored)
        except (INFLATE_ERROR, OSError) as err:
            raise SnapshotError(f"snapshot entry {name} is corrupt: {err}") from None

    def _inflate(self, info: zipfile.ZipInfo, stored: Callable[[bytes], object] | None) -> Iterator[bytes]:
        name, declared = info.filename, info.file_size
        limit = self._next.get(info.header_offset, self.zf.start_dir)
        if self._advise is not None:
            self._advise_for(info.header_offset, limit)
        pos = data_offset(self.zf, info, self._read, limit)
        left = info.compress_size
        inflater = isal_zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        crc = size = 0
        pending = b""  # compressed input not yet inflated (the inflater's unconsumed_tail)
        while True:
            if not pending and left > 0:
                pending = self._read(pos, min(CHUNK, left))
                if not pending:
                    raise SnapshotError(f"snapshot entry {name} is corrupt: the ZIP ends inside its data")
                if stored is not None:
                    stored(pending)
                pos += len(pending)
                left -= len(pending)
            if inflater is None:
                if not pending:
                    break
                data, pending = pending, b""
            else:
                # with all input in, go on while output comes: ISA-L can take in all its input and
                # keep output past max_length (zlib hands such input back as unconsumed_tail)
                data = inflater.decompress(pending, CHUNK)
                pending = inflater.unconsumed_tail
                if not data and not pending and left <= 0:
                    break  # the end, or truncated Deflate data (checked below)
            size += len(data)
            if size > declared:
                raise SnapshotError(f"snapshot entry {name} inflates beyond its declared size of "
                                    f"{declared} bytes (a lying header)")
            if data:
                crc = zlib.crc32(data, crc)
                self._tick(len(data))
                yield data
            if inflater is not None and inflater.eof:
                break
        if inflater is not None and not inflater.eof:
            raise SnapshotError(f"snapshot entry {name} is corrupt: its Deflate data is truncated")
        if size != declared:
            raise SnapshotError(f"snapshot entry {name} is corrupt: {size} bytes, its header says {declared}")
        if crc != info.CRC:
            raise SnapshotError(f"snapshot entry {name} is corrupt: Bad CRC-32 for file {name!r}")

    def lines(self, name: str, *, digest: JsonlDigest | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line number from 1, line without newline)``; a final newline is optional.

        A blank line is a SnapshotError: Convex's import refuses it ("Row n wasn't valid JSON",
        convex-backend crates/application/src/snapshot_import/parse.rs), so a snapshot holding one
        would verify and then fail to restore. A line longer than ``MAX_LINE`` is refused too.
        ``digest`` digests the entry on the way, as ``Reader.digest`` does.
        """
        pending: list[bytes] = []  # the start of a line that spans chunks
        held = 0
        number = 0
        for chunk in self.chunks(name, stored=digest.stored if digest else None):
            if digest is not None:
                digest.update(chunk)
            parts = chunk.split(b"\n")
            if len(parts) == 1:
                held += len(chunk)
                if held > MAX_LINE:
                    raise SnapshotError(_too_long(name, number + 1))
                pending.append(chunk)
                continue
            if pending:
                pending.append(parts[0])
                parts[0] = b"".join(pending)
                if len(parts[0]) > MAX_LINE:
                    raise SnapshotError(_too_long(name, number + 1))
            last = parts.pop()
            pending, held = ([last], len(last)) if last else ([], 0)
            for line in parts:
                number += 1
                yield number, _not_blank(line, name, number)
        if pending:
            yield number + 1, _not_blank(b"".join(pending), name, number + 1)

    def matching_lines(self, name: str, needle: bytes, digest: JsonlDigest) -> Iterator[tuple[int, bytes]]:
        """The lines of ``name`` that hold ``needle``, as ``lines`` would number them, with the same
        refusals (a blank line: ``digest``; a line over ``MAX_LINE``), found by searching each chunk
        rather than splitting it: the cost of the bytes, not of the lines. ``digest`` digests the
        entry on the way."""
        carry = b""  # the last line so far, not ended yet (it holds no newline)
        for chunk in self.chunks(name, stored=digest.stored):
            before = digest.lines  # newlines ahead of ``carry``
            digest.update(chunk)
            buf = carry + chunk if carry else chunk
            if carry and len(carry) + max(chunk.find(b"\n"), 0) > MAX_LINE:  # as ``lines``: a line across chunks
                raise SnapshotError(_too_long(name, before + 1))
            at = buf.find(needle)
            while at >= 0:
                start = buf.rfind(b"\n", 0, at) + 1
                end = buf.find(b"\n", at)
                if end < 0:
                    break  # that line goes on in the next chunk: found again there
                yield before + buf.count(b"\n", 0, start) + 1, buf[start:end]
                at = buf.find(needle, end + 1)
            cut = buf.rfind(b"\n") + 1
            carry = buf[cut:] if cut else buf
            if len(carry) > MAX_LINE:
                raise SnapshotError(_too_long(name, digest.lines + 1))
        if carry and needle in carry:
            yield digest.lines + 1, carry

    def json_lines(self, name: str) -> Iterator[tuple[int, bytes, object]]:
        for number, line in self.lines(name):
            yield number, line, parse_json(line, name, number)

    def drain(self, name: str) -> int:
        """Read an entry to the end (checking its CRC); return its size."""
        return sum(len(c) for c in self.chunks(name))

    def digest(self, name: str) -> JsonlDigest:
        """Read a JSONL entry to the end, digesting it as stored, without splitting it into lines."""
        digest = JsonlDigest(name)
        for chunk in self.chunks(name, stored=digest.stored):
            digest.update(chunk)
        return digest


def _has_fileno(fp: IO[bytes]) -> bool:
    try:
        fp.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


class JsonlDigest:
    """What the manifest records of a JSONL entry, at the cost of its bytes: the SHA-256 of its
    data as stored in the ZIP (deflated: the bytes Convex wrote, which the inflate's CRC-32 ties
    to the lines), its size and its line count (newlines, plus a last line without one). Lines
    are never split out; the one line rule checked is the one that needs no parsing: an empty
    line (Convex's import refuses it, see ``Reader.lines``)."""

    __slots__ = ("name", "sha256", "size", "lines", "_last")

    def __init__(self, name: str) -> None:
        self.name = name
        self.sha256 = hashlib.sha256()
        self.size = self.lines = 0
        self._last = b"\n"  # as if a line had just ended

    def stored(self, data: bytes) -> None:
        """The entry's data as stored (what ``Reader.chunks(stored=...)`` hands over)."""
        self.sha256.update(data)

    def update(self, chunk: bytes) -> None:
        if not chunk:
            return
        if (self._last == b"\n" and chunk[:1] == b"\n") or b"\n\n" in chunk:
            self._blank(chunk)
        self.size += len(chunk)
        self.lines += chunk.count(b"\n")
        self._last = chunk[-1:]

    def _blank(self, chunk: bytes) -> None:
        if self._last == b"\n" and chunk[:1] == b"\n":
            number = self.lines + 1
        else:
            number = self.lines + chunk.count(b"\n", 0, chunk.index(b"\n\n") + 1) + 1
        _not_blank(b"", self.name, number)

    @property
    def count(self) -> int:
        """Lines: documents, for a table."""
        return self.lines + (1 if self.size and self._last != b"\n" else 0)

    def hexdigest(self) -> str:
        return "sha256:" + self.sha256.hexdigest()


def _too_long(name: str, number: int) -> str:
    return f"{name} line {number} is longer than {MAX_LINE} bytes (a Convex document is at most 1 MiB)"


def _not_blank(line: bytes, name: str, number: int) -> bytes:
    if not line.strip():
        raise SnapshotError(f"{name} line {number} is blank: Convex's import refuses it (JsonInvalidRow)")
    return line


# ---- JSON ----------------------------------------------------------------------------------------
class NestingError(Exception):
    """A JSON value nests deeper than ``MAX_DEPTH`` (deliberately not a ValueError)."""


def _reject_constant(token: str) -> object:
    raise ValueError(f"{token} is not JSON")


_decode = json.JSONDecoder(parse_constant=_reject_constant).decode


def decode_json(text: str) -> object:
    """Strict JSON, at most ``MAX_DEPTH`` levels deep: ValueError if invalid, NestingError if deeper.

    The C decoder recurses once a level and would raise RecursionError near Python's recursion
    limit; that is caught, and anything it decoded is measured without recursion when it could
    be deeper than the bound (more brackets than ``MAX_DEPTH``), so no caller ever recurses more.
    """
    try:
        value = _decode(text)
    except RecursionError:
        raise NestingError() from None
    if (isinstance(value, (dict, list)) and text.count("[") + text.count("{") > MAX_DEPTH
            and depth_exceeds(value, MAX_DEPTH)):
        raise NestingError()
    return value


def depth_exceeds(value: object, limit: int) -> bool:
    """Whether ``value`` nests arrays/objects more than ``limit`` levels (iteratively)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
        for x in items:
            if isinstance(x, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((x, depth + 1))
    return False


def nesting_message(name: str, number: int) -> str:
    return (f"{name} line {number}: nested more than {MAX_DEPTH} levels deep "
            f"(Convex allows {CONVEX_MAX_NESTING})")


def parse_json(line: bytes, name: str, number: int) -> object:
    """Strict JSON (bare NaN/Infinity are rejected: Convex never writes them), depth-bounded."""
    try:
        return decode_json(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise SnapshotError(f"invalid UTF-8 in {name} line {number}") from None
    except NestingError:
        raise SnapshotError(nesting_message(name, number)) from None
    except ValueError as err:
        raise SnapshotError(f"invalid JSON in {name} line {number}: "
                            f"{getattr(err, 'msg', err)}") from None
