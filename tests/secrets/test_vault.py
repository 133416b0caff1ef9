"""secrets push/verify against moto Secrets Manager over HTTP; .env parsing; values never shown."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deedbox.bucket.client import BucketClient
from deedbox.bucket.records import newest_record
from deedbox.cli import app
from deedbox.errors import UsageError
from deedbox.secrets.dotenv import parse_env
from tests.support.canary import SECRET as CANARY

KEYS = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SESSION_SECRET", "CONVEX_DEPLOY_KEY", "RESEND_API_KEY"]


def test_parse_env_forms():
    text = (
        "# comment\n\n"
        "export A=plain value  # trailing comment\n"
        "B='single # not a comment \\n'\n"
        'C="double\\nline \\"q\\" \\\\ x"\n'
        "D=a=b=c\n"
        'PEM="-----BEGIN KEY-----\nabc\n-----END KEY-----"\n'
        "E=\n"
        "A=second wins\n"
    )
    assert parse_env(text) == {
        "A": "second wins", "B": "single # not a comment \\n", "C": 'double\nline "q" \\ x',
        "D": "a=b=c", "PEM": "-----BEGIN KEY-----\nabc\n-----END KEY-----", "E": ""}


@pytest.mark.parametrize("text,where", [("JUST_A_WORD\n", ":1:"), ("X='open\n", ":1:"),
                                        ("OK=1\nY=\"v\" junk\n", ":2:")])
def test_parse_env_errors_name_the_line_not_the_value(text, where):
    with pytest.raises(UsageError) as err:
        parse_env(text, source="f.env")
    assert where in str(err.value) and "junk" not in str(err.value) and "open" not in str(err.value)


@pytest.fixture
def vault(aws):
    sm = aws.client("secretsmanager")
    kms = aws.client("kms").create_key()["KeyMetadata"]["KeyId"]
    for key in KEYS:  # as the topology provisions them: CMK, no value yet
        sm.create_secret(Name=f"deedbox/guild/{key}", KmsKeyId=kms, AddReplicaRegions=[{"Region": "eu-central-1"}])
    return sm


def _env_file(tmp_path, **values):
    path = tmp_path / "live.env"
    path.write_text("".join(f'{k}="{v}"\n' for k, v in values.items()))
    return path


def _run(*args):
    res = CliRunner().invoke(app, list(args))
    assert CANARY not in res.output and CANARY not in (res.stderr or "")
    return res


def test_push_then_verify_then_rotation(vault, bucket, tmp_path, reference_config_path, monkeypatch):
    monkeypatch.setenv("DEEDBOX_BUCKET", bucket)
    values = {k: f"value-of-{k}" for k in KEYS} | {"STRIPE_SECRET_KEY": CANARY}
    env = _env_file(tmp_path, **values)
    cfg = ["--config", str(reference_config_path), "--env-file", str(env), "--format", "json"]

    res = _run("secrets", "verify", *cfg)
    assert res.exit_code == 1
    assert {k["state"] for k in json.loads(res.stdout)["keys"]} == {"missing-in-vault"}

    res = _run("secrets", "push", *cfg)
    assert res.exit_code == 0, res.output
    assert {k["action"] for k in json.loads(res.stdout)["keys"]} == {"pushed"}
    assert vault.get_secret_value(SecretId="deedbox/guild/STRIPE_SECRET_KEY")["SecretString"] == CANARY

    res = _run("secrets", "push", *cfg)  # nothing changed: no new versions
    assert {k["action"] for k in json.loads(res.stdout)["keys"]} == {"unchanged"}
    versions = vault.list_secret_version_ids(SecretId="deedbox/guild/SESSION_SECRET")["Versions"]
    assert len(versions) == 1

    res = _run("secrets", "verify", *cfg)
    assert res.exit_code == 0 and json.loads(res.stdout)["recorded"].startswith("records/secrets-verify/")

    # rotation in the live env that was not pushed: drift; a key dropped from the env: missing
    values["SESSION_SECRET"] = "rotated"
    del values["RESEND_API_KEY"]
    env = _env_file(tmp_path, **values)
    res = _run("secrets", "verify", *cfg[:-4], "--env-file", str(env), "--format", "text")
    assert res.exit_code == 1
    assert "SESSION_SECRET" in res.stdout and "drift" in res.stdout and "missing-in-env" in res.stdout
    assert "rotated" not in res.stdout

    moment, record = newest_record(BucketClient(bucket), "secrets-verify")
    assert record["ok"] is False and record["keys"]["SESSION_SECRET"] == "drift"
    assert CANARY not in json.dumps(record)


def test_unprovisioned_secret_is_not_created(aws, tmp_path, reference_config_path):
    env = _env_file(tmp_path, STRIPE_SECRET_KEY=CANARY)
    res = _run("secrets", "push", "--config", str(reference_config_path), "--env-file", str(env),
               "--format", "json")
    assert res.exit_code == 1
    states = {k["key"]: k["state"] for k in json.loads(res.stdout)["keys"]}
    assert states["STRIPE_SECRET_KEY"] == "not-provisioned" and states["SESSION_SECRET"] == "missing-in-env"
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


def test_verify_fails_when_a_secret_has_no_replica(vault, bucket, tmp_path, reference_config_path, monkeypatch):
    """The vault replicates to the replica region; a secret whose replica is missing (or failed) is
    a finding even when its value matches: a regional outage would lose it."""
    monkeypatch.setenv("DEEDBOX_BUCKET", bucket)
    values = {k: f"value-of-{k}" for k in KEYS}
    env = _env_file(tmp_path, **values)
    cfg = ["--config", str(reference_config_path), "--env-file", str(env), "--format", "json"]
    assert _run("secrets", "push", *cfg).exit_code == 0
    res = _run("secrets", "verify", *cfg)
    assert res.exit_code == 0 and all(k["replicas"] == {"eu-central-1": "InSync"} for k in json.loads(res.stdout)["keys"])
    vault.remove_regions_from_replication(SecretId=f"deedbox/guild/{KEYS[0]}", RemoveReplicaRegions=["eu-central-1"])
    res = _run("secrets", "verify", *cfg)
    assert res.exit_code == 1
    states = {k["key"]: k["replicas"] for k in json.loads(res.stdout)["keys"]}
    assert states[KEYS[0]] == {"eu-central-1": "missing"} and states[KEYS[1]] == {"eu-central-1": "InSync"}
    text = _run("secrets", "verify", *cfg[:-2])
    assert "replica eu-central-1: missing" in text.stdout and "value-of-" not in text.stdout
