"""Benchmark: deedbox's snapshot summary vs what a user would do by hand.

A user checking a Convex snapshot without deedbox would run ``unzip -p snapshot.zip | sha256sum``:
it proves the ZIP inflates (CRCs) but says nothing about tables, counts or typed content.
``summarize`` does that plus per-table counts, typed digests, id checks and storage checks.
Both run as whole processes, alternately, several rounds; we report medians, the ratio and peak RSS.

    .venv/bin/python bench/manifest_bench.py [--docs N] [--rounds R]

Writes ``bench/out/manifest.json``; the generated ZIP stays in ``bench/out/`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PY = sys.executable
SUMMARIZE = ("import resource, sys; from deedbox.convex.snapshot import summarize; "
             "s = summarize(sys.argv[1]); "
             "print(sum(t.count for t in s.tables), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


BUILD = ("import sys; from tests.support.snapshots import build_snapshot, community_tables; "
         "build_snapshot(sys.argv[1], community_tables(int(sys.argv[2]), seed=1, body_words=60))")


def build(path: Path, docs: int) -> None:
    """Generate in a child process: Linux carries a process's peak RSS across exec into its
    children, so a big parent would inflate the RSS the measured children report."""
    tmp = path.with_suffix(".tmp")
    subprocess.run([PY, "-c", BUILD, str(tmp), str(docs)], cwd=ROOT, check=True)
    os.replace(tmp, path)


def run_deedbox(path: Path) -> tuple[float, int, int]:
    start = time.perf_counter()
    out = subprocess.run([PY, "-c", SUMMARIZE, str(path)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return time.perf_counter() - start, int(out[0]), int(out[1])


def run_unzip(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["sh", "-c", f"unzip -p '{path}' | sha256sum"], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=700_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"snapshot-{args.docs}.zip"
    if not path.exists():
        t0 = time.perf_counter()
        build(path, args.docs)
        print(f"built {path.name} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    import zipfile
    raw = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    ours, theirs, rss, docs = [], [], 0, 0
    for i in range(args.rounds):  # alternate who goes first (deedbox on even rounds), so drift hits both alike
        for which in (("deedbox", "unzip") if i % 2 == 0 else ("unzip", "deedbox")):
            if which == "unzip":
                theirs.append(run_unzip(path))
                continue
            seconds, docs, peak = run_deedbox(path)
            ours.append(seconds)
            rss = max(rss, peak)
    med_ours, med_theirs = statistics.median(ours), statistics.median(theirs)
    result = {
        "benchmark": "snapshot manifest: deedbox summarize vs unzip -p | sha256sum",
        "zip_bytes": path.stat().st_size, "uncompressed_bytes": raw, "documents": docs,
        "rounds": args.rounds, "deedbox_seconds": ours, "unzip_sha256sum_seconds": theirs,
        "deedbox_median_s": round(med_ours, 3), "unzip_sha256sum_median_s": round(med_theirs, 3),
        "ratio_deedbox_over_unzip": round(med_ours / med_theirs, 2),
        "deedbox_mb_per_s_uncompressed": round(raw / med_ours / 1e6, 1),
        "deedbox_peak_rss_mb": round(rss / 1024, 1),
        "cpu": os.cpu_count(), "load_after": [round(x, 2) for x in os.getloadavg()],
        "rows": [{"metric": f"manifest pass (byte summary), {docs} documents (s)", "deedbox": round(med_ours, 3),
                  "baseline": round(med_theirs, 3), "ratio": round(med_ours / med_theirs, 2)}],
    }
    (OUT / "manifest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
