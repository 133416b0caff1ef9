"""``deedbox verify``: check a stored snapshot against its manifest; exit 1 naming what differs."""

from __future__ import annotations

from pathlib import Path


def run(*, config: Path, snapshot: str, read_data: bool, bucket: str | None, format: str) -> int:
    from deedbox.backend.verify import verify_snapshot
    from deedbox.bucket.client import BucketClient
    from deedbox.bucket.snapshots import list_snapshots, resolve_snapshot
    from deedbox.commands.output import emit, load_config

    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    ref = resolve_snapshot(store, cfg, snapshot)
    result = verify_snapshot(store, ref, read_data=read_data)
    mode = "read-data" if read_data else "structure"
    incomplete = [r.prefix for r in list_snapshots(store, cfg.source.convex.deployment)
                  if not r.complete and r.timestamp > ref.timestamp]
    doc = {"snapshot": ref.prefix, "bucket": store.bucket, "mode": mode,
           "ok": result.ok, "problems": result.problems, "newer_incomplete": incomplete}
    lines = [f"{'ok' if result.ok else 'FAILED'}: {ref.prefix} ({mode})"]
    lines += [f"  {p}" for p in result.problems]
    lines += [f"  note: newer incomplete snapshot (no manifest, ignored): {p}" for p in incomplete]
    emit(format, doc, lines)
    return 0 if result.ok else 1
