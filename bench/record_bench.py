"""Benchmark: ``deedbox restore record`` vs downloading the snapshot and ``unzip -p | grep -m1``.

The snapshot's ``posts`` table holds ~10% of its bytes (unique ids, deflated JSONL); the rest is
one incompressible file-storage blob. The document looked up sits in the middle of ``posts``.
deedbox structure-verifies the snapshot (versions, manifest, HeadObject), then reads the ZIP's
central directory, ``_tables``, the table's schema and the table itself through ranged GETs,
checks that table against the manifest and prints the document. The baseline is what a user
would do by hand: ``aws s3 cp`` of the whole snapshot to a local file, then ``unzip -p snap.zip
posts/documents.jsonl | grep -m1 <id>``. Whole processes, alternating, medians of ``--repeats``.
Also measured: the download alone (the issue's "time of downloading the whole snapshot").

moto serves a ranged GET by reading the whole object and slicing it, so each ranged request costs
as much server time as the object is big (S3 reads only the range), and its ListObjectVersions
deep-copies every object of the bucket, bodies included: on moto, deedbox's verify step and its
two ranged GETs (the directory; ``_tables``, the table and its schema) are priced near three full
reads of the snapshot, which makes this a pessimistic measure. ``moto_costs_s`` records what those
two requests cost on moto alone, so the README can say how much of deedbox's time is moto's.

Writes ``bench/out/record.json``. Usage: ``.venv/bin/python bench/record_bench.py [--mib 256] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_bench import OUT, ROOT, VENV_BIN, MotoProcess, alternating, deedbox_cmd, finish, machine  # noqa: E402
from verify_bench import stored  # noqa: E402

BUILD = """
import os, sys
from tests.support.snapshots import StoredFile, build_snapshot, community_tables, make_id
path, mib = sys.argv[1], int(sys.argv[2])
posts = [t for t in community_tables(int(mib * 0.1 * 2 ** 20 / 113 * 15.5 / 3), seed=21) if t.name == "posts"]
ids = [d["_id"] for d in posts[0].docs]
blob = StoredFile(make_id(8, b"\\x05" * 16), os.urandom(int(mib * 0.9 * 2 ** 20)), "video/mp4")
build_snapshot(path, posts, files=[blob])
print(ids[len(ids) // 2])
"""


def build(mib: int) -> tuple[Path, str]:
    path = OUT / f"snapshot-record-{mib}.zip"
    id_file = path.with_suffix(".id")
    if not path.exists() or not id_file.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        doc_id = subprocess.run([sys.executable, "-c", BUILD, str(tmp), str(mib)], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
        tmp.rename(path)
        id_file.write_text(doc_id)
    return path, id_file.read_text().strip()


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from tests.support.moto_server import make_backup_bucket

    info = machine()
    path, doc_id = build(args.mib)
    import zipfile
    with zipfile.ZipFile(path) as zf:
        share = zf.getinfo("posts/documents.jsonl").compress_size / path.stat().st_size
    with MotoProcess() as moto, tempfile.TemporaryDirectory(prefix="deedbox-record-bench-") as tmp:
        bucket = make_backup_bucket(moto, "bench-record")
        key = stored(moto, bucket, path) + "/snapshot.zip"
        aws = f"'{VENV_BIN / 'aws'}' --endpoint-url {moto.url} s3 cp 's3://{bucket}/{key}' '{tmp}/snap.zip' --only-show-errors"
        tools = {
            "deedbox": deedbox_cmd("restore", "record", "--config", str(ROOT / "backup.yaml"), "--bucket", bucket,
                                   "--table", "posts", "--id", doc_id, "--snapshot", "latest"),
            "aws_unzip_grep": ["sh", "-c", f"{aws} && unzip -p '{tmp}/snap.zip' posts/documents.jsonl | grep -m1 {doc_id}"
                                           f" > /dev/null; rm -f '{tmp}/snap.zip'"],
            "aws_download": ["sh", "-c", f"{aws}; rm -f '{tmp}/snap.zip'"],
        }
        runs = alternating(args.repeats, tools, moto.env())
        moto_costs = _moto_costs(moto, bucket, key, args.repeats)
    d, base, dl = (runs[n]["median_s"] for n in ("deedbox", "aws_unzip_grep", "aws_download"))
    return finish({
        "name": "record", "machine": info, "size_mib": round(path.stat().st_size / 2 ** 20, 1),
        "table_share_of_bytes": round(share, 3), "repeats": args.repeats,
        "runs_s": {n: r["s"] for n, r in runs.items()}, "peak_rss_mib": {n: r["rss_mib"] for n, r in runs.items()},
        "moto_costs_s": moto_costs,
        "what": "deedbox restore record (ranged GETs) vs aws s3 cp + unzip -p | grep -m1, same moto_server; "
                "times in s, medians, alternating; ratio = deedbox time / baseline time",
        "rows": [
            {"metric": f"restore record, {path.stat().st_size / 2 ** 20:.0f} MiB snapshot, table {share:.0%} (s)",
             "deedbox": d, "baseline": base, "ratio": round(d / base, 2)},
            {"metric": "restore record vs the whole download alone (s)", "deedbox": d, "baseline": dl,
             "ratio": round(d / dl, 2)},
            {"metric": "restore record peak RSS (MiB)", "deedbox": runs["deedbox"]["rss_mib"],
             "baseline": runs["aws_unzip_grep"]["rss_mib"], "ratio": None},
        ],
    }, "record")


def _moto_costs(moto: MotoProcess, bucket: str, key: str, repeats: int) -> dict:
    """What two of restore record's requests cost on moto alone (medians): ``ListObjectVersions``
    of the snapshot's folder (the verify step's tampering check; moto deep-copies every object of
    the bucket, bodies included, per call: moto/s3/models.py ``list_object_versions``,
    ``copy.deepcopy(version_key)``) and a 1-byte ranged GET (moto reads the whole object and
    slices it: moto/s3/responses.py ``_handle_range_header``). On S3 both are metadata-sized."""
    import statistics
    import time

    s3 = moto.client("s3")
    folder = key.rsplit("/", 1)[0] + "/"

    def timed(call) -> float:
        start = time.monotonic()
        call()
        return time.monotonic() - start

    lists = [timed(lambda: s3.list_object_versions(Bucket=bucket, Prefix=folder)) for _ in range(repeats)]
    gets = [timed(lambda: s3.get_object(Bucket=bucket, Key=f"{folder}snapshot.zip", Range="bytes=0-0")["Body"].read())
            for _ in range(repeats)]
    return {"list_object_versions": round(statistics.median(lists), 3), "ranged_get": round(statistics.median(gets), 3)}


if __name__ == "__main__":
    main()
