"""The PR and deploy workflows are valid GitHub workflows and do what the pipeline promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = ("pr.yml", "deploy.yml")


def _check_jsonschema() -> str:
    found = Path(sys.executable).with_name("check-jsonschema")
    return str(found) if found.exists() else (shutil.which("check-jsonschema") or pytest.fail("check-jsonschema missing"))


def test_workflows_match_the_vendored_github_schema(repo_root):
    files = [str(repo_root / ".github" / "workflows" / w) for w in WORKFLOWS]
    result = subprocess.run([_check_jsonschema(), "--builtin-schema", "vendor.github-workflows", *files],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _steps(repo_root: Path, name: str) -> list[dict]:
    doc = yaml.safe_load((repo_root / ".github" / "workflows" / name).read_text())
    return [s for job in doc["jobs"].values() for s in job["steps"]]


def test_pr_workflow_validates_plans_comments_and_fails(repo_root):
    doc = yaml.safe_load((repo_root / ".github" / "workflows" / "pr.yml").read_text())
    assert "backup.yaml" in doc[True]["pull_request"]["paths"]  # PyYAML reads `on:` as True
    runs = " ".join(s.get("run", "") for s in _steps(repo_root, "pr.yml"))
    assert "deedbox validate --config backup.yaml --format github" in runs
    assert 'deedbox plan --config backup.yaml --base "origin/${{ github.base_ref }}" --format markdown' in runs
    assert any(s.get("uses", "").startswith("marocchino/sticky-pull-request-comment") for s in _steps(repo_root, "pr.yml"))
    assert "exit 1" in runs


def test_deploy_workflow_previews_then_applies_with_the_pack(repo_root):
    steps = yaml.safe_load((repo_root / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]["backup"]["steps"]
    pulumi = [s for s in steps if s.get("uses", "").startswith("pulumi/actions")]
    assert [s["with"]["command"] for s in pulumi] == ["preview", "up"]
    assert all(s["with"]["policyPacks"] == "policies/" for s in pulumi)
    aws = [i for i, s in enumerate(steps) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
    assert aws and aws[0] < steps.index(pulumi[0])
    doc = yaml.safe_load((repo_root / ".github" / "workflows" / "deploy.yml").read_text())
    assert doc["permissions"]["id-token"] == "write"


def test_deploy_workflow_uses_one_credential_per_program(repo_root):
    """The backup stack with the destination account's deployer, the source program with the
    platform's, in separate jobs: no job holds both."""
    jobs = yaml.safe_load((repo_root / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]
    roles = {name: [s["with"]["role-to-assume"] for s in job["steps"]
                    if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
             for name, job in jobs.items()}
    assert roles == {"backup": ["${{ vars.DEEDBOX_DEPLOY_ROLE_ARN }}"],
                     "source": ["${{ vars.DEEDBOX_SOURCE_DEPLOY_ROLE_ARN }}"]}
    source = jobs["source"]
    assert source["needs"] == "backup"
    (up,) = [s for s in source["steps"] if s.get("uses", "").startswith("pulumi/actions")]
    assert up["with"]["work-dir"] == "infra/source" and up["with"]["policyPacks"].endswith("/policies")
