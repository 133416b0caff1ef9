"""Build real-format Convex snapshot ZIPs for tests and benchmarks, independently of deedbox.

This module deliberately re-implements the id encoder (bit by bit, from the reference) and the
value encodings instead of importing ``deedbox.convex``: a second implementation catches bugs
the first would share with its own tests.

Documents are given as TYPED Python values: ``Int64(5)`` or a plain ``int`` is an Int64,
``float`` is a float64 (``1.0``, ``-0.0``, ``nan``, ``inf``), ``bytes`` are bytes.
Tables can also be given as raw, already-encoded JSON lines (the test server does that).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import struct
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
README = "# Welcome to your Convex snapshot export!\n\nThis ZIP file contains a snapshot of the tables in your Convex deployment.\n"
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "video/mp4": ".mp4", "text/plain": ".txt"}
STORAGE_TABLE_NUMBER = 8


def make_id(table_number: int, internal: bytes) -> str:
    """Convex document id, written from the reference without sharing code with deedbox."""
    vint = []
    n = table_number
    while n >= 0x80:
        vint.append((n & 0x7F) | 0x80)
        n >>= 7
    vint.append(n)
    body = bytes(vint) + internal
    c0 = c1 = 0
    for b in body:
        c0 = (c0 + b) & 0xFF
        c1 = (c1 + c0) & 0xFF
    data = body + bytes([c0, c1])  # (c1 << 8 | c0) little-endian
    out = []
    for start in range(0, len(data), 5):
        group = data[start:start + 5]
        bits = int.from_bytes(group + bytes(5 - len(group)), "big")
        chars = [CROCKFORD[(bits >> (35 - 5 * i)) & 31] for i in range(8)]
        out.append("".join(chars[: {1: 2, 2: 4, 3: 5, 4: 7, 5: 8}[len(group)]]))
    return "".join(out)


class IdMaker:
    """Seeded id source, so fixtures are reproducible."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def __call__(self, table_number: int) -> str:
        return make_id(table_number, self.rng.randbytes(16))


# ---- value encodings ------------------------------------------------------------------------
def _special(f: float) -> bool:
    return math.isnan(f) or math.isinf(f) or (f == 0 and math.copysign(1, f) < 0)


def uniform(v: Any) -> Any:
    """Typed value -> uniform-encoding JSON value."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return {"$float": base64.b64encode(struct.pack("<d", v)).decode()}
        return v  # json writes -0.0 as "-0.0"
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, list):
        return [uniform(x) for x in v]
    return {k: uniform(x) for k, x in v.items()}


def _js_number(f: float) -> Any:
    return int(f) if f.is_integer() and abs(f) < 2**53 and not (f == 0 and math.copysign(1, f) < 0) else f


def legacy(v: Any) -> Any:
    """Typed value -> legacy-encoding JSON value (Int64 as string, bytes as base64 string)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return _js_number(v)
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, list):
        return [legacy(x) for x in v]
    return {k: legacy(x) for k, x in v.items()}


def shape_of(v: Any) -> str:
    """The legacy shape name of a typed value (the convex-backend spelling)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "positiveinf" if v > 0 else "negativeinf"
        return "negativezero" if _special(v) else "normalfloat64"
    if isinstance(v, (bytes, bytearray)):
        return "bytes"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        inner = sorted({shape_of(x) for x in v})
        return f"array<{' | '.join(inner) if inner else 'never'}>"
    return "{" + ", ".join(f"{json.dumps(k)}: {shape_of(x)}" for k, x in sorted(v.items())) + "}"


class ShapeUnion:
    """Accumulates a table's shape as a union per top-level field (what legacy exports record)."""

    def __init__(self) -> None:
        self.fields: dict[str, set[str]] = {}
        self.typed: list[tuple[str, str, str]] = []  # (_id, field, int64|bytes) for overrides
        self.nested: list[tuple[str, dict]] = []

    def add(self, doc: dict) -> None:
        nested: dict[str, Any] = {}
        for k, v in doc.items():
            kind = shape_of(v)
            self.fields.setdefault(k, set()).add(kind)
            if kind in ("int64", "bytes"):
                self.typed.append((doc["_id"], k, kind))
            elif isinstance(v, (list, dict)) and _context(v) != "infer":
                nested[k] = _context(v)
        if nested:
            self.nested.append((doc["_id"], nested))

    def overrides(self) -> list[str]:
        """Per-document export contexts where the shape alone is ambiguous: a field that is
        sometimes a string and sometimes int64/bytes, and int64/bytes inside arrays/objects."""
        ambiguous = {k for k, s in self.fields.items() if "string" in s and s & {"int64", "bytes"}}
        out: dict[str, dict[str, Any]] = {i: dict(ctx) for i, ctx in self.nested}
        for doc_id, k, kind in self.typed:
            if k in ambiguous:
                out.setdefault(doc_id, {})[k] = kind
        return [json.dumps({i: ctx}) for i, ctx in out.items()]

    def render(self) -> str:
        parts = [f"{json.dumps(k)}: {' | '.join(sorted(s))}" for k, s in sorted(self.fields.items())]
        return "{" + ", ".join(parts) + "}"


