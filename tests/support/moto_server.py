"""moto's S3/KMS/Secrets Manager served over real HTTP, and buckets shaped like the topology's.

``MotoEndpoint`` wraps ``moto.server.ThreadedMotoServer`` on ``127.0.0.1:<free port>``; tests talk
to it with plain boto3 through ``AWS_ENDPOINT_URL`` exactly as deedbox talks to AWS, so the code
under test has no test hooks. ``reset()`` uses moto's documented ``/moto-api/reset``.

``make_backup_bucket`` creates a bucket the way ``deedbox.topology`` declares the backup store:
versioning, object lock with default retention, SSE-KMS with a customer managed key, and all four
public-access-block flags. ``locked=False`` makes a plain unversioned bucket, which tests use to
simulate tampering that object lock would otherwise prevent.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
}


@dataclass
class MotoEndpoint:
    """One running moto server; ``url`` is what ``AWS_ENDPOINT_URL`` is set to."""

    server: ThreadedMotoServer
    url: str

    @classmethod
    def start(cls) -> MotoEndpoint:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return cls(server, f"http://{host}:{port}")

    def stop(self) -> None:
        self.server.stop()

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def client(self, service: str, region: str = "eu-west-1"):
        return boto3.client(
            service, endpoint_url=self.url, region_name=region,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )


def make_backup_bucket(endpoint: MotoEndpoint, name: str, *, region: str = "eu-west-1",
                       locked: bool = True, retention_days: int = 35,
                       mode: str = "GOVERNANCE") -> str:
    """Create ``name`` as the topology declares a backup bucket; returns the bucket name."""
    s3 = endpoint.client("s3", region)
    kw = {"CreateBucketConfiguration": {"LocationConstraint": region}} if region != "us-east-1" else {}
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=locked, **kw)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    if not locked:
        return name
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": mode, "Days": retention_days}}})
    key_id = endpoint.client("kms", region).create_key(Description=f"{name} backups")["KeyMetadata"]["KeyId"]
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_id},
        "BucketKeyEnabled": True}]})
    return name


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[MotoEndpoint]:
    """The session's moto server (started once; cheap to reset)."""
    endpoint = MotoEndpoint.start()
    yield endpoint
    endpoint.stop()


@dataclass
class ProcessEndpoint(MotoEndpoint):
    """moto in a child process: its state is separate from the in-process server's (moto's
    backends are per process, so two ThreadedMotoServers in one process share every bucket)."""

    process: subprocess.Popen | None = None

    @classmethod
    def start(cls) -> ProcessEndpoint:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        exe = Path(sys.executable).with_name("moto_server")
        proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # a cold first import of moto + flask can take a while
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                return cls(None, url, proc)  # type: ignore[arg-type]
            except requests.ConnectionError:
                time.sleep(0.05)
        proc.kill()
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def other_endpoint() -> Iterator[MotoEndpoint]:
    """A second, independent S3 endpoint: "another S3 API" (R2, MinIO) for streaming copies."""
    endpoint = ProcessEndpoint.start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def aws(moto_endpoint: MotoEndpoint, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoEndpoint]:
    """A clean moto with the process environment pointing boto3 at it (as a runner would)."""
    moto_endpoint.reset()
    for key, value in TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint.url)
    for key in ("AWS_PROFILE", "DEEDBOX_BUCKET", "DEEDBOX_STACK_OUTPUT"):
        monkeypatch.delenv(key, raising=False)
    yield moto_endpoint


def subprocess_env(endpoint: MotoEndpoint, **extra: str) -> dict[str, str]:
    """Environment for running the ``deedbox`` CLI as a child process against ``endpoint``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DEEDBOX_"))}
    env.update(TEST_ENV, AWS_ENDPOINT_URL=endpoint.url, **extra)
    return env
