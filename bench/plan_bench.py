"""How long `deedbox plan --config backup.yaml` takes, against the floor of importing what it needs.

The floor is a bare Python process that imports Pulumi, pulumi_policy and touches every pulumi-aws
resource class the plan registers (found by recording the reference graph once): no tool could
plan this program faster than it can load the SDK classes. (Checked against the issue's wording,
``import pulumi, pulumi_policy; from pulumi_aws import s3, kms, iam, secretsmanager`` plus one
class of each: both load the same pulumi-aws modules, pulumi_aws's submodules import all their
classes at once, and nothing the plan's program does not use.) The two commands run alternately N
times in one run (so machine noise hits both alike); we report medians, the ratio, and each
process's peak RSS (from wait4). Targets: plan < 1 s and <= 1.5x the floor.

Both commands run with bytecode caching on, as for any installed tool (pip compiles .pyc files at
install time): the child environment drops PYTHONDONTWRITEBYTECODE, and one warm-up run of each
writes deedbox's own .pyc files (site-packages, hence the floor, has had them since install).
Without this (PYTHONDONTWRITEBYTECODE=1 in the environment, as on the build machines), only the
plan recompiles its own 43 source files on every run, ~60 ms the floor never pays.

Both processes run with Python's garbage collector as it comes (the plan no longer tunes it), so
the ratio is like for like. The order alternates every round (plan first, then floor first).

    .venv/bin/python bench/plan_bench.py [-n 9]      # writes bench/out/plan.json
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
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out" / "plan.json"


def floor_code() -> str:
    """The floor program: imports plus every resource class the reference plan registers."""
    sys.path.insert(0, str(ROOT))
    from deedbox.config import load
    from deedbox.plan.engine import record
    from deedbox.topology import program

    model = load(ROOT / "backup.yaml")
    graph = record(lambda: program(model))
    touches = set()
    for r in graph:
        package, _, rest = r.type.partition(":")
        if package == "aws":
            module, _, cls = rest.partition(":")
            touches.add(f"aws.{module.split('/')[0].replace('lambda', 'lambda_')}.{cls}")
    return ("import pulumi, pulumi_policy; import pulumi_aws as aws; aws.Provider; "
            + "; ".join(sorted(touches)))


PHASES = """
import json, time
from pathlib import Path
t0 = time.perf_counter(); import deedbox.cli
t1 = time.perf_counter(); from deedbox.config import load; model = load("backup.yaml")
t2 = time.perf_counter(); import deedbox.plan.evaluate
t3 = time.perf_counter(); from deedbox.plan.engine import record; from deedbox.topology import program
g = record(lambda: program(model))
t4 = time.perf_counter(); v = deedbox.plan.evaluate.evaluate(g)
t5 = time.perf_counter(); from deedbox.plan.render import text; text(g, v)
t6 = time.perf_counter()
print(json.dumps({"cli_import": t1 - t0, "config_validate": t2 - t1, "pulumi_policy_import": t3 - t2,
                  "record_program": t4 - t3, "evaluate_policies": t5 - t4, "render": t6 - t5}))
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def phases(env: dict[str, str]) -> dict[str, float]:
    """Where one fresh plan process spends its time (seconds per phase)."""
    out = subprocess.run([sys.executable, "-c", PHASES], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=env)
    return {k: round(v, 4) for k, v in json.loads(out.stdout).items()}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int, float]:
    """(wall seconds, peak RSS in KiB, exit code, CPU seconds) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss, proc.returncode, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=9, help="runs of each command (alternating)")
    n, env = parser.parse_args().n, child_env()
    floor = floor_code()
    commands = {
        "plan": [str(BIN / "deedbox"), "plan", "--config", "backup.yaml"],
        "floor": [sys.executable, "-c", floor],
    }
    runs: dict[str, list[tuple[float, int, int, float]]] = {k: [] for k in commands}
    for cmd in commands.values():  # warm the file cache and .pyc files once
        timed(cmd, env)
    for i in range(n):
        order = list(commands) if i % 2 == 0 else list(reversed(commands))
        for name in order:
            runs[name].append(timed(commands[name], env))
    # CPU seconds (user + system) are less disturbed than wall time on a shared machine.
    result = {name: {"median_s": round(statistics.median(t for t, _, _, _ in r), 4),
                     "min_s": round(min(t for t, _, _, _ in r), 4),
                     "median_cpu_s": round(statistics.median(u for _, _, _, u in r), 4),
                     "peak_rss_mib": round(max(m for _, m, _, _ in r) / 1024, 1),
                     "exit_codes": sorted({c for _, _, c, _ in r})} for name, r in runs.items()}
    result["ratio_median"] = round(result["plan"]["median_s"] / result["floor"]["median_s"], 3)
    result["ratio_cpu"] = round(result["plan"]["median_cpu_s"] / result["floor"]["median_cpu_s"], 3)
    result["runs"] = n
    result["bytecode_cache"] = True
    result["phases_one_run"] = phases(env)
    result["floor_code"] = floor
    result["targets"] = {"plan_under_1s": result["plan"]["median_s"] < 1.0,
                         "within_1_5x_floor": result["ratio_median"] <= 1.5}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "floor_code"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
