"""``deedbox export``: store a new snapshot (live export or --from-zip), verified, manifest last."""

from __future__ import annotations

import sys
from pathlib import Path

from deedbox.commands.output import emit, load_config, progress_bar, sigterm_interrupts


def run(*, config: Path, from_zip: Path | None, reason: str, bucket: str | None, format: str) -> int:
    from deedbox.backend.export import export_snapshot
    from deedbox.bucket.client import BucketClient
    from deedbox.restore.point import capture

    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    warnings = store.protection_warnings()
    for warning in warnings:
        sys.stderr.write(f"deedbox: warning: s3://{store.bucket}: {warning}\n")
    point = capture(cfg, store)
    for part in ("secrets", "media"):
        if f"{part}_unavailable" in point:
            sys.stderr.write(f"deedbox: warning: restore point without {part}: {point[part + '_unavailable']}\n")
    with progress_bar() as progress, sigterm_interrupts():
        manifest = export_snapshot(cfg, store, from_zip=from_zip, reason=reason, progress=progress,
                                   restore_point=point)
    obj, snap = manifest.object, manifest.snapshot
    docs = sum(t["count"] for t in manifest.tables)
    summary = {"bucket": store.bucket, "key": obj.key, "size": obj.size,
               "sha256": obj.sha256, "version_id": obj.version_id,
               "manifest": obj.folder + "manifest.json",
               "tables": len(manifest.tables), "documents": docs,
               "storage_files": snap["storage"]["count"], "reason": manifest.reason,
               "source": manifest.source.kind, "convex_start_ts": manifest.source.start_ts,
               "warnings": warnings, "restore_point": point}
    emit(format, summary, [
        f"stored s3://{store.bucket}/{obj.key} ({obj.size} bytes, sha256 {obj.sha256[:16]}…)",
        f"{len(manifest.tables)} tables, {docs} documents, {snap['storage']['count']} storage files",
        f"verified and wrote {summary['manifest']}",
    ])
    return 0
