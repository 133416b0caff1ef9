"""Benchmark: ``deedbox export --from-zip`` vs ``aws s3 cp`` of the same snapshot file, same bucket.

Both run as child processes against one local moto server (a separate ``moto_server`` process on
the same two cores, so its memory is not the benchmark's but its CPU is shared), into the same
locked, versioned, SSE-KMS bucket: like for like. deedbox does more than copy (it reads the whole
ZIP once to summarize it, beside hashing and uploading it, reads back the stored checksum, writes
a manifest), so the ratio is end-to-end work vs a plain copy. The order alternates every run;
medians of ``--repeats`` (default 5) runs. Peak RSS comes from ``wait4`` on the child.

Two snapshot shapes (``SHAPES``): ``documents`` (document tables only: what most Convex exports
are; ~3.5 bytes of JSON per byte of ZIP, every id unique, as in a real export) and ``storage`` (one
big incompressible file: the summary is only inflate + sha256). Snapshots are built once by a child
process and kept in ``bench/out/`` (not committed). Every bench records the machine and its load
(``uptime``'s load averages before and after) in its JSON, because other work may share the cores.

Writes ``bench/out/export.json``. Usage:
``.venv/bin/python bench/export_bench.py [--storage-mib 256 1024] [--documents-mib 256] [--repeats 5]``.
``DEEDBOX_BENCH_ROOT=<a checkout>`` runs that checkout's deedbox instead (a before/after comparison).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
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
DEEDBOX_ROOT = Path(os.environ.get("DEEDBOX_BENCH_ROOT", ROOT)).resolve()
sys.path.insert(0, str(ROOT))


def machine() -> dict:
    """What the figures were measured on, and how busy it was (os.getloadavg = uptime's numbers)."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_before": [round(x, 2) for x in os.getloadavg()], "deedbox_root": str(DEEDBOX_ROOT)}


def finish(result: dict, name: str) -> dict:
    """Add the load after the run, write ``bench/out/<name>.json`` (or ``$DEEDBOX_BENCH_OUT``)."""
    result["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(os.environ.get("DEEDBOX_BENCH_OUT", OUT)) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def deedbox_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "deedbox.cli", *args]


def median(values: list[float]) -> float:
    return statistics.median(values)


def alternating(repeats: int, tools: dict[str, list[str]], env: dict[str, str],
                before: dict[str, object] | None = None) -> dict[str, dict]:
    """Run every command ``repeats`` times, rotating which goes first; per tool the times, the
    median and the peak RSS. ``before[name]()`` runs before each run of ``name`` (a fresh target)."""
    names = list(tools)
    runs: dict[str, dict] = {n: {"s": [], "rss_mib": 0} for n in names}
    for i in range(repeats):
        for name in names[i % len(names):] + names[: i % len(names)]:
            if before and name in before:
                before[name]()  # type: ignore[operator]
            seconds, rss, _ = measured(tools[name], env)
            runs[name]["s"].append(round(seconds, 3))
            runs[name]["rss_mib"] = max(runs[name]["rss_mib"], rss)
    for r in runs.values():
        r["median_s"] = round(median(r["s"]), 3)
    return runs


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
                   AWS_ENDPOINT_URL=self.url, PYTHONPATH=str(DEEDBOX_ROOT))
        return env

    def client(self, service: str, region: str = "eu-west-1"):
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(seconds, the child's own peak RSS in MiB, stderr): ``wait4`` on the child's pid."""
    with tempfile.TemporaryFile() as errf:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, cwd=DEEDBOX_ROOT, stdout=subprocess.DEVNULL, stderr=errf)
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
                 "tables (users, posts, comments... ids, Int64, floats, bytes, nested objects), every "
                 "_id unique, JSONL deflated (level 6)",
    "storage": "one large incompressible _storage file (a video) plus a one-document table: "
               "the upper bound, where the summary is only inflate + sha256",
}
DOCS_PER_MIB = 12_500  # community_tables: ~84 bytes of ZIP per document


BUILD_DOCUMENTS = ("import sys; from tests.support.snapshots import build_snapshot, community_tables; "
                   "build_snapshot(sys.argv[1], community_tables(int(sys.argv[2]), seed=16))")


def build_documents_snapshot(path: Path, size_mib: int) -> None:
    """~``size_mib`` MiB of ZIP holding only document tables (the common Convex export), built in
    a child process (a big parent would inflate the peak RSS the measured children report)."""
    subprocess.run([sys.executable, "-c", BUILD_DOCUMENTS, str(path), str(size_mib * DOCS_PER_MIB)],
                   cwd=ROOT, check=True)


def snapshot(size_mib: int, shape: str = "storage") -> Path:
    """A real-format snapshot of ~``size_mib`` MiB shaped as ``SHAPES[shape]``, kept in bench/out."""
    path = OUT / f"snapshot-{shape}-{size_mib}.zip"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        (build_documents_snapshot if shape == "documents" else build_storage_snapshot)(tmp, size_mib)
        os.replace(tmp, path)
    return path


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


def bench_size(moto: MotoProcess, bucket: str, size_mib: int, repeats: int, shape: str = "storage") -> dict:
    """Alternate deedbox and aws ``repeats`` times into the same bucket (medians, not bests)."""
    path = snapshot(size_mib, shape)
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        uncompressed = sum(i.file_size for i in zf.infolist())
    counter = iter(range(10_000))
    tools = {
        "deedbox": deedbox_cmd("export", "--config", str(ROOT / "backup.yaml"), "--bucket", bucket,
                               "--from-zip", str(path), "--reason", "manual", "--format", "json"),
        "aws": [str(VENV_BIN / "aws"), "--endpoint-url", moto.url, "s3", "cp", str(path), "", "--only-show-errors"],
    }

    def next_key() -> None:  # aws writes a new key each time, as deedbox writes a new folder
        tools["aws"][6] = f"s3://{bucket}/awscli/{shape}-{size_mib}-{next(counter)}.zip"

    runs = alternating(repeats, tools, moto.env(), before={"aws": next_key})
    mib, d_s, a_s = size / 2 ** 20, runs["deedbox"]["median_s"], runs["aws"]["median_s"]
    return {"shape": shape, "snapshot": SHAPES[shape], "size_mib": round(mib, 1),
            "uncompressed_mib": round(uncompressed / 2 ** 20, 1), "repeats": repeats,
            "deedbox_s": runs["deedbox"]["s"], "aws_s3_cp_s": runs["aws"]["s"],
            "deedbox_mib_s": round(mib / d_s, 1), "aws_mib_s": round(mib / a_s, 1),
            "throughput_ratio": round(a_s / d_s, 2), "deedbox_peak_rss_mib": runs["deedbox"]["rss_mib"],
            "aws_peak_rss_mib": runs["aws"]["rss_mib"]}


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--storage-mib", type=int, nargs="*", default=[256, 1024],
                        help="sizes of the 'storage' snapshots (one big blob)")
    parser.add_argument("--documents-mib", type=int, nargs="*", default=[256],
                        help="sizes of the 'documents' snapshots (JSONL tables)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from tests.support.moto_server import make_backup_bucket

    info = machine()
    with MotoProcess() as moto:
        bucket = make_backup_bucket(moto, "bench-backups")  # locked, versioned, SSE-KMS: both tools
        runs = [bench_size(moto, bucket, s, args.repeats, shape)
                for shape, sizes in (("documents", args.documents_mib), ("storage", args.storage_mib))
                for s in sizes]
    result = {"name": "export", "machine": info,
              "what": "deedbox export --from-zip (summarize+hash+upload+verify+manifest) vs aws s3 cp, "
                      "same moto_server, same locked bucket; medians, alternating order", "runs": runs,
              "rows": [{"metric": f"export {r['size_mib']:.0f} MiB {r['shape']} (MiB/s)", "deedbox": r["deedbox_mib_s"],
                        "baseline": r["aws_mib_s"], "ratio": r["throughput_ratio"]} for r in runs]
              + [{"metric": f"peak RSS at {r['size_mib']:.0f} MiB {r['shape']} (MiB)", "deedbox": r["deedbox_peak_rss_mib"],
                  "baseline": r["aws_peak_rss_mib"], "ratio": None} for r in runs]}
    return finish(result, "export")


if __name__ == "__main__":
    main()
