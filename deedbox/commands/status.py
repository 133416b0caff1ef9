"""``deedbox status``: per data class the newest good backup, its age and RPO. Exit 1 if stale."""

from __future__ import annotations

from pathlib import Path


def run(*, config: Path, bucket: str | None, format: str) -> int:
    from deedbox.bucket.client import BucketClient
    from deedbox.commands.output import emit, load_config
    from deedbox.status import collect, open_uploads

    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    rows = collect(cfg, store)
    uploads = open_uploads(store)
    fresh = all(r.fresh for r in rows)
    lines = [f"{r.data_class:<8} {'fresh' if r.fresh else 'STALE':<6} newest {r.newest or '-':<17} "
             f"age {'-' if r.age_hours is None else f'{r.age_hours:.1f}h'} / limit {r.limit_hours}h  {r.detail}"
             for r in rows]
    if uploads:
        lines.append(f"{len(uploads)} multipart upload(s) open for over an hour (killed exports?): "
                     + ", ".join(u.key for u in uploads[:3]) + (" …" if len(uploads) > 3 else "")
                     + "; the lifecycle rule aborts them after 7 days")
    emit(format, {"bucket": store.bucket, "fresh": fresh, "classes": [r.to_dict() for r in rows],
                  "incomplete_uploads": [vars(u) for u in uploads]}, lines)
    return 0 if fresh else 1
