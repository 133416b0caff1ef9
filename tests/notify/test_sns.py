"""The SNS channel against moto over HTTP, read back through an SQS subscription, and the topic
the runner derives for notifications.email."""

from __future__ import annotations

from deedbox.notify import Event, derive, probe_event, topic_arn, topic_name
from deedbox.notify.deliver import channels, deliver
from deedbox.notify.slack import SlackWebhook
from deedbox.notify.sns import SnsTopic
from tests.notify.conftest import TOPIC


def test_topic_name_and_the_arn_the_runner_derives(make_config):
    _, cfg = make_config("  email: [oncall@guild.example]\n")
    assert topic_name(cfg) == TOPIC
    assert topic_arn(cfg) == f"arn:aws:sns:eu-west-1:222222222222:{TOPIC}"
    _, explicit = make_config("  email: [a@b.example]\n  sns_topic_arn: arn:aws:sns:us-east-2:333333333333:alerts\n")
    assert topic_arn(explicit) == "arn:aws:sns:us-east-2:333333333333:alerts"
    _, slack_only = make_config("  slack_webhook: {env: SLACK_WEBHOOK_URL}\n")
    assert topic_arn(slack_only) is None
    _, none = make_config(None)
    assert topic_arn(none) is None and channels(none) == []


def test_channels_of_a_config(make_config):
    _, cfg = make_config("  email: [oncall@guild.example]\n  slack_webhook: {env: HOOK}\n")
    slack, sns = channels(cfg, {"HOOK": "https://hooks.slack.com/services/T/B/X"})
    assert isinstance(slack, SlackWebhook) and slack.target == "slack webhook ($HOOK)"
    assert isinstance(sns, SnsTopic) and sns.label == f"sns arn:aws:sns:eu-west-1:222222222222:{TOPIC}"


def test_published_to_the_derived_topic(inbox, make_config):
    _, cfg = make_config("  email: [oncall@guild.example]\n")
    event = derive("verify", 1, {"snapshot": "backend/d/20261127T000000Z-manual/", "bucket": "b", "mode": "structure",
                                 "ok": False, "problems": ["snapshot.zip: size 10, manifest says 11"]}, None)
    (sent,) = deliver(event, cfg, channels(cfg))
    assert sent.ok and sent.outcome.message_id
    (got,) = inbox.read()
    assert got["TopicArn"] == inbox.arn == topic_arn(cfg)
    assert got["Subject"] == "deedbox guild: snapshot failed verification (structure)"
    assert got["MessageId"] == sent.outcome.message_id
    assert "Evidence:    s3://b/backend/d/20261127T000000Z-manual/manifest.json\n" in got["Message"]
    assert "  - snapshot.zip: size 10, manifest says 11\n" in got["Message"]


def test_a_long_title_is_published_with_a_valid_subject(inbox, config):
    event = Event("status", "stale", "backups STALE: " + ", ".join(["backend"] * 30), 1)
    outcome = SnsTopic(inbox.arn).send(event, config)
    assert outcome.ok
    (got,) = inbox.read()
    assert len(got["Subject"]) == 99 and "\n" not in got["Subject"]


def test_a_missing_topic_is_a_reason_not_an_exception(dest_aws, config):
    arn = f"arn:aws:sns:eu-west-1:222222222222:{TOPIC}"
    outcome = SnsTopic(arn).send(probe_event(), config)
    assert not outcome.ok
    assert outcome.reason.startswith("NotFound: ")
