"""Benchmark: ``deedbox restore media`` vs ``aws s3 sync`` from the backup prefix back to the store.

One moto_server process. A source media bucket holds N small objects (default 5,000, class
``images``) and a few large ones (default 20 x 16 MiB, class ``video``); ``deedbox media sync``
copies them once into ``media/<class>/…`` of a locked, versioned, SSE-KMS backup bucket. Then,
``--repeats`` times (the order of the tools alternating), each tool restores each class into its
own empty bucket and runs again (a no-op rerun):

- deedbox: ``restore media --class C --to <bucket> --yes`` (plan from the version listing, one
  server-side CopyObject per object with the version id, a log written once in ``restores/``);
- aws-cli: ``aws s3 sync s3://<backup>/media/<class>/<prefix> s3://<bucket>/<prefix>`` (one
  CopyObject per object, no version pinning, no log).

Like for like: same server, same source objects, same kind of target bucket (plain), both
server-side, each tool a child process (wall time and its own peak RSS from ``wait4``); targets
are emptied between repeats. Medians of the repeats, ratio = deedbox / aws (lower is better).
Memory flat in object count: deedbox also restores the first 1,000 small objects (``--prefix``)
and its peak RSS is compared with the 5,000-object run.

Writes ``bench/out/restore_media.json``. Usage:
``.venv/bin/python bench/restore_media_bench.py [--objects 5000] [--large 20] [--large-mib 16] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_bench import OUT, ROOT, VENV_BIN, MotoProcess, measured  # noqa: E402

SOURCE = "guild-media-prod"


class Moto(MotoProcess):
    """``MotoProcess`` that is killed when it does not stop in time (it holds the large objects)."""

    def __exit__(self, *exc: object) -> None:
        import subprocess

        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)

BACKUP = "bench-restore-backups"


# Peak RSS through a small launcher: a child forked from this (large) process starts with this
# process's pages, and ``ru_maxrss`` would report them; the launcher's own child starts small.
LAUNCHER = ("import os, sys\npid = os.fork()\nif pid == 0:\n    os.execvp(sys.argv[1], sys.argv[1:])\n"
            "_, status, usage = os.wait4(pid, 0)\nsys.stderr.write(f'\\nRSS_KIB={usage.ru_maxrss}\\n')\n"
            "sys.exit(os.waitstatus_to_exitcode(status))")


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(seconds, the command's own peak RSS in MiB)."""
    seconds, _, err = measured([sys.executable, "-S", "-c", LAUNCHER, *cmd], env)
    return seconds, int(err.rsplit("RSS_KIB=", 1)[1].split()[0]) // 1024


def seed(moto: Moto, n: int, large: int, large_mib: int) -> None:
    s3 = moto.client("s3", "us-east-1")
    s3.create_bucket(Bucket=SOURCE)

    def small(i: int) -> None:
        s3.put_object(Bucket=SOURCE, Key=f"uploads/{i // 100:03d}/img-{i:05d}.png", ContentType="image/png",
                      Metadata={"owner": f"u{i % 97}"}, Body=(f"png {i} ".encode() * 40)[: 200 + i % 800])

    def big(i: int) -> None:
        s3.put_object(Bucket=SOURCE, Key=f"courses/lesson-{i:02d}.mp4", ContentType="video/mp4",
                      Body=os.urandom(large_mib * 1024 * 1024))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(small, range(n)))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(big, range(large)))


def sync_config(tmp: Path) -> Path:
    text = (ROOT / "backup.yaml").read_text()
    text = text.replace("    mode: replicate\n", "    mode: sync\n    schedule: rate(1 hour)\n    classes: [images, video]\n")
    path = tmp / "backup.yaml"
    path.write_text(text)
    return path


def empty(moto: Moto, bucket: str) -> None:
    s3 = moto.client("s3", "us-east-1")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", ())]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def count(moto: Moto, bucket: str, prefix: str) -> int:
    pages = moto.client("s3", "us-east-1").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(len(p.get("Contents", ())) for p in pages)


