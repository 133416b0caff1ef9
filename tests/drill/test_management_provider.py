"""The dynamic providers' create/delete against the fake Convex Management API, over HTTP."""

from __future__ import annotations

import time

import pytest

from deedbox.topology.drill import (
    MANAGEMENT_API_ENV,
    ConvexDeployKeyProvider,
    ConvexDeploymentProvider,
)
from tests.support.convex_management import ConvexManagementServer

TOKEN = "team-token-secret"


@pytest.fixture
def api(monkeypatch):
    with ConvexManagementServer(TOKEN) as server:
        monkeypatch.setenv(MANAGEMENT_API_ENV, server.url)
        monkeypatch.setenv("CONVEX_TEAM_TOKEN", TOKEN)
        yield server


def _props(hours: float = 4) -> dict:
    return {"projectId": "77", "teamTokenEnv": "CONVEX_TEAM_TOKEN", "deploymentType": "dev",
            "reference": "drill-1", "expiresAt": int((time.time() + hours * 3600) * 1000)}


def test_create_then_delete_deployment(api):
    provider = ConvexDeploymentProvider()
    created = provider.create(_props())
    assert created.id == "drill-otter-1"
    assert created.outs["url"] == "https://drill-otter-1.convex.cloud"
    assert api.state.deployments["drill-otter-1"]["reference"] == "drill-1"
    path, body = api.state.calls[0]
    assert path == "/projects/77/create_deployment" and body["type"] == "dev" and "expiresAt" in body
    provider.delete(created.id, created.outs)
    assert api.state.deleted == ["drill-otter-1"] and not api.state.deployments


def test_deploy_key_for_the_new_deployment(api):
    dep = ConvexDeploymentProvider().create(_props())
    key = ConvexDeployKeyProvider().create(
        {"deploymentName": dep.id, "teamTokenEnv": "CONVEX_TEAM_TOKEN", "keyName": "drill-1"})
    assert key.outs["deployKey"] == "dev:drill-otter-1|key-drill-1"


def test_expiry_too_soon_is_refused_with_the_api_message(api):
    with pytest.raises(RuntimeError, match="HTTP 400 .*30 minutes"):
        ConvexDeploymentProvider().create(_props(hours=0.1))


def test_wrong_token_fails_without_echoing_it(api, monkeypatch):
    monkeypatch.setenv("CONVEX_TEAM_TOKEN", "wrong-token-value")
    with pytest.raises(RuntimeError) as err:
        ConvexDeploymentProvider().create(_props())
    assert "401" in str(err.value) and "wrong-token-value" not in str(err.value)


def test_missing_token_names_the_variable(api, monkeypatch):
    monkeypatch.delenv("CONVEX_TEAM_TOKEN")
    with pytest.raises(RuntimeError, match="CONVEX_TEAM_TOKEN"):
        ConvexDeploymentProvider().create(_props())


def test_deleting_a_deployment_its_expiry_already_removed_succeeds(api):
    """`drill reap` destroys expired stacks: Convex has removed the deployment by then (404)."""
    provider = ConvexDeploymentProvider()
    created = provider.create(_props())
    api.state.deployments.clear()  # what Convex does at expiresAt
    provider.delete(created.id, created.outs)  # no error
    assert api.state.deleted == []


def test_other_delete_failures_still_raise(api, monkeypatch):
    created = ConvexDeploymentProvider().create(_props())
    monkeypatch.setenv("CONVEX_TEAM_TOKEN", "wrong-token-value")
    with pytest.raises(RuntimeError, match="HTTP 401"):
        ConvexDeploymentProvider().delete(created.id, created.outs)
