"""The fault proxy itself: S3-shaped errors botocore understands, rules bounded in count and time."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from deedbox.bucket.client import make_s3_client


@pytest.fixture
def client(aws, s3_proxy, s3):
    s3.create_bucket(Bucket="probe-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="probe-bucket", Key="k", Body=b"0123456789")
    return make_s3_client("eu-west-1")  # deedbox's client config, through the proxy


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError")])
def test_errors_are_s3_shaped_and_retried_six_times(status, code, client, s3_proxy, fast_retries):
    s3_proxy.inject("status", method="GET", path="^/probe-bucket/k$", status=status, times=None)
    with pytest.raises(ClientError) as err:
        client.get_object(Bucket="probe-bucket", Key="k")
    assert err.value.response["Error"]["Code"] == code
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 5  # max_attempts 5 = 5 retries
    assert [e.action for e in s3_proxy.events(path="^/probe-bucket/k$")] == [f"status {status}"] * 6
    # botocore's standard backoff: base 1 s for a throttling code (SlowDown), 50 ms otherwise
    assert max(fast_retries.s3) <= (16 if code == "SlowDown" else 0.8)


def test_rules_are_bounded_by_skip_times_and_seconds(client, s3_proxy):
    s3_proxy.inject("status", method="GET", path="^/probe-bucket/k$", status=500, skip=1, times=1)
    assert client.get_object(Bucket="probe-bucket", Key="k")["ResponseMetadata"]["RetryAttempts"] == 0  # skipped
    assert client.get_object(Bucket="probe-bucket", Key="k")["ResponseMetadata"]["RetryAttempts"] == 1
    assert client.get_object(Bucket="probe-bucket", Key="k")["ResponseMetadata"]["RetryAttempts"] == 0  # spent
    s3_proxy.inject("reset", method="HEAD", seconds=0.2, times=None)
    time.sleep(0.3)
    assert client.head_object(Bucket="probe-bucket", Key="k")["ResponseMetadata"]["RetryAttempts"] == 0  # expired
    assert [e.action for e in s3_proxy.injected()] == ["status 500"]


def test_a_truncated_body_keeps_the_full_content_length(client, s3_proxy):
    s3_proxy.inject("truncate", method="GET", path="^/probe-bucket/k$", keep=3)
    resp = client.get_object(Bucket="probe-bucket", Key="k")
    assert resp["ContentLength"] == 10
    with pytest.raises(BotoCoreError, match=r"IncompleteRead\(3 bytes read, 7 more expected\)"):
        resp["Body"].read()  # read() (not `with body as raw`): botocore checks the length
