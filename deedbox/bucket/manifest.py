"""The snapshot manifest: one dataclass, one parser, one serializer.

A manifest is the last object written into a snapshot folder and the only thing that makes the
folder complete (``deedbox.bucket.snapshots``). It names the exact object version it vouches for
(size, SHA-256, S3's checksum) and carries the snapshot's summary (per-table counts and digests,
components, file storage), which ``verify --read-data`` compares against a fresh reading of the
stored bytes (docs/export.md, "What the manifest carries"). Two formats are read, one is written:

- ``format_version`` 2 (written since issue 16): each table's digest is ``"sha256:<hex>"`` of its
  ``documents.jsonl`` exactly as exported, with its ``size``; read with
  ``deedbox.convex.snapshot.summarize``, at the cost of the bytes.
- ``format_version`` 1 (older manifests): each table's digest is the canonical content digest
  (``deedbox.convex.canonical``); verifying one reads the snapshot with ``content_summary``.

Any other format is refused. A parsed manifest keeps its version, so it serializes as it was read.

``restore_point`` (optional, so older manifests stay format 1) names the vault versions and the
media record that were current when the snapshot was taken: ``deedbox.restore.point``.

``snapshot`` stays the summary's JSON document (``SnapshotSummary.to_dict()``): verification
compares it field by field with a fresh summary, and a damaged manifest must still be comparable
enough to say *which* field differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from deedbox.errors import CheckFailed

MANIFEST_FORMAT = "deedbox.snapshot-manifest"
MANIFEST_VERSION = 2  # what export writes
READABLE_VERSIONS = (1, 2)


@dataclass(frozen=True)
class StoredObject:
    """The object version a manifest vouches for, and what S3 said about it when it was stored."""

    key: str
    size: int
    sha256: str
    version_id: str | None
    s3_checksum_sha256: str
    multipart: bool

    @property
    def folder(self) -> str:
        """``backend/<deployment>/<ts>-<reason>/``: the folder of the object."""
        return self.key.rsplit("/", 1)[0] + "/"


@dataclass(frozen=True)
class Origin:
    """Where the snapshot came from: a live export (with Convex's ``start_ts``) or a given ZIP."""

    kind: str  # "live" | "zip"
    convex_url: str
    start_ts: int | None = None


@dataclass(frozen=True)
class Manifest:
    deployment: str
    timestamp: str  # the folder's UTC timestamp, YYYYmmddTHHMMSSZ
    reason: str
    tool_version: str
    written_at: str
    source: Origin
    object: StoredObject
    snapshot: dict[str, Any] = field(default_factory=dict)  # SnapshotSummary.to_dict()
    restore_point: dict[str, Any] | None = None  # deedbox.restore.point.capture(); optional
    tool_name: str = "deedbox"
    format_version: int = MANIFEST_VERSION

    @property
    def byte_digests(self) -> bool:
        """Whether table digests are of the bytes as exported (format 2), not of the content (1)."""
        return self.format_version >= 2

    @property
    def tables(self) -> list[dict[str, Any]]:
        tables = self.snapshot.get("tables")
        return list(tables) if isinstance(tables, list) else []

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "format_version": self.format_version,
            "deployment": self.deployment,
            "timestamp": self.timestamp,
            "reason": self.reason,
            "tool": {"name": self.tool_name, "version": self.tool_version},
            "written_at": self.written_at,
            "source": {"kind": self.source.kind, "convex_url": self.source.convex_url,
                       "start_ts": self.source.start_ts},
            "object": {"key": self.object.key, "size": self.object.size, "sha256": self.object.sha256,
                       "version_id": self.object.version_id,
                       "s3_checksum_sha256": self.object.s3_checksum_sha256,
                       "multipart": self.object.multipart},
            "snapshot": self.snapshot,
            **({"restore_point": self.restore_point} if self.restore_point is not None else {}),
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n").encode()


def parse_manifest(raw: bytes, *, key: str) -> Manifest:
    """The manifest in ``raw`` (the object at ``key``); CheckFailed saying what is wrong with it."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise CheckFailed(f"{key} is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise CheckFailed(f"{key} is not a deedbox snapshot manifest")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise CheckFailed(f"{key}: manifest format version {version!r} is not one of "
                          f"{', '.join(map(str, READABLE_VERSIONS))}; use the deedbox that wrote it")
    obj = doc.get("object")
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str) or not obj["key"]:
        raise CheckFailed(f"{key}: manifest names no object")
    try:
        return Manifest(
            deployment=_text(doc, "deployment"), timestamp=_text(doc, "timestamp"),
            reason=_text(doc, "reason"), tool_version=_text(_map(doc, "tool"), "version"),
            tool_name=_text(_map(doc, "tool"), "name"), written_at=_text(doc, "written_at"),
            source=_origin(_map(doc, "source")), object=_object(obj),
            snapshot=_map(doc, "snapshot"), format_version=version,
            restore_point=doc["restore_point"] if isinstance(doc.get("restore_point"), dict) else None,
        )
    except _Malformed as err:
        raise CheckFailed(f"{key}: manifest field {err} is missing or of the wrong type") from None


class _Malformed(Exception):
    """A field of the manifest is missing or has the wrong type (its name is the message)."""


def _map(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise _Malformed(name)
    return value


def _text(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str):
        raise _Malformed(name)
    return value


def _int(doc: dict[str, Any], name: str) -> int:
    value = doc.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Malformed(name)
    return value


def _origin(doc: dict[str, Any]) -> Origin:
    start = doc.get("start_ts")
    if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
        raise _Malformed("source.start_ts")
    return Origin(kind=_text(doc, "kind"), convex_url=_text(doc, "convex_url"), start_ts=start)


def _object(doc: dict[str, Any]) -> StoredObject:
    version = doc.get("version_id")
    if version is not None and not isinstance(version, str):
        raise _Malformed("object.version_id")
    return StoredObject(key=_text(doc, "key"), size=_int(doc, "size"), sha256=_text(doc, "sha256"),
                        version_id=version, s3_checksum_sha256=_text(doc, "s3_checksum_sha256"),
                        multipart=bool(doc.get("multipart")))
