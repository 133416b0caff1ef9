"""Benchmark: ``deedbox export --from-zip`` vs ``aws s3 cp`` of the same snapshot file.

Both run as child processes against one local moto server (a separate ``moto_server`` process,
so its memory is not the benchmark's). deedbox does more than copy (it reads the whole ZIP once
to summarize it, concurrently with hashing and uploading it, reads back the stored checksum,
writes a manifest), so the ratio is end-to-end work vs a plain copy. Peak RSS comes from
``wait4`` on the child. Two sizes show that deedbox's memory does not grow with the snapshot.

Two snapshot shapes (``SHAPES``): ``documents`` (document tables only: what most Convex exports
are; the summary must parse and digest every document, so it is CPU-bound) and ``storage`` (one
big incompressible file: the summary is only inflate + sha256). The output names the shape.

Writes ``bench/out/export.json``. Usage:
``.venv/bin/python bench/export_bench.py [--storage-mib 256 1024] [--documents-mib 256] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


class MotoProcess:
    """``moto_server`` in its own process on a free port."""

    def __enter__(self) -> MotoProcess:
        import requests

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                requests.get(self.url + "/moto-api/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("moto_server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DEEDBOX_"))}
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1",
                   AWS_ENDPOINT_URL=self.url)
        return env

    def client(self, service: str, region: str = "eu-west-1"):
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(seconds, the child's own peak RSS in MiB, stderr): ``wait4`` on the child's pid."""
    with tempfile.TemporaryFile() as errf:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errf)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {err[-500:]}")
    return seconds, usage.ru_maxrss // 1024, err


SHAPES = {
    "documents": "document tables only, as a Convex export without file storage: 7 community-shaped "
                 "tables (users, posts, comments... ids, Int64, floats, bytes, nested objects), "
                 "JSONL deflated (level 6), a ~200k-document sample repeated to size",
    "storage": "one large incompressible _storage file (a video) plus a one-document table: "
               "the upper bound, where the summary is only inflate + sha256",
}


def build_documents_snapshot(path: Path, size_mib: int) -> None:
    """~``size_mib`` MiB of ZIP holding only document tables (the common Convex export)."""
    from tests.support.snapshots import build_snapshot as build_sample
    from tests.support.snapshots import community_tables

    sample = path.with_suffix(".sample.zip")
    build_sample(str(sample), community_tables(200_000))
    with zipfile.ZipFile(sample) as src:
        repeat = max(1, round(size_mib * 2 ** 20 / sample.stat().st_size))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for info in src.infolist():
                data = src.read(info)
                if not info.filename.endswith("/documents.jsonl") or info.filename.startswith("_"):
                    zf.writestr(info.filename, data)
                    continue
                with zf.open(info.filename, "w", force_zip64=True) as fp:
                    for _ in range(repeat):  # duplicates are legal: they are counted and digested
                        fp.write(data)
    sample.unlink()


def build_snapshot(path: Path, size_mib: int, shape: str = "storage") -> None:
    """A real-format snapshot of ~``size_mib`` MiB, shaped as ``SHAPES[shape]`` says."""
    if shape == "documents":
        return build_documents_snapshot(path, size_mib)
    build_storage_snapshot(path, size_mib)


