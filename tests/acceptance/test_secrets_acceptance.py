"""Secrets against moto's Secrets Manager over HTTP: push, verify, drift, and no value anywhere."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.acceptance.conftest import REGION, deedbox, make_bucket

KEYS = ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SESSION_SECRET", "CONVEX_DEPLOY_KEY", "RESEND_API_KEY"]
LIVE = ('STRIPE_SECRET_KEY=sk_live_MARKERa1aaaaaaaaaaaaaaaa\n# a comment\n\n'
        'STRIPE_WEBHOOK_SECRET=whsec_MARKERb2bbbbbbbbbbbbbb\n'
        'export SESSION_SECRET="MARKER3 with spaces"\n'
        "CONVEX_DEPLOY_KEY='prod:MARKER4|x=y'\n"
        'RESEND_API_KEY=re_MARKER5\nUNRELATED=MARKER6\n')


@pytest.fixture(scope="module")
def vault(moto_env, s3):
    sm = boto3.client("secretsmanager", endpoint_url=moto_env["AWS_ENDPOINT_URL"], region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    for key in KEYS:
        sm.create_secret(Name=f"deedbox/guild/{key}", AddReplicaRegions=[{"Region": "eu-central-1"}])  # as the topology provisions them, without a value
    bucket = make_bucket(moto_env, s3, "acceptance-secrets")
    return sm, {**moto_env, "DEEDBOX_BUCKET": bucket}, bucket


def no_marker(done) -> bool:
    return "MARKER" not in done.stdout + done.stderr


def test_push_then_verify_then_drift(vault, tmp_path, s3):
    sm, env, bucket = vault
    live = tmp_path / "live.env"
    live.write_text(LIVE)
    push = deedbox(env, "secrets", "push", "--env-file", str(live), "--format", "json")
    assert push.returncode == 0, (push.stdout, push.stderr)
    assert no_marker(push)
    assert sm.get_secret_value(SecretId="deedbox/guild/SESSION_SECRET")["SecretString"] == "MARKER3 with spaces"
    assert sm.get_secret_value(SecretId="deedbox/guild/CONVEX_DEPLOY_KEY")["SecretString"] == "prod:MARKER4|x=y"

    ok = deedbox(env, "secrets", "verify", "--env-file", str(live), "--format", "json")
    assert ok.returncode == 0 and no_marker(ok), ok.stderr
    states = {k["key"]: k["state"] for k in json.loads(ok.stdout)["keys"]}
    assert states == {k: "in-sync" for k in KEYS}

    live.write_text(LIVE.replace("MARKER3 with spaces", "MARKER3 rotated"))
    drift = deedbox(env, "secrets", "verify", "--env-file", str(live), "--format", "json")
    assert drift.returncode == 1 and no_marker(drift)
    states = {k["key"]: k["state"] for k in json.loads(drift.stdout)["keys"]}
    assert states["SESSION_SECRET"] == "drift" and states["STRIPE_SECRET_KEY"] == "in-sync"

    live.write_text(LIVE.replace("RESEND_API_KEY=re_MARKER5\n", ""))
    missing = deedbox(env, "secrets", "verify", "--env-file", str(live), "--format", "json")
    assert missing.returncode == 1
    assert {k["key"]: k["state"] for k in json.loads(missing.stdout)["keys"]}["RESEND_API_KEY"] == "missing-in-env"

    records = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="records/").get("Contents", [])]
    assert records
    for key in records:
        assert b"MARKER" not in s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_push_is_idempotent(vault, tmp_path):
    sm, env, _ = vault
    live = tmp_path / "live.env"
    live.write_text(LIVE)
    deedbox(env, "secrets", "push", "--env-file", str(live))
    before = len(sm.list_secret_version_ids(SecretId="deedbox/guild/STRIPE_SECRET_KEY")["Versions"])
    again = deedbox(env, "secrets", "push", "--env-file", str(live))
    assert again.returncode == 0 and no_marker(again)
    assert len(sm.list_secret_version_ids(SecretId="deedbox/guild/STRIPE_SECRET_KEY")["Versions"]) == before


@pytest.mark.parametrize("sub", ["push", "verify"])
def test_secrets_take_bucket_option(vault, tmp_path, sub):
    _, env, bucket = vault
    live = tmp_path / "live.env"
    live.write_text(LIVE)
    env = {k: v for k, v in env.items() if k != "DEEDBOX_BUCKET"}
    done = deedbox(env, "secrets", sub, "--env-file", str(live), "--bucket", bucket)
    assert done.returncode in (0, 1) and "No such option" not in done.stderr
