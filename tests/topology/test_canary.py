"""Secret values never enter the Pulumi program: canaries in .env and the environment stay out."""

from __future__ import annotations

import shutil
from typing import Any

from deedbox.config import load
from tests.topology.conftest import REFERENCE, plan


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def test_no_secret_value_reaches_any_recorded_input_or_output(tmp_path, monkeypatch):
    config = tmp_path / "backup.yaml"
    shutil.copy(REFERENCE, config)
    keys = [k.name for k in load(config).backups.secrets.keys]
    canaries = {k: f"canary-{k.lower()}-7f3c9a" for k in keys}
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in canaries.items()))
    for k, v in canaries.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)

    graph = plan(config)

    assert not graph.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(graph.of_type("aws:secretsmanager/secret:Secret")) == len(keys)
    recorded = [s for r in graph for s in _strings([r.inputs, r.outputs])] + list(_strings(graph.outputs))
    leaked = [k for k, v in canaries.items() if any(v in s for s in recorded)]
    assert leaked == [], f"secret values of {leaked} reached the Pulumi program"
    assert any("SESSION_SECRET" in s for s in recorded)  # the names are there, the values are not
