"""Secrets from and into Convex deployments: push/verify --from convex, secrets restore, restore points.

The deployments are the Convex test server (the env-var routes follow the real handler: rule
``env-vars`` in tests/support/convex_rules.py); the vault is moto's Secrets Manager over HTTP.
No canary value may reach any output (the autouse fixture also scans logs and temp files).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.config import load
from deedbox.secrets.restore import FROM_CURRENT_FALLBACK, FROM_POINT, SET, UNCHANGED, plan_restore
from deedbox.secrets.vault import Vault
from tests.support.canary import DEPLOY_KEY
from tests.support.canary import SECRET as CANARY
from tests.support.convex_server import ConvexTestServer

CONVEX_KEYS = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SESSION_SECRET", "RESEND_API_KEY"]
KEYS = CONVEX_KEYS + ["CONVEX_DEPLOY_KEY"]  # lives_in: external in the reference config
DRILL_KEY = "drill-otter-9|drill-admin-key-value"


@pytest.fixture
def vault(aws):
    sm = aws.client("secretsmanager")
    kms = aws.client("kms").create_key()["KeyMetadata"]["KeyId"]
    for key in KEYS:
        sm.create_secret(Name=f"deedbox/guild/{key}", KmsKeyId=kms, AddReplicaRegions=[{"Region": "eu-central-1"}])
    return sm


@pytest.fixture
def prod(monkeypatch):
    monkeypatch.setenv("CONVEX_DEPLOY_KEY", DEPLOY_KEY)
    with ConvexTestServer(admin_key=DEPLOY_KEY) as srv:
        srv.deployment.env = {k: f"live-{k}" for k in CONVEX_KEYS} | {"STRIPE_SECRET_KEY": CANARY, "OTHER": "x"}
        yield srv


@pytest.fixture
def drill_dep(monkeypatch):
    monkeypatch.setenv("DRILL_ADMIN_KEY", DRILL_KEY)
    with ConvexTestServer(admin_key=DRILL_KEY) as srv:
        yield srv


@pytest.fixture
def cfg_path(tmp_path, reference_config_path, prod):
    path = tmp_path / "backup.yaml"
    path.write_text(reference_config_path.read_text().replace("https://happy-otter-123.convex.cloud", prod.url))
    return path


def _run(*args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    for secret in (CANARY, DEPLOY_KEY, DRILL_KEY):
        assert secret not in res.output and secret not in (res.stderr or "")
    assert "Traceback" not in res.output
    return res


def _states(res):
    return {k["key"]: k["state"] for k in json.loads(res.stdout)["keys"]}


def test_push_and_verify_from_convex(vault, prod, cfg_path, bucket, monkeypatch):
    monkeypatch.setenv("DEEDBOX_BUCKET", bucket)
    base = ["--config", cfg_path, "--from", "convex", "--format", "json"]
    res = _run("secrets", "push", *base)
    assert res.exit_code == 0, res.output
    assert _states(res) == {k: "in-sync" for k in CONVEX_KEYS} | {"CONVEX_DEPLOY_KEY": "not-checked"}
    assert vault.get_secret_value(SecretId="deedbox/guild/STRIPE_SECRET_KEY")["SecretString"] == CANARY
    assert "/api/list_environment_variables" in prod.paths()

    assert _run("secrets", "verify", *base).exit_code == 0
    prod.deployment.env = dict(prod.deployment.env, SESSION_SECRET="rotated-in-convex")
    del prod.deployment.env["RESEND_API_KEY"]
    res = _run("secrets", "verify", *base[:-2])
    assert res.exit_code == 1
    assert "SESSION_SECRET" in res.stdout and "drift" in res.stdout and "missing-in-env" in res.stdout
    assert "not checked (lives_in: external; pass --env-file): CONVEX_DEPLOY_KEY" in res.stdout
    assert "rotated-in-convex" not in res.stdout


def test_external_keys_come_from_the_env_file(vault, prod, cfg_path, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("DEEDBOX_BUCKET", bucket)
    env = tmp_path / "ci.env"
    env.write_text('CONVEX_DEPLOY_KEY="from-ci"\nSTRIPE_SECRET_KEY="ignored: lives in convex"\n')
    res = _run("secrets", "push", "--config", cfg_path, "--from", "convex", "--env-file", env, "--format", "json")
    assert res.exit_code == 0 and set(_states(res).values()) == {"in-sync"}
    sm = vault
    assert sm.get_secret_value(SecretId="deedbox/guild/CONVEX_DEPLOY_KEY")["SecretString"] == "from-ci"
    assert sm.get_secret_value(SecretId="deedbox/guild/STRIPE_SECRET_KEY")["SecretString"] == CANARY
    assert json.loads(res.stdout)["sources"] == ["convex", "env-file"]


def test_no_source_is_a_usage_error(vault, cfg_path):
    res = _run("secrets", "verify", "--config", cfg_path)
    assert res.exit_code == 2 and "--from convex, --env-file PATH, or both" in res.output


def test_restore_into_a_deployment_dry_run_then_yes(vault, prod, drill_dep, cfg_path, bucket, monkeypatch):
    monkeypatch.setenv("DEEDBOX_BUCKET", bucket)
    assert _run("secrets", "push", "--config", cfg_path, "--from", "convex").exit_code == 0
    drill_dep.deployment.env = {"SESSION_SECRET": "live-SESSION_SECRET", "KEEP_ME": "1"}
    base = ["secrets", "restore", "--config", cfg_path, "--to", drill_dep.url, "--key-env", "DRILL_ADMIN_KEY"]

    res = _run(*base, "--format", "json")
    assert res.exit_code == 0, res.output
    states = _states(res)
    assert states == {"STRIPE_SECRET_KEY": SET, "STRIPE_WEBHOOK_SECRET": SET, "SESSION_SECRET": UNCHANGED,
                      "RESEND_API_KEY": SET, "CONVEX_DEPLOY_KEY": "external"}
    assert drill_dep.deployment.env == {"SESSION_SECRET": "live-SESSION_SECRET", "KEEP_ME": "1"}  # dry run
    assert "would set" in _run(*base).stdout

    res = _run(*base, "--yes", "--format", "json")
    assert res.exit_code == 0, res.output
    assert drill_dep.deployment.env == {k: prod.deployment.env[k] for k in CONVEX_KEYS} | {"KEEP_ME": "1"}
    assert "CONVEX_DEPLOY_KEY" not in drill_dep.deployment.env
    assert {k["key"]: k["matches"] for k in json.loads(res.stdout)["keys"] if k["state"] != "external"} == \
        dict.fromkeys(CONVEX_KEYS, True)
    text = _run(*base, "--yes").stdout
    assert "fingerprint matches" in text and CANARY not in text

    res = _run(*base, "--keys", "NOT_A_KEY")
    assert res.exit_code == 2 and "NOT_A_KEY not in backups.secrets.keys" in res.output


def test_restore_uses_the_restore_point_version_and_says_when_it_is_gone(vault, prod, cfg_path, drill_dep):
    cfg = load(cfg_path)
    sm = vault
    name = "deedbox/guild/SESSION_SECRET"
    old = sm.put_secret_value(SecretId=name, SecretString="at-snapshot-time")["VersionId"]
    sm.put_secret_value(SecretId=name, SecretString="rotated-later")
    sm.put_secret_value(SecretId="deedbox/guild/STRIPE_SECRET_KEY", SecretString=CANARY)
    items = {i.key: i for i in plan_restore(cfg, Vault(cfg), {}, keys=["SESSION_SECRET", "STRIPE_SECRET_KEY"],
                                            versions={"SESSION_SECRET": old, "STRIPE_SECRET_KEY": "0" * 32})}
    assert items["SESSION_SECRET"].source == FROM_POINT and items["SESSION_SECRET"].version_id == old
    assert items["SESSION_SECRET"].value == "at-snapshot-time"
    assert items["STRIPE_SECRET_KEY"].source == FROM_CURRENT_FALLBACK and items["STRIPE_SECRET_KEY"].value == CANARY
    assert CANARY not in repr(items) and CANARY not in json.dumps([i.to_dict() for i in items.values()])


def test_export_records_the_restore_point_without_values(vault, cfg_path, bucket, small_zip, aws):
    sm = vault
    version = sm.put_secret_value(SecretId="deedbox/guild/STRIPE_SECRET_KEY", SecretString=CANARY)["VersionId"]
    res = _run("export", "--config", cfg_path, "--bucket", bucket, "--from-zip", small_zip, "--format", "json")
    assert res.exit_code == 0, res.output
    manifest_key = json.loads(res.stdout)["manifest"]
    raw = aws.client("s3").get_object(Bucket=bucket, Key=manifest_key)["Body"].read().decode()
    assert CANARY not in raw
    point = json.loads(raw)["restore_point"]
    rows = {r["key"]: r for r in point["secrets"]}
    assert rows["STRIPE_SECRET_KEY"]["version_id"] == version
    assert rows["SESSION_SECRET"]["version_id"] is None  # provisioned, never written
    assert rows["CONVEX_DEPLOY_KEY"]["lives_in"] == "external"
    assert point["media"] is None  # no media record yet
