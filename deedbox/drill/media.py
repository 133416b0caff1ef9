"""The drill's media step: the restored documents point at media the backup really holds.

For each ``drills.media.references`` entry (table, dotted field, media class) the round-trip
ZIP's root-component ``<table>/documents.jsonl`` is streamed once per table; every value at the
field is turned into object keys (a string is a key, a list gives one key per element, a URL
``http(s)://…`` or ``s3://…`` gives its percent-decoded path without the leading ``/``; ``None``,
``""`` and a missing field are "no reference"; anything else is *unusable* and fails the entry,
since it means the field is not what the config says). Lists anywhere on the path fan out
(``attachments.key`` over a list of objects). A seeded reservoir (``random.Random`` of the drill
id, the table and the field) keeps at most ``sample`` keys, spread uniformly over the table, so
memory stays flat and a rerun of the same drill samples the same keys.

Where the backup copy of a source key lives (one HEAD each, no GET):

- ``sync``: ``media/<class>/<source key>`` in the backup bucket (``deedbox.media.plan.dest_key``;
  ``media sync`` copies there).
- ``replicate``: the source key itself, in the backup bucket too: the source program's S3
  replication targets the store bucket (``topology/backup.py``, ``destination_bucket=
  plan.store_bucket``) and cannot rewrite prefixes (``topology.names.media_destination_prefix``).
  The topology's *replica* bucket is the cross-region copy of the whole store, not a media copy.

"Matches its recorded ETag" (sync mode only): every sync run writes ``records/media-sync/<ts>.json``
whose ``index`` maps each destination key to ``[source ETag, destination ETag]``, the destination
ETag being what S3 answered when the object was copied (or confirmed by HEAD) and carried forward
by every later run. The check compares the *current* version's ETag (HEAD) with that destination
ETag from the newest sync-mode record: equal means the object is the one the sync wrote and
nothing has rewritten it since. (An S3 ETag is not a content hash under SSE-KMS, so even an
identical rewrite shows as a mismatch; a rewrite of a write-once object is worth a look anyway.)
A present copy with no index entry is *unrecorded*: no sync vouches for it, so it fails too.
Replicate mode checks existence only: S3 replication records no ETags deedbox could compare.

A key outside its class's prefix fails as "not in class X's prefix": neither sync nor the
replication rules copy it. The ``_storage`` check compares the manifest's ``storage.count`` with
the round trip's (its ``SnapshotSummary``; summarised here when the caller has none).
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from deedbox.bucket.client import BucketClient
from deedbox.bucket.records import newest_record
from deedbox.config.model import Config, MediaReference
from deedbox.convex import zipio
from deedbox.convex.snapshot import summarize
from deedbox.errors import ObjectMissing, SnapshotError
from deedbox.media.plan import dest_key

SHOWN = 10  # keys listed per finding in the report
WORKERS = 16  # HEADs in flight
_URL = re.compile(r"^(?:https?|s3)://", re.IGNORECASE)
_BROKEN = object()  # the path runs into a value that is neither an object, a list nor null

FOUND, MISSING, MISMATCHED, UNRECORDED, OUTSIDE = "found", "missing", "mismatched", "unrecorded", "outside"


# --------------------------------------------------------------------------- results
@dataclass
class ReferenceResult:
    """One ``drills.media.references`` entry. ``references`` counts keys seen (a list value gives
    several), ``sampled`` the distinct keys checked, ``found`` those with a current backup copy."""

    table: str
    field: str
    media_class: str
    documents: int
    references: int
    sampled: int
    found: int
    missing: list[str]  # up to SHOWN keys (``missing_count`` says how many)
    mismatched: list[str]  # sync mode: ETag differs from the recorded one (up to SHOWN)
    problem: str | None = None  # e.g. the table is missing
    outside_prefix: list[str] = dataclasses.field(default_factory=list)  # not under the class's prefix (up to SHOWN)
    unrecorded: list[str] = dataclasses.field(default_factory=list)  # sync mode: present, no recorded ETag (up to SHOWN)
    prefix: str = ""
    without_reference: int = 0  # documents with no key at the field
    unusable: int = 0  # values that are neither a key, a list of keys, a URL nor null
    missing_count: int = 0
    mismatched_count: int = 0
    outside_count: int = 0
    unrecorded_count: int = 0

    @property
    def ok(self) -> bool:
        return (self.problem is None and not self.unusable and self.found == self.sampled
                and not self.mismatched_count and not self.unrecorded_count)

    def findings(self) -> list[str]:
        """What is wrong, one phrase each (empty when ok)."""
        if self.problem is not None:
            return [self.problem]
        out = []
        for count, keys, what in (
                (self.missing_count, self.missing, "not in the backup"),
                (self.outside_count, self.outside_prefix, f"not in class {self.media_class}'s prefix "
                                                          f"({self.prefix})"),
                (self.mismatched_count, self.mismatched, "ETag differs from the one recorded when copied"),
                (self.unrecorded_count, self.unrecorded, "in the backup but in no media-sync record")):
            if count:
                out.append(f"{count} of {self.sampled} sampled {what}: {_listed(keys, count)}")
        if self.unusable:
            out.append(f"values neither an object key, a list of keys nor a URL: {self.unusable}")
        return out


@dataclass
class MediaOutcome:
    references: list[ReferenceResult]
    storage_expected: int | None
    storage_restored: int | None
    mode: str | None = None  # backups.media.mode

    @property
    def storage_ok(self) -> bool:
        return self.storage_expected is not None and self.storage_expected == self.storage_restored

    @property
    def ok(self) -> bool:
        return self.storage_ok and all(r.ok for r in self.references)

    def summary(self) -> str:
        """One line for the drill step's detail."""
        problems = [f"{r.table}.{r.field}: {'; '.join(r.findings())}" for r in self.references if not r.ok]
        if not self.storage_ok:
            expected = "records none" if self.storage_expected is None else f"has {self.storage_expected}"
            problems.append(f"_storage: {self.storage_restored} files restored, the manifest {expected}")
        if problems:
            return "; ".join(problems)
        sampled = sum(r.sampled for r in self.references)
        what = " (ETags as recorded)" if self.mode == "sync" else ""
        media = (f"{sampled} sampled media objects in the backup{what}" if self.references
                 else "no media references configured")
        return f"{media}; _storage: {self.storage_restored} files as in the manifest"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "mode": self.mode,
                "references": [{**asdict(r), "ok": r.ok} for r in self.references],
                "storage": {"expected": self.storage_expected, "restored": self.storage_restored,
                            "ok": self.storage_ok}}


