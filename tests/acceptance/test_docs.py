"""README.md and docs/*.md, read as a user reads them: every `deedbox …` command in a code block
exists with the options it is shown with, and the ones that need no cloud run as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.acceptance._graph import REPO
from tests.acceptance.conftest import clean_env, deedbox, help_text, prefetch_help

ENV = {**clean_env(), "COLUMNS": "200"}
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
GROUPS = {"media", "secrets", "restore", "drill", "notify"}


def code_lines() -> list[tuple[str, int, str]]:
    """(file, line, command) for each `deedbox …` line inside a fenced code block."""
    found = []
    for doc in DOCS:
        fenced = False
        for n, line in enumerate(doc.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            stripped = line.strip()
            if fenced and stripped.startswith("deedbox "):
                found.append((doc.name, n, stripped.split(" #", 1)[0].strip()))
            elif not fenced:  # inline `deedbox …` in tables: the command column of README
                for m in re.finditer(r"`(deedbox [^`]+)`", line):
                    found.append((doc.name, n, m.group(1)))
    return found


def split(command: str) -> tuple[list[str], list[str]]:
    words = command.replace("\\|", "|").split()[1:]
    sub = [words[0]]
    if words[0] in GROUPS and len(words) > 1 and not words[1].startswith("-"):
        sub.append(words[1].split("|")[0])
    flags = re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command)
    return sub, flags


COMMANDS = [c for c in code_lines() if c[2].split()[1][:1].isalpha() and c[2].split()[1] not in
            {"only", "turns", "takes", "stops", "reports", "prints", "package", "must", "computes", "checks", "and",
             "manifest"}]


def test_docs_show_commands():
    assert len(COMMANDS) >= 20


def test_every_documented_command_and_option_exists():
    subs = {tuple(split(c)[0]) for _, _, c in COMMANDS}
    prefetch_help(subs)
    problems = []
    for doc, line, command in COMMANDS:
        sub, flags = split(command)
        code, text = help_text(tuple(sub))
        if code != 0:
            problems.append(f"{doc}:{line}: `{command}`: no command {' '.join(sub)}")
            continue
        for flag in flags:
            if flag not in text and flag != "--help":
                problems.append(f"{doc}:{line}: `{command}`: {' '.join(sub)} has no {flag}")
    assert not problems, "\n".join(problems)


RUNNABLE = [c for c in COMMANDS if re.match(r"deedbox (validate|plan)( |$)", c[2]) and "--base" not in c[2]
            and "[" not in c[2] and "…" not in c[2]]


@pytest.mark.parametrize("doc, line, command", RUNNABLE, ids=[f"{d}:{n}" for d, n, _ in RUNNABLE])
def test_offline_commands_run_as_written(doc, line, command, tmp_path):
    args = shlex.split(command.split(">")[0])[1:]
    done = deedbox(ENV, *args)
    assert done.returncode == 0, f"{doc}:{line}: {command}: {done.stderr}"


def test_documented_workflows_command_runs(tmp_path):
    (tmp_path / "backup.yaml").write_text((REPO / "backup.yaml").read_text())
    done = deedbox(ENV, "workflows", "--output", ".github/workflows", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = {p.name for p in (tmp_path / ".github/workflows").iterdir()}
    export_md = (REPO / "docs/export.md").read_text()
    for name in re.findall(r"`(deedbox-[a-z-]+\.yml)`", export_md):
        assert name in names, f"docs/export.md names {name}; written: {sorted(names)}"


def test_make_targets_of_the_quick_start_exist():
    readme = (REPO / "README.md").read_text()
    targets = set(re.findall(r"make ([a-z]+)", readme))
    assert {"plan", "test"} <= targets
    for target in targets:
        done = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, f"make {target}: {done.stderr}"
    assert "deedbox plan" in subprocess.run(["make", "-n", "plan"], cwd=REPO, capture_output=True, text=True).stdout


def test_pre_commit_hook_of_the_readme(tmp_path):
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "id: deedbox-validate" in hooks
    entry = re.search(r"entry: (.+)", hooks).group(1).split()
    assert entry[:2] == ["python", "-m"]
    bad = tmp_path / "backup.yaml"
    bad.write_text("version: [\n")
    python = sys.executable  # the environment running the tests
    ok = subprocess.run([python, "-m", entry[2], str(REPO / "backup.yaml")], capture_output=True, text=True, cwd=REPO)
    worst = subprocess.run([python, "-m", entry[2], str(REPO / "backup.yaml"), str(bad)], capture_output=True, text=True,
                           cwd=REPO)
    assert ok.returncode == 0 and worst.returncode == 1, (ok.stderr, worst.stdout, worst.stderr)


def test_editor_modeline_points_at_the_schema():
    first = (REPO / "backup.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./schema/backup.schema.json"
    assert (REPO / "schema/backup.schema.json").is_file()


def test_readme_doc_links_resolve():
    readme = (REPO / "README.md").read_text()
    for link in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", readme):
        assert (REPO / link).is_file(), link
