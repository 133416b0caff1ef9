"""A Convex snapshot export ZIP generator written from reference/convex.md alone (not from deedbox's
own fixture builders): ``README.md`` first, ``_tables/documents.jsonl``, ``<table>/documents.jsonl``
and ``generated_schema.jsonl`` (``"uniform"``), ``_storage`` with blobs, a component under
``_components/``, Deflate entries, ids in Convex's exact encoding."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # lowercase Crockford base32
STORAGE_TABLE_NUMBER = 5  # a system table; its number only has to be encoded consistently


def vint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def fletcher16(data: bytes) -> int:
    c0 = c1 = 0
    for b in data:
        c0 = (c0 + b) % 256
        c1 = (c1 + c0) % 256
    return (c1 << 8) | c0


def base32(data: bytes) -> str:
    out = []
    for i in range(0, len(data), 5):
        chunk = data[i:i + 5]
        bits = int.from_bytes(chunk.ljust(5, b"\0"), "big")
        chars = "".join(ALPHABET[(bits >> (35 - 5 * j)) & 31] for j in range(8))
        out.append(chars[:{1: 2, 2: 4, 3: 5, 4: 7, 5: 8}[len(chunk)]])
    return "".join(out)


def make_id(table_number: int, internal: bytes) -> str:
    assert len(internal) == 16
    body = vint(table_number) + internal
    footer = fletcher16(body) ^ 0  # version 0
    return base32(body + footer.to_bytes(2, "little"))


@dataclass
class Table:
    name: str
    number: int
    documents: list[dict] = field(default_factory=list)


@dataclass
class Snapshot:
    tables: list[Table]
    components: dict[str, list[Table]] = field(default_factory=dict)
    blobs: list[tuple[bytes, str]] = field(default_factory=list)  # (content, content type)
    seed: int = 1

    def write(self, path: Path, date_time: tuple = (2026, 11, 27, 3, 15, 0)) -> Path:
        rng = random.Random(self.seed)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            def put(name: str, data: bytes | str) -> None:
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)

            put("README.md", "This is a Convex snapshot export.\n")

            def section(prefix: str, tables: list[Table]) -> None:
                put(prefix + "_tables/documents.jsonl",
                    "".join(json.dumps({"name": t.name, "id": t.number}) + "\n" for t in tables))
                for t in tables:
                    put(f"{prefix}{t.name}/documents.jsonl", "".join(json.dumps(d) + "\n" for d in t.documents))
                    put(f"{prefix}{t.name}/generated_schema.jsonl", json.dumps("uniform") + "\n")

            section("", self.tables)
            if self.blobs:
                lines = []
                for i, (content, ctype) in enumerate(self.blobs):
                    sid = make_id(STORAGE_TABLE_NUMBER, rng.randbytes(16))
                    lines.append(json.dumps({
                        "_id": sid, "_creationTime": 1764213300000.0 + i,
                        "sha256": base64.b64encode(hashlib.sha256(content).digest()).decode(),
                        "size": len(content), "contentType": ctype, "internalId": rng.randbytes(8).hex()}) + "\n")
                    put(f"_storage/{sid}" + (".png" if ctype == "image/png" else ""), content)
                put("_storage/documents.jsonl", "".join(lines))
            for comp, tables in self.components.items():
                section(f"_components/{comp}/", tables)
        return path


def document(table: Table, rng: random.Random, **fields) -> dict:
    doc = {"_id": make_id(table.number, rng.randbytes(16)), "_creationTime": 1764213300000.0 + len(table.documents)}
    doc.update(fields)
    table.documents.append(doc)
    return doc


def community(seed: int = 7, posts: int = 25) -> Snapshot:
    """A small community platform: users, posts (uniform encodings: int64, float, $bytes, $float),
    an empty table, a component with its own table, and one stored file."""
    rng = random.Random(seed)
    users = Table("users", 10001)
    post_t = Table("posts", 10002)
    empty = Table("notifications", 10003)
    for i in range(4):
        document(users, rng, name=f"member {i}", points=i * 10, score=1.5 * i)
    for i in range(posts):
        document(post_t, rng, author=users.documents[i % 4]["_id"], title=f"post {i}", likes=i,
                 ratio=float(i) / 2, raw={"$bytes": base64.b64encode(bytes([i, 255])).decode()},
                 weird={"$float": base64.b64encode(b"\x00\x00\x00\x00\x00\x00\xf8\x7f").decode()})  # NaN
    ratelimits = Table("rateLimits", 10001)
    document(ratelimits, rng, key="login", count=3)
    return Snapshot(tables=[users, post_t, empty], components={"ratelimiter": [ratelimits]},
                    blobs=[(b"\x89PNG\r\n\x1a\n acceptance blob", "image/png")], seed=seed)
