"""``deedbox media verify``: the media drill, a sample per class restored locally and compared.

Exit 0 every sampled object verified (or live newer / deleted live since); 1 a mismatch or a
corrupt backup object; 2 usage or environment.
"""

from __future__ import annotations

from pathlib import Path


def run(*, config: Path, media_class: str | None, sample: int, bucket: str | None, format: str) -> int:
    from deedbox.bucket.client import BucketClient
    from deedbox.commands.output import emit, load_config
    from deedbox.media.verify import verify_media

    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    record = verify_media(cfg, store, media_class=media_class, sample=sample)
    lines = [f"media verify ({record['mode']} mode), up to {sample} objects per class, restored into a temporary directory:"]
    for c in record["classes"]:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(c["counts"].items())) or "nothing to sample"
        lines.append(f"  {c['class']}: {c['sampled']} of {c['objects']}: {counts}")
        lines += [f"    {verdict.upper()}: {key}" for verdict, keys in c["failing"].items() for key in keys]
    lines.append(("ok" if record["ok"] else "NOT ok") + f"; recorded {record['record_key']}")
    emit(format, record, lines)
    return 0 if record["ok"] else 1
