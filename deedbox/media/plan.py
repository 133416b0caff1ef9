"""Pure planning of a media sync: which source objects must be copied, which are up to date.

An object is up to date when the destination holds it with the same size *and* we know it came
from the same source version. "Know" has two sources of truth: the index in the newest sync
record (``{dest key: [source etag, dest etag]}``, valid only while the destination's ETag is
still the one recorded) and, failing that, the ``source-etag`` metadata deedbox stores on every
object it copies (one HeadObject). The index makes a no-op rerun cost two listings, like
``aws s3 sync``, while the metadata keeps the decision correct without it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deedbox.bucket.layout import PREFIXES

META_SOURCE_ETAG = "source-etag"


@dataclass(frozen=True)
class SourceObject:
    cls: str
    key: str
    size: int
    etag: str
    modified: datetime | None = None


@dataclass
class ClassPlan:
    cls: str
    copy: list[tuple[SourceObject, str]] = field(default_factory=list)  # (object, dest key)
    check: list[tuple[SourceObject, str]] = field(default_factory=list)  # same size, unknown origin
    up_to_date: list[tuple[SourceObject, str]] = field(default_factory=list)


def dest_key(mode: str, cls: str, source_key: str) -> str:
    """``media/<class>/<source key>`` for sync; replication keeps the source key (S3 cannot
    rewrite key prefixes when it replicates), so replicate mode compares like with like."""
    return source_key if mode == "replicate" else f"{PREFIXES['media']}{cls}/{source_key}"


def plan_class(cls: str, mode: str, source: list[SourceObject], dest: dict[str, Any],
               index: dict[str, list[str]]) -> ClassPlan:
    """Split ``source`` into copy / check (needs a HEAD) / up to date.

    ``dest`` maps destination keys to objects with ``size`` and ``etag``.
    """
    plan = ClassPlan(cls)
    for obj in source:
        key = dest_key(mode, cls, obj.key)
        there = dest.get(key)
        if there is None or there.size != obj.size:
            plan.copy.append((obj, key))
        elif index.get(key) == [obj.etag, there.etag]:
            plan.up_to_date.append((obj, key))
        elif mode == "replicate" and there.etag == obj.etag:
            plan.up_to_date.append((obj, key))  # a replica keeps the source's ETag
        else:
            plan.check.append((obj, key))
    return plan


def decide_checked(obj: SourceObject, metadata: dict[str, str]) -> bool:
    """After a HEAD: True when the destination copy came from this source version."""
    return metadata.get(META_SOURCE_ETAG) == obj.etag


def new_index(previous: dict[str, list[str]], entries: list[tuple[str, str, str]],
              gone: Collection[str] = frozenset()) -> dict[str, list[str]]:
    """Index after a run: previous, updated with (dest key, source etag, dest etag)."""
    index = {k: v for k, v in previous.items() if k not in gone}
    for key, source_etag, dest_etag in entries:
        index[key] = [source_etag, dest_etag]
    return index