def listing_seconds(moto: Moto, prefix: str, repeats: int = 3) -> dict[str, float]:
    """The same keys listed both ways on the same server: what a no-op's planning costs here."""
    s3 = moto.client("s3", "us-east-1")
    out = {}
    for op in ("list_objects_v2", "list_object_versions"):
        times = []
        for _ in range(repeats):
            start = time.monotonic()
            for _page in s3.get_paginator(op).paginate(Bucket=BACKUP, Prefix=prefix):
                pass
            times.append(time.monotonic() - start)
        out[op] = round(statistics.median(times), 2)
    return out


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--large", type=int, default=20)
    parser.add_argument("--large-mib", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.support.moto_server import make_backup_bucket

    cases = {"small": ("images", "uploads/", args.objects), "large": ("video", "courses/", args.large)}
    runs: dict[str, dict] = {f"{tool}_{case}": {"first": [], "rerun": [], "rss": 0}
                             for tool in ("deedbox", "aws") for case in cases}
    runs["deedbox_small_1000"] = {"first": [], "rerun": [], "rss": 0}
    with Moto() as moto, tempfile.TemporaryDirectory(prefix="deedbox-restore-bench-") as tmp:
        seed(moto, args.objects, args.large, args.large_mib)
        make_backup_bucket(moto, BACKUP)
        cfg = sync_config(Path(tmp))
        deedbox = [sys.executable, "-m", "deedbox.cli"]
        measured([*deedbox, "media", "sync", "--config", str(cfg), "--bucket", BACKUP], moto.env())
        listings = listing_seconds(moto, "media/images/")
        s3 = moto.client("s3", "us-east-1")
        for tool in ("deedbox", "aws"):
            s3.create_bucket(Bucket=f"bench-live-{tool}")

        def command(tool: str, cls: str, prefix: str, target: str, sub: str = "") -> list[str]:
            if tool == "deedbox":
                extra = ["--prefix", prefix + sub] if sub else []
                return [*deedbox, "restore", "media", "--config", str(cfg), "--bucket", BACKUP, "--class", cls,
                        "--to", target, "--yes", "--format", "json", *extra]
            return [str(VENV_BIN / "aws"), "--endpoint-url", moto.url, "s3", "sync",
                    f"s3://{BACKUP}/media/{cls}/{prefix}", f"s3://{target}/{prefix}", "--only-show-errors"]

        for i in range(args.repeats):
            order = ["deedbox", "aws"] if i % 2 == 0 else ["aws", "deedbox"]
            for case, (cls, prefix, n) in cases.items():
                for tool in order:
                    target = f"bench-live-{tool}"
                    empty(moto, target)
                    for phase in ("first", "rerun"):
                        seconds, rss = run(command(tool, cls, prefix, target), moto.env())
                        runs[f"{tool}_{case}"][phase].append(round(seconds, 2))
                        runs[f"{tool}_{case}"]["rss"] = max(runs[f"{tool}_{case}"]["rss"], rss)
                    if count(moto, target, prefix) != n:
                        raise RuntimeError(f"{tool} restored {count(moto, target, prefix)} of {n} {case} objects")
            empty(moto, "bench-live-deedbox")  # the same restore for a fifth of the objects: memory flat?
            seconds, rss = run(command("deedbox", "images", "uploads/", "bench-live-deedbox", "00"), moto.env())
            runs["deedbox_small_1000"]["first"].append(round(seconds, 2))
            runs["deedbox_small_1000"]["rss"] = max(runs["deedbox_small_1000"]["rss"], rss)
            OUT.mkdir(parents=True, exist_ok=True)
            (OUT / "restore_media.partial.json").write_text(json.dumps(runs, indent=2) + "\n")
    med = {name: {p: statistics.median(r[p]) for p in ("first", "rerun") if r[p]} for name, r in runs.items()}

    def row(metric: str, case: str, phase: str) -> dict:
        d, a = med[f"deedbox_{case}"][phase], med[f"aws_{case}"][phase]
        return {"metric": metric, "deedbox": round(d, 2), "baseline": round(a, 2), "ratio": round(d / a, 2)}

    rss = {name: r["rss"] for name, r in runs.items()}
    size = f"{args.large} x {args.large_mib} MiB"
    result = {
        "name": "restore_media", "objects": args.objects, "large": size, "repeats": args.repeats,
        "what": "deedbox restore media --yes (server-side CopyObject per version) vs aws s3 sync from the backup "
                "prefix, same moto_server, into empty plain buckets; medians in s; ratio = deedbox / aws",
        "runs_s": {name: {"first": r["first"], "rerun": r["rerun"]} for name, r in runs.items()},
        "peak_rss_mib": rss,
        "listing_s": listings,
        "rows": [
            row(f"restore {args.objects} small objects (s)", "small", "first"),
            row(f"no-op rerun, {args.objects} small objects (s)", "small", "rerun"),
            row(f"restore {size} (s)", "large", "first"),
            row(f"no-op rerun, {size} (s)", "large", "rerun"),
            {"metric": f"peak RSS restoring {args.objects} small objects (MiB)", "deedbox": rss["deedbox_small"],
             "baseline": rss["aws_small"], "ratio": round(rss["deedbox_small"] / rss["aws_small"], 2)},
            {"metric": "peak RSS restoring 1000 small objects (MiB; flat if about the same)",
             "deedbox": rss["deedbox_small_1000"]},
            {"metric": f"moto: ListObjectVersions vs ListObjectsV2 of the {args.objects} backup keys (s)",
             "deedbox": listings["list_object_versions"], "baseline": listings["list_objects_v2"],
             "ratio": round(listings["list_object_versions"] / listings["list_objects_v2"], 2)},
        ],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "restore_media.json").write_text(json.dumps(result, indent=2) + "\n")
    (OUT / "restore_media.partial.json").unlink(missing_ok=True)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
