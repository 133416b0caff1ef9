"""One restore point across the three stores, recorded in the snapshot's manifest at export time.

A snapshot alone restores the backend; a restore (or a drill) also needs the secrets and media as
they were then. At export time deedbox records, beside the data: the vault's version id of every
key (from ``DescribeSecret``: metadata only, no value is read, and no fingerprint or hash of a
value is stored — Secrets Manager versions are immutable, so the id pins the value exactly without
giving anyone a hash to test guesses against) and the newest media record (which media copy
was current). Reading the vault or the records must never cost the backup itself: a part that
cannot be read is recorded as unavailable, with the reason, and the export carries on.
"""

from __future__ import annotations

from typing import Any

from deedbox.bucket.client import BucketClient
from deedbox.bucket.records import newest_record, record_key
from deedbox.bucket.snapshots import format_ts
from deedbox.config.model import Config
from deedbox.errors import DeedboxError
from deedbox.secrets.restore import restore_point as vault_versions
from deedbox.secrets.vault import Vault


def capture(config: Config, store: BucketClient, vault: Vault | None = None) -> dict[str, Any]:
    """The restore point as it stands now (see the module docstring); never raises for a store."""
    point: dict[str, Any] = {"secrets": None, "media": None}
    if config.backups.secrets is not None:
        try:
            point["secrets"] = vault_versions(config, vault or Vault(config))
        except DeedboxError as err:
            point["secrets_unavailable"] = str(err)
    if config.backups.media is not None:
        try:
            found = newest_record(store, "media-sync")
        except DeedboxError as err:
            point["media_unavailable"] = str(err)
        else:
            point["media"] = None if found is None else {
                "record": record_key("media-sync", found[0]), "recorded_at": format_ts(found[0]),
                "mode": found[1].get("mode"), "ok": found[1].get("ok"),
                "classes": sorted((found[1].get("classes") or {}).keys())}
    return point


def secret_versions(point: dict[str, Any] | None) -> dict[str, str]:
    """Pure: key → version id named by a restore point (empty for old manifests or no vault)."""
    rows = (point or {}).get("secrets") or []
    return {r["key"]: r["version_id"] for r in rows
            if isinstance(r, dict) and isinstance(r.get("key"), str) and isinstance(r.get("version_id"), str)}


def describe(snapshot: str | None, point: dict[str, Any] | None) -> list[str]:
    """Pure: the restore point in a few lines: the three stores as of one moment."""
    lines = [f"backend: snapshot {snapshot or 'n/a'}"]
    if point is None:
        return lines + ["secrets: no restore point in this manifest (current vault versions are used)",
                        "media: no restore point in this manifest"]
    rows = point.get("secrets")
    if rows is None:
        lines.append(f"secrets: not recorded ({point.get('secrets_unavailable', 'no backups.secrets')})")
    else:
        pinned = [r for r in rows if isinstance(r, dict) and r.get("version_id")]
        lines.append(f"secrets: {len(pinned)} of {len(rows)} keys pinned to their vault version at export time")
    media = point.get("media")
    if media is None:
        lines.append(f"media: {point.get('media_unavailable', 'no media record at export time')}")
    else:
        state = "ok" if media.get("ok") else "NOT ok"
        lines.append(f"media: newest {media.get('mode')} record {media.get('record')} ({state})")
    return lines
