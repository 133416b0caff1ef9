"""Run every ``bench/*_bench.py`` (each a child process) and print one summary table.

Each benchmark writes ``bench/out/<name>.json``, ideally with a ``rows`` list of
``{"metric", "deedbox", "baseline", "ratio"}``; without one, its top-level numbers and per-tool
``median_s``/``peak_rss_mib`` are listed. Prints one table, writes ``bench/out/summary.json``. A failing benchmark is reported and the others still run.

Usage: ``.venv/bin/python bench/run.py [NAME ...]`` (names without ``_bench.py``; default: all).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def run_one(script: Path) -> tuple[str, float, int]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(f"{script.name} failed ({done.returncode}):\n{done.stderr[-2000:]}\n")
    return script.name, time.monotonic() - start, done.returncode


def rows() -> list[dict]:
    table = []
    for path in sorted(OUT.glob("*.json")):
        if path.name == "summary.json":
            continue
        try:
            doc = json.loads(path.read_text())
        except ValueError:
            continue
        for row in doc.get("rows") or _fallback_rows(doc):
            table.append({"bench": doc.get("name", path.stem), **row})
    return table


def _fallback_rows(doc: dict) -> list[dict]:
    """For benchmarks without ``rows``: their top-level numbers and per-tool medians/RSS."""
    out: list[dict] = []
    for key, value in doc.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            column = "ratio" if "ratio" in key else "deedbox"
            out.append({"metric": key, column: value})
        elif isinstance(value, dict):
            for sub in ("median_s", "peak_rss_mib"):
                if isinstance(value.get(sub), (int, float)):
                    out.append({"metric": f"{key}.{sub}", "deedbox": value[sub]})
    return out


def fmt(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("*_bench.py"))
    if argv:
        scripts = [s for s in scripts if s.name.removesuffix("_bench.py") in argv]
    results = [run_one(s) for s in scripts]
    table = rows()
    width = max([len(r["metric"]) for r in table] + [6])
    print(f"{'bench':<10} {'metric':<{width}} {'deedbox|val':>10} {'baseline':>10} {'ratio':>7}")
    for r in table:
        print(f"{r['bench']:<10} {r['metric']:<{width}} {fmt(r.get('deedbox')):>10} "
              f"{fmt(r.get('baseline')):>10} {fmt(r.get('ratio')):>7}")
    for name, seconds, code in results:
        print(f"# {name}: {'ok' if code == 0 else f'FAILED ({code})'} in {seconds:.0f}s")
    OUT.mkdir(exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps({"rows": table, "runs": [
        {"script": n, "seconds": round(s, 1), "exit": c} for n, s, c in results]}, indent=2) + "\n")
    return 0 if all(code == 0 for _, _, code in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
