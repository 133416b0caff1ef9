"""``AutomationBackend`` driving the real Automation API against the fake ``pulumi`` executable."""

from __future__ import annotations

import re

import pytest

from deedbox import __version__
from deedbox.drill.stacks import AutomationBackend, program_dir
from deedbox.errors import EnvironmentProblem
from deedbox.scaffold import files
from tests.support.fake_pulumi import FakePulumi


@pytest.fixture
def fake(tmp_path):
    return FakePulumi.install(tmp_path / "pulumi", tmp_path / "state")


@pytest.fixture
def backend(fake, tmp_path):
    env = {"PULUMI_CONFIG_PASSPHRASE": "drill-pass"}
    return AutomationBackend(backend_url=f"file://{fake.state_dir}", pulumi_root=str(fake.root), env=env)


def test_up_sets_config_and_tags_and_returns_outputs(fake, backend):
    fake.behave(outputs={"deploymentUrl": "http://x", "deployKey": {"value": "dev:x|k", "secret": True}})
    outs = backend.up("drill-1", config={"deedbox-drill:drillId": "drill-1"}, tags={"deedbox:drill": "drill-1"})
    assert outs == {"deploymentUrl": "http://x", "deployKey": "dev:x|k"}
    state = fake.stacks()["drill-1"]
    assert state["config"]["deedbox-drill:drillId"]["value"] == "drill-1"
    assert state["tags"] == {"deedbox:drill": "drill-1"}
    ups = [c for c in fake.call_records() if c["args"][0] == "up"]
    assert ups and ups[0]["backend"] == f"file://{fake.state_dir}" and ups[0]["passphrase_set"] is False
    assert "--exec-kind" in ups[0]["args"] and "auto.local" in ups[0]["args"]


def test_destroy_remove_and_list(fake, backend):
    fake.behave(outputs={})
    backend.up("drill-a", config={}, tags={"deedbox:expires": "2026-01-01T00:00:00Z"})
    assert [s.name for s in backend.list()] == ["drill-a"]
    assert backend.list()[0].tags == {"deedbox:expires": "2026-01-01T00:00:00Z"}
    with pytest.raises(EnvironmentProblem, match="still has resources"):
        backend.remove("drill-a")  # like the real CLI: destroy first
    backend.destroy("drill-a")
    backend.remove("drill-a")
    assert fake.stacks() == {}


def test_cli_failure_is_one_line(fake, backend):
    fake.behave(fail={"up": "creating deployment: HTTP 500"})
    with pytest.raises(EnvironmentProblem, match=r"^pulumi up failed: error: creating deployment: HTTP 500$"):
        backend.up("drill-b", config={}, tags={})


def test_passphrase_required(fake):
    with pytest.raises(EnvironmentProblem, match="PULUMI_CONFIG_PASSPHRASE"):
        AutomationBackend(backend_url=f"file://{fake.state_dir}", pulumi_root=str(fake.root), env={})


def test_missing_cli_is_an_environment_problem(tmp_path):
    backend = AutomationBackend(backend_url=f"file://{tmp_path}", pulumi_root=str(tmp_path / "nope"),
                                env={"PULUMI_CONFIG_PASSPHRASE": "p"})
    with pytest.raises(EnvironmentProblem, match="pulumi CLI is not installed"):
        backend.list()


def _project(root):
    """A user's repository as `deedbox init` writes it (no deedbox checkout anywhere near it)."""
    for rel, text in files(__version__).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_drill_program_is_the_projects_beside_its_config(fake, tmp_path, monkeypatch):
    project = _project(tmp_path / "repo")
    drill = (project / "infra" / "drill").resolve()
    assert program_dir(project / "backup.yaml") == drill
    monkeypatch.chdir(project)
    assert program_dir() == drill  # the CLI's default --config: ./backup.yaml
    backend = AutomationBackend(config_path=project / "backup.yaml", backend_url=f"file://{fake.state_dir}",
                                pulumi_root=str(fake.root), env={"PULUMI_CONFIG_PASSPHRASE": "p"})
    assert backend.work_dir == drill
    fake.behave(outputs={})
    backend.up("drill-p", config={}, tags={})
    assert [c["cwd"] for c in fake.call_records() if c["args"][0] == "up"] == [str(drill)]


def test_a_project_without_a_drill_program_is_one_clear_error(fake, tmp_path):
    (tmp_path / "backup.yaml").write_text("version: 1\n")
    missing = tmp_path.resolve() / "infra" / "drill"
    with pytest.raises(EnvironmentProblem, match=rf"^no drill program at {re.escape(str(missing))}: .*`deedbox init` writes"):
        program_dir(tmp_path / "backup.yaml")
    missing.mkdir(parents=True)  # a directory without its Pulumi.yaml is no program either
    with pytest.raises(EnvironmentProblem, match="no drill program"):
        AutomationBackend(config_path=tmp_path / "backup.yaml", backend_url=f"file://{fake.state_dir}",
                          pulumi_root=str(fake.root), env={"PULUMI_CONFIG_PASSPHRASE": "p"})
