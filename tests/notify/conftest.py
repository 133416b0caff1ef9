"""Notification fixtures: the local Slack receiver, an SNS topic in moto read back through SQS,
and configs whose ``notifications`` block a test chooses. moto runs as the reference config's
destination account, so the topic the topology would declare has the ARN the runner derives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deedbox.config import load
from tests.support.moto_server import MotoEndpoint, make_backup_bucket
from tests.support.slack_receiver import SlackReceiver

DEST_ACCOUNT = "222222222222"  # backup.yaml's destination.account
WEBHOOK_ENV = "SLACK_WEBHOOK_URL"
TOKEN = "T0DEEDBOX/B0DEEDBOX/cAnArYw3bh00kT0k3n"  # the secret part of the webhook URL
TOPIC = "guild-deedbox-notifications"


@pytest.fixture
def dest_aws(aws: MotoEndpoint, monkeypatch: pytest.MonkeyPatch) -> MotoEndpoint:
    """moto answering as the destination account (moto's MOTO_ACCOUNT_ID, read per request)."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", DEST_ACCOUNT)
    return aws


@pytest.fixture
def bucket(dest_aws: MotoEndpoint) -> str:  # overrides ops_fixtures': the bucket in the destination account
    return make_backup_bucket(dest_aws, "guild-backups")


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackReceiver]:
    """The receiver, with $SLACK_WEBHOOK_URL pointing at an active webhook on it."""
    with SlackReceiver() as receiver:
        monkeypatch.setenv(WEBHOOK_ENV, receiver.url(TOKEN))
        yield receiver


@dataclass
class Inbox:
    """An SNS topic with an SQS queue subscribed: what was published, read back."""

    arn: str
    queue_url: str
    endpoint: MotoEndpoint

    def read(self) -> list[dict]:
        sqs = self.endpoint.client("sqs")
        got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]


@pytest.fixture
def inbox(dest_aws: MotoEndpoint) -> Inbox:
    """The topic the topology declares for notifications.email (``topic_name``), in eu-west-1."""
    sns, sqs = dest_aws.client("sns"), dest_aws.client("sqs")
    arn = sns.create_topic(Name=TOPIC)["TopicArn"]
    url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    return Inbox(arn, url, dest_aws)


def write_config(tmp_path: Path, reference: Path, notifications: str | None) -> Path:
    """The reference backup.yaml with its ``notifications`` block replaced (None: removed)."""
    head = reference.read_text().split("\n# Who hears about")[0].split("\nnotifications:")[0]
    path = tmp_path / "backup.yaml"
    path.write_text(head + "\n" + (f"notifications:\n{notifications}" if notifications else ""))
    return path


@pytest.fixture
def make_config(tmp_path: Path, reference_config_path: Path):
    """``make_config("  slack_webhook: {env: X}\\n")`` -> (path, loaded config)."""
    def make(notifications: str | None):
        path = write_config(tmp_path, reference_config_path, notifications)
        return path, load(path)
    return make