def _context(v: Any) -> Any:
    """The legacy export context of a value: where its Int64s and bytes are."""
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return "infer"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, (bytes, bytearray)):
        return "bytes"
    inner = [_context(x) for x in v] if isinstance(v, list) else {k: _context(x) for k, x in v.items()}
    values = inner if isinstance(inner, list) else list(inner.values())
    return inner if any(c != "infer" for c in values) else "infer"




# ---- building ZIPs -------------------------------------------------------------------------
@dataclass
class Table:
    name: str
    number: int
    docs: Iterable[dict] = ()  # typed documents including _id and _creationTime
    component: str = ""
    raw_lines: Iterable[bytes] | None = None  # already encoded (overrides docs)
    schema_lines: list[str] | None = None  # for raw tables; None -> '"uniform"'


@dataclass
class StoredFile:
    id: str
    data: bytes
    content_type: str = "image/png"
    component: str = ""
    creation_time: float = 1_700_000_000_000.0

    def document(self) -> dict:
        return {"_id": self.id, "_creationTime": self.creation_time,
                "sha256": base64.b64encode(hashlib.sha256(self.data).digest()).decode(),
                "size": len(self.data), "contentType": self.content_type,
                "internalId": hashlib.md5(self.id.encode()).hexdigest()}


def prefix(component: str) -> str:
    return "".join(f"_components/{c}/" for c in component.split("/") if c)


def build_snapshot(dest: str | IO[bytes], tables: list[Table], *, encoding: str = "uniform",
                   files: Iterable[StoredFile] = (), shuffle_seed: int | None = None,
                   readme: bool = True, with_tables_index: bool = True,
                   with_schema: bool = True) -> None:
    """Write a snapshot ZIP in the real export layout, streaming documents entry by entry."""
    files = list(files)
    comps = sorted({t.component for t in tables} | {f.component for f in files} | {""})
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        if readme:
            zf.writestr("README.md", README)
        for comp in comps:
            mine = [t for t in tables if t.component == comp]
            if with_tables_index:
                index = "".join(json.dumps({"name": t.name, "id": t.number}) + "\n" for t in mine)
                zf.writestr(prefix(comp) + "_tables/documents.jsonl", index)
            for t in mine:
                _write_table(zf, prefix(comp), t, encoding, shuffle_seed, with_schema)
            _write_files(zf, prefix(comp), [f for f in files if f.component == comp])


def _write_table(zf: zipfile.ZipFile, pre: str, t: Table, encoding: str,
                 shuffle_seed: int | None, with_schema: bool) -> None:
    shape = ShapeUnion()
    if t.raw_lines is not None:
        lines: Iterator[bytes] = iter(t.raw_lines)
    else:
        docs = list(t.docs) if shuffle_seed is not None else t.docs
        if shuffle_seed is not None:
            random.Random(shuffle_seed).shuffle(docs)  # type: ignore[arg-type]
        enc = uniform if encoding == "uniform" else legacy
        lines = (json.dumps(enc(d), separators=(", ", ": ")).encode()
                 for d in _tap(docs, shape))
    with zf.open(f"{pre}{t.name}/documents.jsonl", "w") as fp:
        for line in lines:
            fp.write(line + b"\n")
    if not with_schema:
        return
    if t.raw_lines is not None:
        schema = t.schema_lines or ['"uniform"']
    else:
        schema = ['"uniform"'] if encoding == "uniform" else [json.dumps(shape.render()), *shape.overrides()]
    zf.writestr(f"{pre}{t.name}/generated_schema.jsonl", "".join(s + "\n" for s in schema))


def _tap(docs: Iterable[dict], shape: ShapeUnion) -> Iterator[dict]:
    for d in docs:
        shape.add(d)
        yield d


def _write_files(zf: zipfile.ZipFile, pre: str, files: list[StoredFile]) -> None:
    if not files:
        return
    zf.writestr(pre + "_storage/documents.jsonl",
                "".join(json.dumps(f.document()) + "\n" for f in files))
    for f in files:
        zf.writestr(pre + "_storage/" + f.id + EXTENSIONS.get(f.content_type, ""), f.data)


def snapshot_bytes(tables: list[Table], **kw: Any) -> bytes:
    import io
    buf = io.BytesIO()
    build_snapshot(buf, tables, **kw)
    return buf.getvalue()


# ---- a community-platform dataset ------------------------------------------------------------
WORDS = ["welcome", "coaching", "course", "lesson", "event", "live", "replay", "challenge", "streak", "points", "member", "post", "comment", "reply", "like", "share", "video", "recording", "module", "quiz", "badge", "level", "community", "guild", "morning", "evening", "weekly", "goal", "progress", "habit", "journal", "question", "answer", "thanks", "great"]
COMMUNITY_TABLES = ("users", "posts", "comments", "courses", "lessons", "events", "points")