def _listed(keys: list[str], count: int) -> str:
    return ", ".join(keys) + (f" (+{count - len(keys)} more)" if count > len(keys) else "")


# --------------------------------------------------------------------------- pure parts
def field_values(document: Mapping[str, Any], path: str) -> Iterator[Any]:
    """The values at dotted ``path``, fanning out over lists anywhere on it; nothing for a
    missing field or null on the way; ``_BROKEN`` where a scalar stands in for an object."""
    parts = path.split(".")
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, list):
            stack += [(v, depth) for v in reversed(value)]
        elif depth == len(parts):
            yield value
        elif isinstance(value, dict):
            if parts[depth] in value:
                stack.append((value[parts[depth]], depth + 1))
        elif value is not None:
            yield _BROKEN


def key_of(value: Any) -> str | None:
    """The object key a value names, or None when it names none (a URL's decoded path)."""
    if not isinstance(value, str):
        return None
    if _URL.match(value):
        value = unquote(urlsplit(value).path).removeprefix("/")
    return value or None


def document_keys(document: Mapping[str, Any], path: str) -> tuple[list[str], int]:
    """``(keys, unusable values)`` of one document at ``path``; null and ``""`` are skipped."""
    keys: list[str] = []
    unusable = 0
    for value in field_values(document, path):
        if value is None or value == "":
            continue
        key = key_of(value)
        if key is None:
            unusable += 1
        else:
            keys.append(key)
    return keys, unusable


