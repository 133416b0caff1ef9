"""The drill stack program under the mock engine: tagged, never protected, no secret in inputs."""

from __future__ import annotations

import base64
import dataclasses
import json
import runpy

import pulumi
import pytest

from deedbox.config import load
from deedbox.plan.engine import record
from deedbox.topology.drill import TAG_DRILL, TAG_EXPIRES, declare_drill, deployment_reference

TOKEN = "team-token-value-that-must-never-leak-0123456789"
EXPIRES = "2026-11-27T06:00:00Z"


@pytest.fixture
def config(reference_config_path):
    return load(reference_config_path)


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("CONVEX_TEAM_TOKEN", TOKEN)
    monkeypatch.setenv("CONVEX_PROJECT_ID", "4242")
    return {"CONVEX_TEAM_TOKEN": TOKEN, "CONVEX_PROJECT_ID": "4242"}


def _all_text(rec) -> str:
    """Every input as text, with the dynamic providers' pickled blobs decoded."""
    parts = []
    for r in rec.resources:
        parts.append(json.dumps(r.inputs, default=str))
        blob = r.inputs.get("__provider")
        if isinstance(blob, str):
            parts.append(base64.b64decode(blob).decode("latin-1"))
    return "\n".join(parts)


def test_cloud_drill_declares_deployment_and_key(config, env):
    rec = record(lambda: declare_drill(config, "drill-20261127T020000Z", EXPIRES, bucket="guild-backups", env=env))
    types = [r.type for r in rec.resources]
    assert "pulumi-python:dynamic/deedbox:ConvexDeployment" in types
    assert "pulumi-python:dynamic/deedbox:ConvexDeployKey" in types
    assert deployment_reference("drill-20261127T020000Z") == "drill-20261127t020000z"
    deployment = rec.of_type("pulumi-python:dynamic/deedbox:ConvexDeployment")[0]
    assert deployment.inputs["projectId"] == "4242"
    assert deployment.inputs["teamTokenEnv"] == "CONVEX_TEAM_TOKEN"  # the name, never the value
    assert deployment.inputs["expiresAt"] == 1795759200000
    key = rec.of_type("pulumi-python:dynamic/deedbox:ConvexDeployKey")[0]
    assert key.additional_secret_outputs == ("deployKey",)


def test_every_resource_tagged_and_never_protected(config, env):
    rec = record(lambda: declare_drill(config, "drill-x", EXPIRES, bucket="guild-backups", env=env))
    assert rec.resources
    for r in rec.resources:
        assert not r.protect, f"{r.type}::{r.name} is protected"
        assert not r.retain_on_delete, f"{r.type}::{r.name} would outlive the drill"
    tagged = [r for r in rec.resources if r.type.startswith("pulumi-python:dynamic")]
    assert len(tagged) == 2
    for r in tagged:
        assert r.inputs["tags"] == {TAG_DRILL: "drill-x", TAG_EXPIRES: EXPIRES}, r.name


def test_the_drill_creates_nothing_in_aws(config, env):
    """Its AWS identity is the runner's (get backend/, put drills/): no role, no provider to run it."""
    rec = record(lambda: declare_drill(config, "drill-x", EXPIRES, bucket="guild-backups", env=env))
    assert not [r for r in rec.resources if r.type.startswith(("aws:", "pulumi:providers:aws"))]


def test_no_secret_value_in_any_input(config, env):
    rec = record(lambda: declare_drill(config, "drill-x", EXPIRES, bucket="guild-backups", env=env))
    text = _all_text(rec)
    assert "teamTokenEnv" in text  # the decoder saw the inputs at all
    assert TOKEN not in text


def test_self_hosted_target_declares_no_deployment(config, env):
    target = dataclasses.replace(config.drills.target, kind="self-hosted", project=None)
    cfg = dataclasses.replace(config, drills=dataclasses.replace(config.drills, target=target))
    rec = record(lambda: declare_drill(cfg, "drill-x", EXPIRES, bucket="guild-backups", env=env))
    assert not [r for r in rec.resources if r.type.startswith("pulumi-python:dynamic")]


def test_entry_point_runs_as_the_engine_runs_it(repo_root, reference_config_path, env):
    def program():
        pulumi.runtime.set_all_config({
            "deedbox-drill:config": str(reference_config_path), "deedbox-drill:drillId": "drill-e",
            "deedbox-drill:expiresAt": EXPIRES, "deedbox-drill:bucket": "guild-backups"})
        runpy.run_path(str(repo_root / "infra" / "drill"), run_name="__main__")

    rec = record(program)
    assert rec.of_type("pulumi-python:dynamic/deedbox:ConvexDeployment")
    assert all(r.inputs.get("tags", {}).get(TAG_DRILL, "drill-e") == "drill-e" for r in rec.resources)


def test_under_the_product_recorder(repo_root, reference_config_path, env):
    """``deedbox.plan.engine.record`` (what ``deedbox plan`` uses) runs infra/drill the engine's way:
    the deploy key is a secret stack output, nothing is protected, every resource is tagged."""
    from deedbox.plan.engine import record as engine_record
    from deedbox.plan.graph import SECRET

    graph = engine_record(repo_root / "infra" / "drill", project="deedbox-drill", stack="drill-t", config={
        "deedbox-drill:config": str(reference_config_path), "deedbox-drill:drillId": "drill-t",
        "deedbox-drill:expiresAt": EXPIRES, "deedbox-drill:bucket": "guild-backups"})
    assert graph.outputs["deployKey"] == SECRET
    assert graph.outputs["drillId"] == "drill-t" and graph.outputs["expiresAt"] == EXPIRES
    assert graph.resources and not [r.urn for r in graph if r.protect]
    deployment = graph.of_type("pulumi-python:dynamic/deedbox:ConvexDeployment")[0]
    assert deployment.inputs["tags"] == {TAG_DRILL: "drill-t", TAG_EXPIRES: EXPIRES}
    assert TOKEN not in json.dumps([r.inputs for r in graph], default=str)
