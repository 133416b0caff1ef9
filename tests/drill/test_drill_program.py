"""The whole chain, no shortcuts but the CLI binary: Automation API → fake pulumi in program mode
→ infra/drill/__main__.py → dynamic providers → fake Convex Management API (a real deployment is
created with an expiry, then deleted) → drill against that deployment's URL and key."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from deedbox.drill.run import run_drill
from deedbox.topology.drill import MANAGEMENT_API_ENV
from tests.drill.conftest import DRILL_KEY
from tests.support.convex_management import ConvexManagementServer

TOKEN = "team-token-never-printed"


@pytest.fixture
def api(drill_server, monkeypatch):
    with ConvexManagementServer(TOKEN, deployment_url=lambda name: drill_server.url,
                                deploy_key=lambda name, key_name: DRILL_KEY) as server:
        monkeypatch.setenv(MANAGEMENT_API_ENV, server.url)
        monkeypatch.setenv("CONVEX_TEAM_TOKEN", TOKEN)
        monkeypatch.setenv("CONVEX_PROJECT_ID", "4242")
        yield server


def test_drill_creates_and_deletes_a_real_deployment(config, tools, fake, snapshot, store, api):
    fake.behave(program=True)
    now = datetime.now(UTC).replace(microsecond=0)
    report, code = run_drill(config, dataclasses.replace(tools, clock=lambda: now))
    assert code == 0, [(s.name, s.status, s.detail) for s in report.steps]
    (path, body), *rest = api.state.calls
    assert path == "/projects/4242/create_deployment"
    assert body["expiresAt"] == int((now.timestamp() + 4 * 3600) * 1000)
    assert body["reference"] == report.drill_id.lower()  # ^[a-z0-9/-]+$ (the CLI's reference rule)
    assert isinstance(body["expiresAt"], int)  # int64 milliseconds, not the float Pulumi hands over
    assert rest[0][0] == "/deployments/drill-otter-1/create_deploy_key"
    assert api.state.deleted == ["drill-otter-1"] and not api.state.deployments  # torn down in Convex
    assert fake.stacks() == {}
    assert TOKEN not in (fake.root / "calls.jsonl").read_text()
    state_files = "".join(p.read_text() for p in fake.state_dir.glob("*") if p.is_file())
    assert TOKEN not in state_files
    doc = json.loads(store.get_bytes(report.report_keys[0]))
    assert doc["status"] == "passed" and doc["deployment_url"] == report.deployment_url


def test_failed_check_still_deletes_the_deployment(config, tools, fake, snapshot, store, api, drill_server):
    fake.behave(program=True)
    drill_server.functions.pop(("query", "posts:feed"))
    now = datetime.now(UTC).replace(microsecond=0)
    report, code = run_drill(config, dataclasses.replace(tools, clock=lambda: now))
    assert code == 1 and report.failed_step == "checks"
    assert api.state.deleted == ["drill-otter-1"] and fake.stacks() == {}
