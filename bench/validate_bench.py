"""`deedbox validate` against `check-jsonschema`, the tool a user would reach for instead.

Both run as whole processes through their installed console scripts on the reference
backup.yaml, alternately N times in one run (machine noise hits both alike). check-jsonschema
only checks the schema; deedbox also reads positions, runs the semantic rules and the secret
scan. We report medians, the ratio deedbox/check-jsonschema, and each process's peak RSS
(``os.wait4`` gives the rusage of that one child). Target: ratio <= 1.0.

    .venv/bin/python bench/validate_bench.py [-n 15] [--file backup.yaml]   # writes bench/out/validate.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out" / "validate.json"


def commands(config: Path) -> dict[str, list[str]]:
    return {
        "deedbox": [str(BIN / "deedbox"), "validate", "--config", str(config)],
        "check-jsonschema": [str(BIN / "check-jsonschema"), "--schemafile",
                             str(ROOT / "schema" / "backup.schema.json"), str(config)],
    }


def measure(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in KiB and exit code of one run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, proc.returncode


def run(n: int, config: Path) -> dict:
    cmds = commands(config)
    samples: dict[str, list[tuple[float, int, int]]] = {name: [] for name in cmds}
    for argv in cmds.values():  # warm the page cache and .pyc files, not counted
        measure(argv)
    names = list(cmds)
    for i in range(n):  # the order rotates: each tool goes first in half the rounds
        for name in names[i % len(names):] + names[:i % len(names)]:
            samples[name].append(measure(cmds[name]))
    result = {"runs": n, "file": str(config.relative_to(ROOT) if config.is_relative_to(ROOT) else config)}
    for name, rows in samples.items():
        times = [t for t, _, _ in rows]
        result[name] = {
            "median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
            "max_s": round(max(times), 4), "peak_rss_mib": round(max(r for _, r, _ in rows) / 1024, 1),
            "exit_codes": sorted({c for _, _, c in rows}), "argv": cmds[name][1:],
        }
    result["ratio_median"] = round(result["deedbox"]["median_s"] / result["check-jsonschema"]["median_s"], 3)
    result["environment"] = {
        "python": platform.python_version(), "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
        **{pkg: metadata.version(pkg) for pkg in ("deedbox", "check-jsonschema", "jsonschema", "typer", "pyyaml")},
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="alternating runs of each command")
    parser.add_argument("--file", type=Path, default=ROOT / "backup.yaml")
    args = parser.parse_args()
    result = run(args.n, args.file.resolve())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("deedbox", "check-jsonschema"):
        r = result[name]
        print(f"{name:17} median {r['median_s'] * 1000:7.1f} ms  min {r['min_s'] * 1000:7.1f} ms  "
              f"peak RSS {r['peak_rss_mib']:6.1f} MiB  exit {r['exit_codes']}")
    print(f"ratio deedbox/check-jsonschema (median): {result['ratio_median']:.2f}  -> {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
