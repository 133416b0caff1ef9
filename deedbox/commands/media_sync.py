"""``deedbox media sync``: copy media classes (sync mode) or report replication (replicate mode)."""

from __future__ import annotations

from pathlib import Path


def run(*, config: Path, backfill: bool, bucket: str | None, format: str) -> int:
    from deedbox.bucket.client import BucketClient
    from deedbox.commands.output import emit, load_config
    from deedbox.media.sync import sync_media

    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    record = sync_media(cfg, store, backfill=backfill)
    doc = {k: v for k, v in record.items() if k != "index"}
    how = record["method"] if record["mode"] == "sync" or backfill else "replication check"
    lines = [f"media {record['mode']} ({how}) → s3://{store.bucket}"]
    for name, c in record["classes"].items():
        parts = [f"{k} {v}" for k, v in c.items() if not isinstance(v, dict)]
        lines.append(f"  {name}: " + ", ".join(parts))
        if c.get("replication_status_sample"):
            lines.append(f"    replication status (newest {sum(c['replication_status_sample'].values())}): "
                         + ", ".join(f"{k} {v}" for k, v in c["replication_status_sample"].items()))
    lines += [f"  error: {e}" for e in record["errors"]]
    lines.append(("ok" if record["ok"] else "NOT ok") + f"; recorded {record['record_key']}")
    emit(format, doc, lines)
    return 0 if record["ok"] else 1
