"""Tiny real-format snapshot ZIPs for the ops tests (built with deedbox.convex.writer)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from deedbox.convex.ids import encode_id
from deedbox.convex.writer import TableData, write_snapshot


def documents(number: int, count: int, *, seed: int = 0, pad: int = 0) -> list[bytes]:
    rng = random.Random(seed * 7919 + number)
    rows = []
    for i in range(count):
        doc = {"_id": encode_id(number, rng.randbytes(16)), "_creationTime": 1.7e12 + i * 1.0,
               "title": f"post {i}", "n": i}
        if pad:
            doc["body"] = os.urandom(pad // 2).hex()  # incompressible: keeps the ZIP big
        rows.append(json.dumps(doc).encode())
    return rows


def make_zip(path: Path, *, posts: int = 3, users: int = 2, seed: int = 0, pad: int = 0) -> Path:
    """A snapshot with tables ``users`` (10001) and ``posts`` (10002)."""
    write_snapshot(path, [
        TableData("", "users", 10001, documents(10001, users, seed=seed)),
        TableData("", "posts", 10002, documents(10002, posts, seed=seed, pad=pad)),
    ])
    return path
