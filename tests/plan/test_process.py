"""``deedbox plan`` as a process: it plans ``deedbox.topology.program`` itself, from any directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXE = str(Path(sys.executable).parent / "deedbox")


def test_a_plan_process_exits_cleanly_with_its_output(reference_config_path):
    done = subprocess.run([EXE, "plan", "-c", str(reference_config_path), "--format", "markdown"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode in (0, 1) and done.stderr == ""
    assert done.stdout.endswith("```\n")  # the whole report, up to its closing fence, was flushed


def test_plan_needs_no_infra_directory(tmp_path, reference_config_path):
    """A user's repo (or a wheel) has no deedbox checkout: the plan records the program function,
    and it is the same plan as the one of this repository's infra/ entry point."""
    shutil.copy(reference_config_path, tmp_path / "backup.yaml")
    elsewhere = subprocess.run([EXE, "plan", "--format", "json"], capture_output=True, text=True, cwd=tmp_path)
    here = subprocess.run([EXE, "plan", "--format", "json", "-c", str(reference_config_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert elsewhere.returncode == here.returncode == 0, elsewhere.stderr
    assert json.loads(elsewhere.stdout) == json.loads(here.stdout)
    assert not (tmp_path / "infra").exists()


def test_the_infra_entry_point_records_the_same_graph_as_the_program(reference_config_path):
    from deedbox.config import load
    from deedbox.plan.engine import record
    from deedbox.topology import program

    model = load(reference_config_path)
    via_infra = record(ROOT / "infra", config={"deedbox:config": str(reference_config_path)})
    via_function = record(lambda: program(model))
    assert [(r.type, r.name) for r in via_infra] == [(r.type, r.name) for r in via_function]
    assert via_infra.outputs == via_function.outputs