class Reservoir:
    """A uniform sample of at most ``size`` items of a stream (Algorithm R), seeded."""

    def __init__(self, size: int, seed: str) -> None:
        self.size, self.seen = size, 0
        self.items: list[str] = []
        self._rng = random.Random(seed)

    def add(self, item: str) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
            return
        slot = self._rng.randrange(self.seen)
        if slot < self.size:
            self.items[slot] = item


def verdict(key: str, *, prefix: str, mode: str, stored_etag: str | None, recorded_etag: str | None) -> str:
    """One sampled key: ``outside`` its class's prefix, ``missing`` (no current copy), or present
    and then, in sync mode, ``mismatched`` / ``unrecorded`` against the record; else ``found``."""
    if not key.startswith(prefix):
        return OUTSIDE
    if stored_etag is None:
        return MISSING
    if mode != "sync":
        return FOUND
    if recorded_etag is None:
        return UNRECORDED
    return FOUND if stored_etag == recorded_etag else MISMATCHED


def storage_count(summary: Mapping[str, Any]) -> int | None:
    """``storage.count`` of a snapshot summary (``SnapshotSummary.to_dict()``), None if absent."""
    storage = summary.get("storage")
    count = storage.get("count") if isinstance(storage, Mapping) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


@dataclass
class _Scan:
    """One reference entry while its table streams past."""

    ref: MediaReference
    prefix: str
    reservoir: Reservoir
    documents: int = 0
    without_reference: int = 0
    unusable: int = 0

    def add(self, document: Mapping[str, Any]) -> None:
        keys, unusable = document_keys(document, self.ref.field)
        self.documents += 1
        self.unusable += unusable
        self.without_reference += not keys
        for key in keys:
            self.reservoir.add(key)


def tally(scan: _Scan, verdicts: Mapping[str, str]) -> ReferenceResult:
    """The entry's result from its scan and each sampled key's verdict. A key sampled twice (two
    documents pointing at one object) is one object: ``sampled`` and the counts are distinct keys."""
    by: dict[str, list[str]] = {FOUND: [], MISSING: [], MISMATCHED: [], UNRECORDED: [], OUTSIDE: []}
    for key in sorted(set(scan.reservoir.items)):
        by[verdicts[key]].append(key)
    ref = scan.ref
    present = len(by[FOUND]) + len(by[MISMATCHED]) + len(by[UNRECORDED])
    return ReferenceResult(
        ref.table, ref.field, ref.media_class, scan.documents, scan.reservoir.seen,
        len(set(scan.reservoir.items)), present, by[MISSING][:SHOWN], by[MISMATCHED][:SHOWN],
        outside_prefix=by[OUTSIDE][:SHOWN], unrecorded=by[UNRECORDED][:SHOWN], prefix=scan.prefix,
        without_reference=scan.without_reference, unusable=scan.unusable, missing_count=len(by[MISSING]),
        mismatched_count=len(by[MISMATCHED]), outside_count=len(by[OUTSIDE]),
        unrecorded_count=len(by[UNRECORDED]))


def _failed(ref: MediaReference, problem: str, prefix: str = "") -> ReferenceResult:
    return ReferenceResult(ref.table, ref.field, ref.media_class, 0, 0, 0, 0, [], [], problem, prefix=prefix)


# --------------------------------------------------------------------------- I/O
def check_media(config: Config, store: BucketClient, roundtrip_zip: Path, manifest_snapshot: Mapping[str, Any],
                *, seed: str, roundtrip_snapshot: Mapping[str, Any] | None = None) -> MediaOutcome:
    """Sample the media references of the restored data and HEAD their backup copies.

    Parameters: ``store`` is the backup bucket (both modes keep media there); ``roundtrip_zip``
    the drill deployment's export; ``manifest_snapshot`` the manifest's ``snapshot`` section;
    ``seed`` the drill id; ``roundtrip_snapshot`` the round trip's summary when the caller has
    it (else the ZIP is summarised here, for its ``_storage`` count).
    Returns the outcome; raises SnapshotError for an unreadable ZIP, StorageError when S3 fails.
    """
    restored = roundtrip_snapshot if roundtrip_snapshot is not None else summarize(roundtrip_zip).to_dict()
    mode = config.backups.media.mode if config.backups.media is not None else None
    media = config.drills.media if config.drills else None
    results = _check_references(config, store, roundtrip_zip, media.references, media.sample, seed, mode) \
        if media else []
    return MediaOutcome(results, storage_count(manifest_snapshot), storage_count(restored), mode)