def community_tables(n_docs: int, *, seed: int = 7, body_words: int = 30,
                     component: str = "") -> list[Table]:
    """A seeded dataset shaped like the platform: ~n_docs documents over seven tables.

    Documents are generated lazily (a benchmark can stream hundreds of MB); ids reference each
    other (posts.authorId -> users, comments.postId -> posts...). Mixes Int64 counters, floats,
    bytes (avatar hashes), optional fields and nested objects.
    """
    weights = {"users": 1, "posts": 3, "comments": 6, "courses": 0.1, "lessons": 1,
               "events": 0.4, "points": 4}
    scale = n_docs / sum(weights.values())
    counts = {t: max(1, int(w * scale)) for t, w in weights.items()}
    numbers = {t: 10001 + i for i, t in enumerate(COMMUNITY_TABLES)}
    rng = random.Random(seed)
    ids = {t: [make_id(numbers[t], rng.randbytes(16)) for _ in range(counts[t])]
           for t in ("users", "posts", "courses")}
    return [Table(t, numbers[t], _LazyDocs(t, numbers[t], counts[t], seed, ids, body_words),
                  component) for t in COMMUNITY_TABLES]


class _LazyDocs:
    """Re-iterable, seeded document stream for one table."""

    def __init__(self, table: str, number: int, count: int, seed: int, ids: dict,
                 body_words: int) -> None:
        self.table, self.number, self.count = table, number, count
        self.seed, self.ids, self.body_words = seed, ids, body_words

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict]:
        rng = random.Random(f"{self.seed}-{self.table}")
        own = self.ids.get(self.table)
        for i in range(self.count):
            doc_id = own[i] if own else make_id(self.number, rng.randbytes(16))
            base = {"_id": doc_id, "_creationTime": 1_700_000_000_000.0 + i * 1013.25}
            base.update(_fields(self.table, rng, self.ids, self.body_words, i))
            yield base


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _fields(table: str, rng: random.Random, ids: dict, words: int, i: int) -> dict:
    pick = rng.choice
    if table == "users":
        return {"name": f"member {i}", "email": f"m{i}@guild.example", "level": rng.randrange(1, 40),
                "avatarSha": rng.randbytes(16), "bio": _text(rng, words // 3), "score": rng.random() * 100}
    if table == "posts":
        return {"authorId": pick(ids["users"]), "title": _text(rng, 6), "body": _text(rng, words),
                "likes": rng.randrange(0, 500), "pinned": rng.random() < 0.05,
                "tags": [pick(WORDS) for _ in range(rng.randrange(0, 4))]}
    if table == "comments":
        return {"postId": pick(ids["posts"]), "authorId": pick(ids["users"]),
                "body": _text(rng, words // 2), "edited": rng.random() < 0.1}
    if table == "courses":
        return {"slug": "welcome" if i == 0 else f"course-{i}", "title": _text(rng, 4),
                "price": float(rng.randrange(0, 200)), "published": True}
    if table == "lessons":
        return {"courseId": pick(ids["courses"]), "order": rng.randrange(0, 50),
                "title": _text(rng, 5), "video": {"key": f"courses/{i}.mp4", "seconds": rng.random() * 3600}}
    if table == "events":
        return {"title": _text(rng, 5), "startsAt": 1_700_000_000_000.0 + rng.randrange(10**9),
                "capacity": rng.randrange(10, 500), "recordingKey": None}
    return {"userId": pick(ids["users"]), "delta": rng.randrange(-5, 50),
            "reason": pick(("post", "comment", "lesson", "streak"))}


def id_table_number(doc_id: str) -> int:
    """Decode just the table number of an id (independent of deedbox); ValueError if malformed."""
    bits = nbits = 0
    data = bytearray()
    for ch in doc_id:
        idx = CROCKFORD.find(ch)
        if idx < 0:
            raise ValueError(f"bad id {doc_id!r}")
        bits, nbits = (bits << 5) | idx, nbits + 5
        if nbits >= 8:
            nbits -= 8
            data.append((bits >> nbits) & 0xFF)
    number = shift = 0
    for b in data[:5]:
        number |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return number
    raise ValueError(f"bad id {doc_id!r}")


def documents(number: int, count: int, *, seed: int = 0, pad: int = 0) -> list[dict]:
    """``count`` typed documents of table ``number`` (``title``, Int64 ``n``, optional padding).

    ``pad`` adds an incompressible hex ``body`` of that many characters, to make a ZIP big.
    """
    rng = random.Random(seed * 7919 + number)
    rows = []
    for i in range(count):
        doc: dict[str, Any] = {"_id": make_id(number, rng.randbytes(16)), "_creationTime": 1.7e12 + i * 1.0,
                               "title": f"post {i}", "n": i}
        if pad:
            doc["body"] = rng.randbytes(pad // 2).hex()
        rows.append(doc)
    return rows


def make_zip(path: str, *, posts: int = 3, users: int = 2, seed: int = 0, pad: int = 0,
             extra_posts: Iterable[dict] = ()) -> str:
    """A small snapshot with tables ``users`` (10001) and ``posts`` (10002); returns ``path``."""
    build_snapshot(path, [
        Table("users", 10001, documents(10001, users, seed=seed)),
        Table("posts", 10002, [*documents(10002, posts, seed=seed, pad=pad), *extra_posts]),
    ])
    return path