def build_storage_snapshot(path: Path, size_mib: int) -> None:
    """A real-format snapshot: a users table plus one ``size_mib`` MiB file in ``_storage``."""
    from deedbox.convex.writer import README
    from tests.support.snapshots import make_id

    sid = make_id(9, b"\x01" * 16)
    sha, chunk = hashlib.sha256(), os.urandom(4 * 1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("README.md", README)
        zf.writestr("_tables/documents.jsonl", json.dumps({"name": "users", "id": 10001}) + "\n")
        uid = make_id(10001, b"\x02" * 16)
        zf.writestr("users/documents.jsonl", json.dumps({"_id": uid, "_creationTime": 1.7e12, "name": "a"}) + "\n")
        zf.writestr("users/generated_schema.jsonl", '"uniform"\n')
        with zf.open(f"_storage/{sid}.mp4", "w", force_zip64=True) as fp:
            for i in range(size_mib // 4):
                block = bytes([i % 256]) + chunk[1:]
                sha.update(block)
                fp.write(block)
        doc = {"_id": sid, "_creationTime": 1.7e12, "sha256": base64.b64encode(sha.digest()).decode(),
               "size": size_mib * 1024 * 1024, "contentType": "video/mp4", "internalId": "x"}
        zf.writestr("_storage/documents.jsonl", json.dumps(doc) + "\n")


def bench_size(moto: MotoProcess, bucket: str, size_mib: int, tmp: Path, repeats: int,
               shape: str = "storage") -> dict:
    """Alternate deedbox and aws ``repeats`` times, swapping which goes first each time (the
    machine is shared: medians, not bests)."""
    path = tmp / f"snapshot-{shape}-{size_mib}.zip"
    build_snapshot(path, size_mib, shape)
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        uncompressed = sum(i.file_size for i in zf.infolist())
    d_times, a_times, d_rss, a_rss = [], [], 0, 0
    for i in range(repeats):
        deedbox = [sys.executable, "-m", "deedbox.cli", "export", "--config", str(ROOT / "backup.yaml"),
                   "--bucket", bucket, "--from-zip", str(path), "--reason", "manual", "--format", "json"]
        aws = [str(VENV_BIN / "aws"), "--endpoint-url", moto.url, "s3", "cp", str(path),
               f"s3://{bucket}/awscli/{shape}-{size_mib}-{i}.zip", "--only-show-errors"]
        for which in (("d", "a") if i % 2 == 0 else ("a", "d")):
            seconds, rss, _ = measured(deedbox if which == "d" else aws, moto.env())
            if which == "d":
                d_times.append(seconds)
                d_rss = max(d_rss, rss)
            else:
                a_times.append(seconds)
                a_rss = max(a_rss, rss)
    path.unlink()
    mib, d_s, a_s = size / 2 ** 20, statistics.median(d_times), statistics.median(a_times)
    return {"shape": shape, "snapshot": SHAPES[shape], "size_mib": round(mib, 1),
            "uncompressed_mib": round(uncompressed / 2 ** 20, 1), "repeats": repeats,
            "deedbox_s": [round(t, 2) for t in d_times], "aws_s3_cp_s": [round(t, 2) for t in a_times],
            "deedbox_mib_s": round(mib / d_s, 1), "aws_mib_s": round(mib / a_s, 1),
            "throughput_ratio": round(a_s / d_s, 2), "deedbox_peak_rss_mib": d_rss, "aws_peak_rss_mib": a_rss}


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--storage-mib", type=int, nargs="*", default=[256, 1024],
                        help="sizes of the 'storage' snapshots (one big blob)")
    parser.add_argument("--documents-mib", type=int, nargs="*", default=[256],
                        help="sizes of the 'documents' snapshots (JSONL tables; summary-bound, slow)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from tests.support.moto_server import make_backup_bucket

    with MotoProcess() as moto, tempfile.TemporaryDirectory(prefix="deedbox-bench-") as tmp:
        bucket = make_backup_bucket(moto, "bench-backups")  # locked, versioned, SSE-KMS
        runs = [bench_size(moto, bucket, s, Path(tmp), args.repeats, shape)
                for shape, sizes in (("documents", args.documents_mib), ("storage", args.storage_mib))
                for s in sizes]
    result = {"name": "export", "what": "deedbox export --from-zip (summarize+hash+upload+verify+manifest) "
              "vs aws s3 cp, same moto_server", "runs": runs,
              "rows": [{"metric": f"export {r['size_mib']:.0f} MiB {r['shape']} (MiB/s)", "deedbox": r["deedbox_mib_s"],
                        "baseline": r["aws_mib_s"], "ratio": r["throughput_ratio"]} for r in runs]
              + [{"metric": f"peak RSS at {r['size_mib']:.0f} MiB {r['shape']} (MiB)", "deedbox": r["deedbox_peak_rss_mib"],
                  "baseline": r["aws_peak_rss_mib"], "ratio": None} for r in runs]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "export.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
