"""Shared fixtures of the acceptance suite: a moto server over real HTTP and the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.acceptance._graph import REPO

DEEDBOX = str(Path(sys.executable).parent / "deedbox")  # the running environment's console script
REGION = "eu-west-1"

def clean_env() -> dict[str, str]:
    """The caller's environment without AWS/deedbox/Convex settings that could reach a real cloud."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DEEDBOX_", "CONVEX_", "PULUMI_"))}

@pytest.fixture(scope="module")
def moto_env():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto's backends are per process: this server shares them with the session's in-process one
    # (tests/support/moto_server.py), so a secret an earlier module of this worker created would
    # still exist here. moto's documented reset starts the module from an empty account.
    requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10).raise_for_status()
    env = clean_env()
    env.update(AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    yield env
    server.stop()

@pytest.fixture(scope="module")
def s3(moto_env):
    return boto3.client("s3", endpoint_url=moto_env["AWS_ENDPOINT_URL"], region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")

def make_bucket(moto_env, s3, name: str) -> str:
    kms = boto3.client("kms", endpoint_url=moto_env["AWS_ENDPOINT_URL"], region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    key = kms.create_key(Description="acceptance backup key")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key)
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
        "BucketKeyEnabled": True}]})
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    return name

def deedbox(env, *args: str, timeout: int = 60, cwd=REPO) -> subprocess.CompletedProcess:
    """Run the console script; no run of it may ever print a traceback."""
    done = subprocess.run([DEEDBOX, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


@cache
def help_text(sub: tuple[str, ...]) -> tuple[int, str]:
    """``deedbox <sub> --help`` (exit code, stdout), once per session: each start costs ~0.5 s."""
    done = subprocess.run([DEEDBOX, *sub, "--help"], env={**clean_env(), "COLUMNS": "200"}, capture_output=True,
                          text=True, cwd=REPO)
    return done.returncode, done.stdout


def prefetch_help(subs) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(help_text, set(subs)))
