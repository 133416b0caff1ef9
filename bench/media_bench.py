"""Benchmark: ``deedbox media sync`` vs ``aws s3 sync`` for many small media objects.

One moto_server process holds a source media bucket with N small objects (default 5,000) in one
class; deedbox copies them server-side into ``media/images/…`` of a locked, versioned, SSE-KMS
backup bucket; ``aws s3 sync`` copies the same prefix into another prefix of the same bucket.
Measured: first copy and a no-op rerun, each tool as a child process (its wall time and peak RSS),
``--repeats`` times into fresh buckets, the order of the tools rotating; medians are reported.
Per object both tools send one ``CopyObject`` (deedbox adds ``CopySourceIfMatch`` pinning and a
SHA-256 checksum request, and writes a sync record at the end); deedbox's rerun costs two
listings plus reading the last record's index. The compared rows put both tools into the same
kind of bucket: a plain one (moto rejects ``aws s3 sync``'s copies into an object-lock bucket,
which carry no integrity header). deedbox into the locked+versioned+SSE-KMS backup bucket (real
use) is measured too and listed without a ratio: no baseline can be run there.

Writes ``bench/out/media.json``. Usage: ``.venv/bin/python bench/media_bench.py [--objects 5000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_bench import ROOT, VENV_BIN, MotoProcess, finish, machine, measured  # noqa: E402

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
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.support.moto_server import make_backup_bucket

    info = machine()
    runs = {name: {"first": [], "rerun": [], "rss": 0} for name in ("deedbox", "deedbox_plain", "aws")}
    with MotoProcess() as moto, tempfile.TemporaryDirectory(prefix="deedbox-media-bench-") as tmp:
        seed(moto, args.objects)
        cfg = sync_config(Path(tmp))
        for i in range(args.repeats):  # fresh destinations each repeat; the order rotates
            locked = make_backup_bucket(moto, f"bench-backups-{i}")
            # moto refuses CopyObject into an object-lock bucket without an integrity header, which
            # aws s3 sync does not send: the baseline copies into a plain bucket of the same server,
            # and deedbox is also run into a plain bucket (the like-for-like row)
            plain = make_backup_bucket(moto, f"bench-plain-{i}", locked=False)
            awscli = make_backup_bucket(moto, f"bench-awscli-{i}", locked=False)
            cmds = {
                "deedbox": [sys.executable, "-m", "deedbox.cli", "media", "sync", "--config", str(cfg),
                            "--bucket", locked, "--format", "json"],
                "deedbox_plain": [sys.executable, "-m", "deedbox.cli", "media", "sync", "--config", str(cfg),
                                  "--bucket", plain, "--format", "json"],
                "aws": [str(VENV_BIN / "aws"), "--endpoint-url", moto.url, "s3", "sync", f"s3://{SOURCE}/uploads/",
                        f"s3://{awscli}/awscli/uploads/", "--only-show-errors"],
            }
            order = list(cmds)[i % 3:] + list(cmds)[: i % 3]
            for phase in ("first", "rerun"):
                for name in order:
                    seconds, rss, _ = measured(cmds[name], moto.env())
                    runs[name][phase].append(round(seconds, 2))
                    runs[name]["rss"] = max(runs[name]["rss"], rss)
            copied = sum(1 for _ in _keys(moto, locked, "media/images/"))
            if copied != args.objects:
                raise RuntimeError(f"deedbox copied {copied} of {args.objects} objects")
    med = {name: {phase: statistics.median(r[phase]) for phase in ("first", "rerun")} for name, r in runs.items()}

    def row(metric: str, name: str, phase: str, *, compared: bool = True) -> dict:
        return {"metric": metric, "deedbox": round(med[name][phase], 2),
                "baseline": round(med["aws"][phase], 2) if compared else None,
                "ratio": round(med[name][phase] / med["aws"][phase], 2) if compared else None}

    result = {
        "name": "media", "machine": info, "objects": args.objects, "repeats": args.repeats,
        "what": "deedbox media sync (server-side copy) vs aws s3 sync, same moto_server, both into a plain "
                "bucket; times in s, medians, rotating order; ratio = deedbox time / aws time (lower is better)",
        "runs_s": {name: {"first": r["first"], "rerun": r["rerun"]} for name, r in runs.items()},
        "peak_rss_mib": {name: r["rss"] for name, r in runs.items()},
        "rows": [
            row(f"media first copy {args.objects} objects, both into a plain bucket (s)", "deedbox_plain", "first"),
            row("media no-op rerun, both into a plain bucket (s)", "deedbox_plain", "rerun"),
            row(f"media first copy {args.objects} objects, deedbox into the locked+versioned+KMS bucket, "
                "no baseline there (s)", "deedbox", "first", compared=False),
            row("media no-op rerun, locked bucket, no baseline there (s)", "deedbox", "rerun", compared=False),
        ],
    }
    return finish(result, "media")


def _keys(moto: MotoProcess, bucket: str, prefix: str):
    pages = moto.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        yield from (o["Key"] for o in page.get("Contents", ()))


if __name__ == "__main__":
    main()
