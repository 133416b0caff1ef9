"""Benchmark: ``deedbox media sync`` vs ``aws s3 sync`` for many small media objects.

One moto_server process holds a source media bucket with N small objects (default 5,000) in one
class; deedbox copies them server-side into ``media/images/…`` of a locked, versioned, SSE-KMS
backup bucket; ``aws s3 sync`` copies the same prefix into another prefix of the same bucket.
Measured: first copy and a no-op rerun, each tool as a child process (its wall time and peak RSS).
deedbox does a little more per object than ``aws s3 sync`` on the first copy (a HeadObject to keep
the content type and user metadata, ``CopySourceIfMatch`` pinning, a sync record at the end);
``aws s3 sync`` writes to an unlocked bucket (moto rejects its copies into an object-lock bucket);
its rerun costs two listings plus reading the last record's index.

Writes ``bench/out/media.json``. Usage: ``.venv/bin/python bench/media_bench.py [--objects 5000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_bench import OUT, ROOT, VENV_BIN, MotoProcess, measured  # noqa: E402

SOURCE = "guild-media-prod"


def seed(moto: MotoProcess, n: int) -> None:
    s3 = moto.client("s3", "us-east-1")
    s3.create_bucket(Bucket=SOURCE)

    def put(i: int) -> None:
        s3.put_object(Bucket=SOURCE, Key=f"uploads/{i // 100:03d}/img-{i:05d}.png",
                      Body=(f"png {i} ".encode() * 40)[: 200 + i % 800], ContentType="image/png")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(n)))


def sync_config(tmp: Path) -> Path:
    """backup.yaml with media in sync mode and only the images class."""
    text = (ROOT / "backup.yaml").read_text()
    text = text.replace("    mode: replicate\n", "    mode: sync\n    schedule: rate(1 hour)\n    classes: [images]\n")
    path = tmp / "backup.yaml"
    path.write_text(text)
    return path


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=5000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.support.moto_server import make_backup_bucket

    with MotoProcess() as moto, tempfile.TemporaryDirectory(prefix="deedbox-media-bench-") as tmp:
        bucket = make_backup_bucket(moto, "bench-backups")
        # moto refuses CopyObject into an object-lock bucket without an integrity header, which
        # aws s3 sync does not send: the baseline copies into a plain bucket of the same server
        plain = make_backup_bucket(moto, "bench-awscli", locked=False)
        seed(moto, args.objects)
        cfg = sync_config(Path(tmp))
        deedbox = [sys.executable, "-m", "deedbox.cli", "media", "sync", "--config", str(cfg),
                   "--bucket", bucket, "--format", "json"]
        aws = [str(VENV_BIN / "aws"), "--endpoint-url", moto.url, "s3", "sync", f"s3://{SOURCE}/uploads/",
               f"s3://{plain}/awscli/uploads/", "--only-show-errors"]
        d_first = measured(deedbox, moto.env())
        a_first = measured(aws, moto.env())
        d_again = measured(deedbox, moto.env())
        a_again = measured(aws, moto.env())
        copied = sum(1 for _ in _keys(moto, bucket, "media/images/"))
    result = {
        "name": "media", "objects": args.objects, "deedbox_objects_in_destination": copied,
        "what": "deedbox media sync (server-side copy) vs aws s3 sync, same moto_server",
        "first_copy_s": {"deedbox": round(d_first[0], 2), "aws": round(a_first[0], 2)},
        "noop_rerun_s": {"deedbox": round(d_again[0], 2), "aws": round(a_again[0], 2)},
        "peak_rss_mib": {"deedbox": max(d_first[1], d_again[1]), "aws": max(a_first[1], a_again[1])},
        "rows": [
            {"metric": f"media first copy {args.objects} objects (s)", "deedbox": round(d_first[0], 2),
             "baseline": round(a_first[0], 2), "ratio": round(d_first[0] / a_first[0], 2)},
            {"metric": "media no-op rerun (s)", "deedbox": round(d_again[0], 2),
             "baseline": round(a_again[0], 2), "ratio": round(d_again[0] / a_again[0], 2)},
        ],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "media.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def _keys(moto: MotoProcess, bucket: str, prefix: str):
    pages = moto.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        yield from (o["Key"] for o in page.get("Contents", ()))


if __name__ == "__main__":
    main()
