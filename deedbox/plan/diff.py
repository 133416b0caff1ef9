"""Compare two recorded graphs by URN: what a change to backup.yaml adds, removes and changes.

A change lists each differing input by its dotted path (``rule.defaultRetention.days``) with
the value before and after; JSON documents held in strings (IAM, bucket and key policies) are
compared inside (``policy.Statement[2].Condition...``); ``protect`` is compared too, since turning it off matters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from deedbox.plan.graph import Graph, ResourceRecord
from deedbox.plan.mask import scrub

_ABSENT = object()


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Diff:
    added: tuple[ResourceRecord, ...] = ()
    removed: tuple[ResourceRecord, ...] = ()
    changed: tuple[tuple[ResourceRecord, tuple[Change, ...]], ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        def ref(r: ResourceRecord) -> dict[str, Any]:
            return {"urn": r.urn, "type": r.type, "name": r.name}

        return {
            "added": [ref(r) for r in self.added],
            "removed": [ref(r) for r in self.removed],
            "changed": [{**ref(r), "changes": [{"path": c.path, "before": c.before, "after": c.after} for c in cs]}
                        for r, cs in self.changed],
        }


def diff(base: Graph, head: Graph) -> Diff:
    """What applying ``head`` over ``base`` would do, in ``head``'s registration order."""
    before = {r.urn: r for r in base}
    after = {r.urn: r for r in head}
    changed = []
    for r in head:
        if r.urn in before:
            changes = tuple(_changes(before[r.urn], r))
            if changes:
                changed.append((r, changes))
    return Diff(
        added=tuple(r for r in head if r.urn not in before),
        removed=tuple(r for r in base if r.urn not in after),
        changed=tuple(changed),
    )


def _changes(old: ResourceRecord, new: ResourceRecord) -> Iterator[Change]:
    if old.protect != new.protect:
        yield Change("(protect)", old.protect, new.protect)
    yield from _walk("", old.inputs, new.inputs)


def _json(value: Any) -> Any:
    """A JSON document held in a string input (policy documents), parsed; else ``_ABSENT``."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            pass
    return _ABSENT


def _walk(path: str, a: Any, b: Any) -> Iterator[Change]:
    if isinstance(a, str) and isinstance(b, str) and a != b:
        da, db = _json(a), _json(b)
        if da is not _ABSENT and db is not _ABSENT:  # show which statement changed, not two blobs
            yield from _walk(path, da, db)
            return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in list(a) + [k for k in b if k not in a]:
            yield from _walk(f"{path}.{key}" if path else str(key), a.get(key, _ABSENT), b.get(key, _ABSENT))
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _walk(f"{path}[{i}]", x, y)
    elif a != b:
        key = path.rsplit(".", 1)[-1].split("[", 1)[0]
        yield Change(path, scrub(None if a is _ABSENT else a, key), scrub(None if b is _ABSENT else b, key))
