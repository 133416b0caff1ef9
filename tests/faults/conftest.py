"""Fixtures of the fault suite: a fault proxy in front of moto, compressed retry sleeps, the CLI.

``s3_proxy``: a ``FaultProxy`` forwarding to the session's moto; ``AWS_ENDPOINT_URL`` points at
it, so every boto3 client deedbox makes goes through it (setup and assertions use ``aws.client``,
which talks to moto directly and is never faulted).

``fast_retries`` (autouse): the *number* of retries and which errors are retried stay exactly
botocore's and deedbox's; only the sleeps between them are scaled by ``SCALE`` (deedbox exposes no
backoff setting on the CLI path: ``make_s3_client`` fixes ``max_attempts`` and botocore's
standard backoff is up to 1 s x 2**i for SlowDown; ``ConvexClient.from_env`` uses
``backoff=0.5``). The unscaled delays are recorded in ``fast_retries.s3`` / ``.convex``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.snapshots import StoredFile, Table, build_snapshot, documents, make_id

SCALE = 0.005
MiB = 1024 * 1024


@dataclass
class Sleeps:
    s3: list[float] = field(default_factory=list)
    convex: list[float] = field(default_factory=list)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch) -> Sleeps:
    import time

    from botocore.retries import standard

    from deedbox.backend import export as export_mod
    from deedbox.convex.transport import Transport

    sleeps = Sleeps()
    real = standard.ExponentialBackoff.delay_amount

    def s3_delay(self, context):
        delay = real(self, context)
        sleeps.s3.append(delay)
        return delay * SCALE

    def convex_sleep(self, attempt, method, path):
        delay = self.backoff * (2 ** attempt)
        sleeps.convex.append(delay)
        time.sleep(delay * SCALE)

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", s3_delay)
    monkeypatch.setattr(Transport, "_sleep", convex_sleep)
    monkeypatch.setattr(export_mod, "LIVE_EXPORT_POLL_S", 0.01)
    return sleeps


@pytest.fixture
def s3_proxy(aws, monkeypatch) -> Iterator[FaultProxy]:
    with FaultProxy(aws.url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield proxy


@pytest.fixture
def s3(aws):
    """A client straight to moto (never faulted): for setup and for looking at the outcome."""
    return aws.client("s3")


# ---- data -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def big_zip(tmp_path_factory) -> Path:
    """A snapshot ZIP of ~8.5 MiB (a stored file of random bytes): a two-part multipart upload (8 MiB parts)."""
    import random

    path = tmp_path_factory.mktemp("big") / "big.zip"
    blob = random.Random(5).randbytes(int(8.5 * MiB))
    build_snapshot(str(path), [Table("users", 10001, documents(10001, 3)),
                               Table("posts", 10002, documents(10002, 20))],
                   files=[StoredFile(make_id(9, bytes(range(16))), blob)])
    assert path.stat().st_size > 8 * MiB
    return path
