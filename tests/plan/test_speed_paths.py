"""The shortcuts that make ``deedbox plan`` fast must change nothing a user or the graph sees.

- the engine's stack trace (no source-line reads) equals Pulumi's own, and Pulumi's is back after;
- a config loaded twice in one process is checked once, yet a changed or broken file never is
  served from memory;
- the typer-free ``plan`` argument parser takes only plain forms and passes what typer would.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pulumi_aws as aws
import pytest
from pulumi.runtime import resource as pulumi_resource

import deedbox.config as config_pkg
from deedbox.cli import _fast_plan
from deedbox.config import load
from deedbox.errors import ConfigError
from deedbox.plan import engine

ROOT = Path(__file__).resolve().parent.parent.parent


class _Base:
    def __init__(self, out: list) -> None:
        out.append((pulumi_resource._get_stack_trace(), engine._stack_trace()))


class _Middle(_Base):
    def __init__(self, out: list) -> None:
        super().__init__(out)


class _Concrete(_Middle):
    def __init__(self, out: list) -> None:
        super().__init__(out)


def _user_code(out: list) -> None:
    _Concrete(out)


def test_stack_trace_matches_the_sdk_frame_for_frame():
    out: list = []
    _user_code(out)
    sdk, ours = out[0]
    assert len(sdk.frames) >= 3  # the user frames below the third __init__, outermost last
    assert sdk == ours
    assert ours.frames[0].pc.uri.endswith("test_speed_paths.py")
    assert ours.frames[0].pc.line == _user_code.__code__.co_firstlineno + 1


def test_stack_trace_outside_a_resource_is_empty_like_the_sdk():
    assert engine._stack_trace() == pulumi_resource._get_stack_trace()


def test_the_sdk_stack_trace_is_restored_after_a_run_even_a_failed_one():
    original = pulumi_resource._get_stack_trace
    engine.record(lambda: aws.Provider("p", region="us-east-1"))
    assert pulumi_resource._get_stack_trace is original

    def broken() -> None:
        raise ConfigError("bad config")

    with pytest.raises(ConfigError):
        engine.record(broken)
    assert pulumi_resource._get_stack_trace is original


def test_a_config_loaded_twice_is_checked_once(tmp_path, reference_config_path, monkeypatch):
    path = tmp_path / "backup.yaml"
    path.write_text(reference_config_path.read_text())
    first = load(path)
    calls = []
    real = config_pkg.check_text
    monkeypatch.setattr(config_pkg, "check_text", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = load(path)
    monkeypatch.chdir(tmp_path)
    elsewhere = load("backup.yaml")
    assert calls == []
    assert again == first and again is not first
    assert elsewhere.path == "backup.yaml" != first.path  # the model names the path it was given
    assert elsewhere == dataclasses.replace(first, path=elsewhere.path)


def test_a_changed_or_broken_config_is_checked_again(tmp_path, reference_config_path):
    path = tmp_path / "backup.yaml"
    text = reference_config_path.read_text()
    path.write_text(text)
    before = load(path)
    path.write_text(text.replace("days: 35}", "days: 40}"))
    after = load(path)
    assert after != before
    path.write_text(text.replace("version: 1", "version: 7"))
    with pytest.raises(ConfigError):
        load(path)
    with pytest.raises(ConfigError):  # failures are never remembered as valid
        load(path)


def test_the_cached_document_cannot_be_changed_through_a_model(tmp_path, reference_config_path):
    path = tmp_path / "backup.yaml"
    path.write_text(reference_config_path.read_text())
    load(path)
    cached = next(doc for text, doc in config_pkg._VALID.items() if text == path.read_text())
    cached_copy = repr(cached)
    load(path)
    assert repr(cached) == cached_copy


@pytest.mark.parametrize(("argv", "expected"), [
    (["plan"], {"config": Path("backup.yaml"), "base": None, "format": "text"}),
    (["plan", "-c", "a.yaml", "--base", "origin/main", "--format", "markdown"],
     {"config": Path("a.yaml"), "base": "origin/main", "format": "markdown"}),
    (["plan", "--format=json", "--config=x/b.yml", "--base=HEAD~1"],
     {"config": Path("x/b.yml"), "base": "HEAD~1", "format": "json"}),
    (["plan", "--help"], None), (["plan", "-h"], None), (["plan", "--base"], None),
    (["plan", "--format", "github"], None), (["plan", "-c", "a", "-c", "b"], None),
    (["plan", "extra"], None), (["plan", "-c=a"], None), (["plan", "--base", "-x"], None),
    (["validate"], None), ([], None),
])
def test_fast_plan_takes_only_plain_forms(argv, expected):
    assert _fast_plan(argv) == expected


def test_fast_path_and_typer_give_the_same_plan(reference_config_path):
    """One spelling takes the fast path, the other (a repeated option) goes through typer."""
    exe = str(Path(sys.executable).parent / "deedbox")
    fast = subprocess.run([exe, "plan", "-c", str(reference_config_path), "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT)
    slow = subprocess.run([exe, "plan", "--format", "json", "--format", "json", "-c", str(reference_config_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert (fast.returncode, fast.stderr) == (slow.returncode, slow.stderr)
    # registrations complete in thread-pool order, so compare the JSON plans as unordered
    assert _unordered(json.loads(fast.stdout)) == _unordered(json.loads(slow.stdout))
    bad = subprocess.run([exe, "plan", "--format", "xml"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "--format" in bad.stderr


def _unordered(value):
    if isinstance(value, dict):
        return {k: _unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted(json.dumps(_unordered(v), sort_keys=True) for v in value)
    return value


@pytest.mark.parametrize("was_enabled", [True, False])
def test_plan_gives_the_garbage_collector_back_as_it_found_it(reference_config_path, capsys, was_enabled):
    import gc

    from deedbox.commands import plan as plan_command

    (gc.enable if was_enabled else gc.disable)()
    try:
        code = plan_command.run(config=reference_config_path)
        assert gc.isenabled() is was_enabled
        assert gc.get_freeze_count() == 0  # nothing stays frozen until the process exits
        assert code in (0, 1) and "PASS" in capsys.readouterr().out
    finally:
        gc.enable()


def test_a_plan_process_exits_cleanly_with_its_output(reference_config_path):
    exe = str(Path(sys.executable).parent / "deedbox")
    done = subprocess.run([exe, "plan", "-c", str(reference_config_path), "--format", "markdown"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode in (0, 1) and done.stderr == ""
    assert done.stdout.endswith("```\n")  # the whole report, up to its closing fence, was flushed
