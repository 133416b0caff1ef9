"""The CLI's one error handler: expected errors, bugs, usage errors."""

from __future__ import annotations

import re
import stat
import sys
import types

import pytest
import typer

from deedbox import cli
from deedbox.errors import CheckFailed


def _command(monkeypatch, run) -> None:
    module = types.ModuleType("deedbox.commands.boom")
    module.run = run
    monkeypatch.setitem(sys.modules, "deedbox.commands.boom", module)


def test_a_bug_is_one_line_and_a_private_crash_log(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DEEDBOX_LOG_DIR", str(tmp_path))

    def run(**_):
        raise RuntimeError("internal detail")

    _command(monkeypatch, run)
    with pytest.raises(typer.Exit) as done:
        cli._dispatch("boom")
    assert done.value.exit_code == 2
    err = capsys.readouterr().err
    match = re.fullmatch(r"deedbox: unexpected error: RuntimeError \(details in (.+)\)\n", err)
    assert match, err
    log = tmp_path / match.group(1).rsplit("/", 1)[-1]
    assert "Traceback" in log.read_text() and "internal detail" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    with pytest.raises(typer.Exit):
        cli._dispatch("boom")
    assert len(list(tmp_path.glob("deedbox-crash-*.log"))) == 2  # never overwritten


def test_an_expected_error_is_its_message_and_exit_code(monkeypatch, capsys):
    def run(**_):
        raise CheckFailed("snapshot differs")

    _command(monkeypatch, run)
    with pytest.raises(typer.Exit) as done:
        cli._dispatch("boom")
    assert done.value.exit_code == 1
    assert capsys.readouterr().err == "deedbox: error: snapshot differs\n"


@pytest.mark.parametrize("args, message", [
    (["restore", "full", "--snapshot", "latest"], "deedbox: error: Missing option '--to'. (see `deedbox restore full --help`)"),
    (["nosuch"], "deedbox: error: No such command 'nosuch'. (see `deedbox --help`)"),
])
def test_usage_errors_are_one_line_exit_2(args, message, capsys):
    assert cli._run_app(args) == 2
    assert capsys.readouterr().err.strip() == message
