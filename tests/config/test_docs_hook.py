"""docs/config.md is generated from the schema; the pre-commit hook validates each file it is given."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from deedbox.commands import hook
from deedbox.config.docgen import render

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"


def test_docs_config_md_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "config.md").read_text()
    assert committed == render(), "regenerate: python -m deedbox.config.docgen > docs/config.md"


def test_reference_documents_every_key_and_rule() -> None:
    text = render()
    for key in ("`assume_role_arn`", "`break_glass_principal`", "`replication_time_control`", "`rotation_days`",
                "`min_items`", "`admin_key`", "`sns_topic_arn`", "### `drills.checks[]`", "### `source.media.classes.*`"):
        assert key in text
    from deedbox.config.semantic import registry

    for rule_id in registry():
        assert f"| `{rule_id}` | semantic |" in text


def test_module_prints_the_reference() -> None:
    run = subprocess.run([sys.executable, "-m", "deedbox.config.docgen"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout == render()


def test_pre_commit_hook_definition() -> None:
    (hook_def,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook_def["id"] == "deedbox-validate" and hook_def["language"] == "python"
    assert hook_def["pass_filenames"] is True
    pattern = re.compile(hook_def["files"])
    assert pattern.search("backup.yaml") and pattern.search("infra/backup.yml")
    assert not pattern.search("backup.yaml.bak") and not pattern.search("my-backup.yaml")
    assert hook_def["entry"] == "python -m deedbox.commands.hook"


def test_hook_reports_each_file_and_returns_the_worst(tmp_path: Path, capsys) -> None:
    good = ROOT / "backup.yaml"
    bad = CASES / "negative" / "off-platform.yaml"
    assert hook.main([str(good)]) == 0
    assert hook.main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:17:12: error [off-platform]" in out and str(good) not in out
    assert hook.main([str(bad), str(tmp_path / "missing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
