"""policies/ is a valid pack: its entry point only assembles POLICIES (never run for real here,
because constructing a PolicyPack starts the analyzer server and blocks)."""

from __future__ import annotations

import ast
import runpy

import pulumi_policy
import yaml

from deedbox.policy import POLICIES, RULES


def test_entry_point_only_builds_the_pack(repo_root):
    tree = ast.parse((repo_root / "policies" / "__main__.py").read_text())
    calls = [n for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert len(calls) == 1 and calls[0].value.func.id == "PolicyPack"
    assert not [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def test_entry_point_passes_every_policy(repo_root, monkeypatch):
    built = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kw: built.update(kw))
    runpy.run_path(str(repo_root / "policies" / "__main__.py"), run_name="__main__")
    assert built["name"] == "deedbox" and built["policies"] is POLICIES
    assert [p.name for p in built["policies"]] == [r.id for r in RULES]


def test_pack_metadata(repo_root):
    meta = yaml.safe_load((repo_root / "policies" / "PulumiPolicy.yaml").read_text())
    assert meta["runtime"]["name"] == "python" and meta["version"] and meta["description"]
    # the pack imports deedbox: it must run in the project's virtualenv, not whatever is on PATH
    venv = (repo_root / "policies" / meta["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (repo_root / ".venv").resolve()
    requirements = (repo_root / "policies" / "requirements.txt").read_text().split()
    assert any(r.startswith("pulumi-policy") for r in requirements) and ".." in requirements


def test_policies_carry_levels_severities_and_thresholds():
    by_name = {p.name: p for p in POLICIES}
    lock = by_name["s3-object-lock"]
    assert lock.enforcement_level == pulumi_policy.EnforcementLevel.MANDATORY
    assert lock.config_schema.properties["minRetentionDays"]["default"] == 30
    assert by_name["production-protected"].enforcement_level == pulumi_policy.EnforcementLevel.ADVISORY
    assert isinstance(by_name["secrets-cmk"], pulumi_policy.ResourceValidationPolicy)
    assert isinstance(by_name["s3-versioning"], pulumi_policy.StackValidationPolicy)
