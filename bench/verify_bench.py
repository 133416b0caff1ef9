"""Benchmark: ``deedbox verify --read-data`` vs ``aws s3 cp s3://…/snapshot.zip - | sha256sum``.

The same stored object (deedbox exports the snapshot once, then both read that object back from
the same moto server). ``aws s3 cp - | sha256sum`` is what a user would do to check a stored
object by hand: it proves the bytes hash to something. ``verify --read-data`` also checks every
key of the folder was written once, reads the manifest's first version, compares size and S3's
checksum, hashes the bytes against the manifest's SHA-256, and re-reads the ZIP (every entry
inflated, every CRC and table digest checked: bench/export_bench.py's summary). Whole processes,
alternating order, medians of ``--repeats`` (default 5), peak RSS from wait4.

Writes ``bench/out/verify.json``. Usage:
``.venv/bin/python bench/verify_bench.py [--documents-mib 256] [--storage-mib 256] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_bench import (  # noqa: E402
    ROOT,
    SHAPES,
    VENV_BIN,
    MotoProcess,
    alternating,
    deedbox_cmd,
    finish,
    machine,
    snapshot,
)


def stored(moto: MotoProcess, bucket: str, path: Path) -> str:
    """Export ``path`` once; the snapshot folder's prefix (``backend/<deployment>/<ts>-manual``)."""
    out = subprocess.run(deedbox_cmd("export", "--config", str(ROOT / "backup.yaml"), "--bucket", bucket,
                                     "--from-zip", str(path), "--reason", "manual", "--format", "json"),
                         env=moto.env(), check=True, capture_output=True, text=True).stdout
    return str(json.loads(out)["key"]).rsplit("/", 1)[0]


def bench(moto: MotoProcess, bucket: str, shape: str, size_mib: int, repeats: int) -> dict:
    path = snapshot(size_mib, shape)
    prefix = stored(moto, bucket, path)
    key = f"{prefix}/snapshot.zip"
    tools = {
        "deedbox": deedbox_cmd("verify", "--config", str(ROOT / "backup.yaml"), "--bucket", bucket,
                               "--snapshot", prefix, "--read-data", "--format", "json"),
        "aws": ["sh", "-c", f"'{VENV_BIN / 'aws'}' --endpoint-url {moto.url} s3 cp 's3://{bucket}/{key}' - "
                            "| sha256sum"],
    }
    runs = alternating(repeats, tools, moto.env())
    return {"shape": shape, "snapshot": SHAPES[shape], "size_mib": round(path.stat().st_size / 2 ** 20, 1),
            "repeats": repeats, "deedbox_s": runs["deedbox"]["s"], "aws_cp_sha256sum_s": runs["aws"]["s"],
            "deedbox_median_s": runs["deedbox"]["median_s"], "aws_median_s": runs["aws"]["median_s"],
            "time_ratio": round(runs["deedbox"]["median_s"] / runs["aws"]["median_s"], 2),
            "deedbox_peak_rss_mib": runs["deedbox"]["rss_mib"]}


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents-mib", type=int, nargs="*", default=[256])
    parser.add_argument("--storage-mib", type=int, nargs="*", default=[256])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from tests.support.moto_server import make_backup_bucket

    info = machine()
    with MotoProcess() as moto:
        bucket = make_backup_bucket(moto, "bench-verify")
        runs = [bench(moto, bucket, shape, s, args.repeats)
                for shape, sizes in (("documents", args.documents_mib), ("storage", args.storage_mib)) for s in sizes]
    return finish({
        "name": "verify", "machine": info, "runs": runs,
        "what": "deedbox verify --read-data vs aws s3 cp - | sha256sum of the same stored object, same moto_server; "
                "times in s, medians, alternating; ratio = deedbox time / baseline time (lower is better)",
        "rows": [{"metric": f"verify --read-data {r['size_mib']:.0f} MiB {r['shape']} (s)",
                  "deedbox": r["deedbox_median_s"], "baseline": r["aws_median_s"], "ratio": r["time_ratio"]}
                 for r in runs]
        + [{"metric": f"verify peak RSS {r['size_mib']:.0f} MiB {r['shape']} (MiB)",
            "deedbox": r["deedbox_peak_rss_mib"], "baseline": None, "ratio": None} for r in runs],
    }, "verify")


if __name__ == "__main__":
    main()
