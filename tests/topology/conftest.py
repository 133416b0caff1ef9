"""Run the real ``infra/`` entry point under the recording engine, for the reference config and
variants derived from it by small edits (written as YAML files, loaded by ``deedbox.config.load``
exactly as ``pulumi up`` would)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from deedbox.config import load, yamlread
from deedbox.config.model import Config
from deedbox.plan.engine import record
from deedbox.plan.graph import Graph

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "backup.yaml"


def plan(config_path: Path | str) -> Graph:
    """The graphs of ``infra/`` and ``infra/source/`` for ``config_path`` (absolute, or relative to
    the project root), merged as ``deedbox plan`` shows them."""
    from deedbox.plan.engine import merge

    return merge(record(ROOT / "infra", config={"deedbox:config": str(config_path)}),
                 record(ROOT / "infra" / "source", project="deedbox-source",
                        config={"deedbox-source:config": str(config_path)}))


def _no_replica(d: dict) -> None:
    del d["destination"]["replica"]


def _governance(d: dict) -> None:
    d["destination"]["immutability"]["mode"] = "governance"


def _media_sync_endpoint(d: dict) -> None:
    d["source"]["media"] = {
        "endpoint_url": "https://0123abcd.r2.cloudflarestorage.com", "bucket": "guild-media",
        "access_key_id": {"env": "R2_ACCESS_KEY_ID"}, "secret_access_key": {"env": "R2_SECRET_ACCESS_KEY"},
        "classes": {"images": {"prefix": "uploads/"}, "video": {"prefix": "courses/"}},
    }
    d["backups"]["media"] = {"mode": "sync", "rpo_hours": 24, "schedule": "rate(12 hours)"}


def _media_sync_aws(d: dict) -> None:
    d["backups"]["media"] = {"mode": "sync", "rpo_hours": 24, "schedule": "rate(12 hours)"}


def _no_media(d: dict) -> None:
    del d["source"]["media"]
    del d["backups"]["media"]


def _many_classes(d: dict) -> None:
    d["source"]["media"]["classes"].update({
        "avatars": {"prefix": "avatars/"}, "attachments": {"prefix": "files/"}, "exports": {"prefix": "exports/"},
    })
    d["backups"]["media"]["classes"] = ["images", "avatars", "attachments", "recordings"]


def _trial(d: dict) -> None:
    d["destination"]["protect"] = False
    d["destination"]["immutability"]["mode"] = "governance"


def _bare(d: dict) -> None:
    """No break-glass, no deployer role, environment-scoped runner reusing an OIDC provider."""
    del d["destination"]["break_glass_principal"]
    del d["destination"]["assume_role_arn"]
    d["runner"] = {"kind": "github-actions", "repository": "acme/guild-infra", "environment": "backups",
                   "oidc_provider_arn": "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"}


def _no_runner_no_secrets(d: dict) -> None:
    d["runner"] = {"kind": "none"}
    del d["backups"]["secrets"]


SECRET = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:guild/{}-AbCdEf"
AWS_SECRETS = {"CONVEX_DEPLOY_KEY": SECRET.format("convex-deploy-key"), "SLACK_WEBHOOK_URL": SECRET.format("slack"),
               "CONVEX_TEAM_TOKEN": SECRET.format("convex-team-token"), "CONVEX_PROJECT_ID": SECRET.format("project-id"),
               "PULUMI_CONFIG_PASSPHRASE": SECRET.format("drill-passphrase")}


def _aws_runner(d: dict) -> None:
    """The jobs scheduled in the destination account (EventBridge Scheduler + CodeBuild), weekly drills."""
    d["runner"] = {"kind": "aws", "pip_spec": "deedbox==0.1.0", "pulumi_version": "3.272.0",
                   "secrets": dict(AWS_SECRETS)}
    d["drills"].pop("code_push", None)
    d["drills"]["schedule"] = "cron(0 9 ? * MON *)"


def _daily_drills(d: dict) -> None:
    """Drills often enough for a plain alarm (their window fits in CloudWatch's 7-day look-back)."""
    d["drills"]["schedule"] = "cron(0 3 * * ? *)"


VARIANTS: dict[str, Callable[[dict], None] | None] = {
    "reference": None, "no-replica": _no_replica, "governance": _governance,
    "media-sync-endpoint": _media_sync_endpoint, "media-sync-aws": _media_sync_aws, "no-media": _no_media,
    "many-classes": _many_classes, "trial": _trial, "bare": _bare, "no-runner": _no_runner_no_secrets,
    "aws-runner": _aws_runner, "daily-drills": _daily_drills,
}


def reference_doc() -> dict[str, Any]:
    """The reference document as the config loader reads it (YAML 1.1 ``on:`` stays a string key)."""
    return yamlread.parse(REFERENCE.read_text()).data


def write_variant(directory: Path, name: str, edit: Callable[[dict], None] | None) -> Path:
    if edit is None:
        return REFERENCE
    doc = copy.deepcopy(reference_doc())
    edit(doc)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def variant_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("variants")


@pytest.fixture(scope="session")
def planned(variant_dir) -> Callable[[str], tuple[Config, Graph]]:
    """``planned(name) -> (config, graph)``, each variant planned once per session."""
    cache: dict[str, tuple[Config, Graph]] = {}

    def get(name: str) -> tuple[Config, Graph]:
        if name not in cache:
            path = write_variant(variant_dir, name, VARIANTS[name])
            cache[name] = (load(path), plan(path))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def reference_graph(planned) -> Graph:
    return planned("reference")[1]