def _check_references(config: Config, store: BucketClient, roundtrip_zip: Path,
                      refs: Iterable[MediaReference], size: int, seed: str,
                      mode: str | None) -> list[ReferenceResult]:
    prefixes = {c.name: c.prefix for c in config.media_classes()}
    results: dict[int, ReferenceResult] = {}
    scans: dict[int, _Scan] = {}
    for i, ref in enumerate(refs):
        if mode is None or ref.media_class not in prefixes:
            results[i] = _failed(ref, f"media class {ref.media_class} is not backed up (backups.media)")
        else:
            scans[i] = _Scan(ref, prefixes[ref.media_class], Reservoir(size, f"{seed}|{ref.table}|{ref.field}"))
    absent = _scan_tables(roundtrip_zip, list(scans.values()))
    for i, scan in list(scans.items()):
        if scan.ref.table in absent:
            results[i] = _failed(scan.ref, f"table {scan.ref.table} is not in the restored data", scan.prefix)
            del scans[i]
    if scans:
        assert mode is not None
        verdicts = _verdicts(store, mode, list(scans.values()))
        results.update({i: tally(scan, v) for (i, scan), v in zip(scans.items(), verdicts, strict=True)})
    return [results[i] for i in sorted(results)]


def _scan_tables(path: Path, scans: list[_Scan]) -> set[str]:
    """Stream each wanted table of the root component once into its scans; returns absent tables."""
    tables = {s.ref.table for s in scans}
    with zipio.open_zip(path) as zf:
        root = zipio.index(zf).get("", zipio.Component(""))
        reader = zipio.Reader(zf)
        for table in sorted(tables & set(root.documents)):
            entry = root.documents[table]
            mine = [s for s in scans if s.ref.table == table]
            for line_no, _, doc in reader.json_lines(entry):
                if not isinstance(doc, dict):
                    raise SnapshotError(f"{entry} line {line_no}: a document must be a JSON object")
                for scan in mine:
                    scan.add(doc)
    return tables - set(root.documents)


def _verdicts(store: BucketClient, mode: str, scans: list[_Scan]) -> list[dict[str, str]]:
    """Per scan, each sampled key's verdict (the HEADs of all scans run together)."""
    wanted = {dest_key(mode, s.ref.media_class, k) for s in scans for k in s.reservoir.items
              if k.startswith(s.prefix)}
    stored = _stored_etags(store, sorted(wanted))
    recorded = _recorded_etags(store) if mode == "sync" else {}
    out = []
    for s in scans:
        keys = {k: dest_key(mode, s.ref.media_class, k) for k in s.reservoir.items}
        out.append({k: verdict(k, prefix=s.prefix, mode=mode, stored_etag=stored.get(d),
                               recorded_etag=recorded.get(d)) for k, d in keys.items()})
    return out


def _stored_etags(store: BucketClient, keys: list[str]) -> dict[str, str | None]:
    """HEAD each key (the current version): its ETag, or None when it is not there."""
    def head(key: str) -> str | None:
        try:
            return store.head(key).etag
        except ObjectMissing:
            return None

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(zip(keys, pool.map(head, keys), strict=True))


def _recorded_etags(store: BucketClient) -> dict[str, str]:
    """Destination key -> destination ETag, from the newest sync-mode media-sync record's index."""
    newest = newest_record(store, "media-sync", where=lambda d: d.get("mode") == "sync")
    index = newest[1].get("index") if newest else None
    if not isinstance(index, dict):
        return {}
    return {k: v[1] for k, v in index.items()
            if isinstance(v, list) and len(v) == 2 and isinstance(v[1], str)}
