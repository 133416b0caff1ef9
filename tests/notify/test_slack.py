"""The Slack channel against the local receiver (Slack's documented answers), and the webhook
URL's secrecy: never in a reason, a repr, a log record, however the receiver answers."""

from __future__ import annotations

import logging
import socket

import pytest

from deedbox.notify import probe_event
from deedbox.notify.events import derive
from deedbox.notify.slack import MAX_RETRY_AFTER, SlackWebhook
from tests.notify.conftest import TOKEN, WEBHOOK_ENV

SECRET = TOKEN.rsplit("/", 1)[-1]


def _hook(url: str | None, waits: list[float] | None = None) -> SlackWebhook:
    return SlackWebhook(WEBHOOK_ENV, url, sleep=(waits.append if waits is not None else lambda s: None))


def test_a_message_is_posted_and_accepted(slack, config):
    event = derive("status", 2, None, "no bucket: set --bucket")
    outcome = _hook(slack.url(TOKEN)).send(event, config)
    assert outcome.ok and outcome.reason == ""
    (message,) = slack.messages
    assert message["text"].startswith("deedbox guild: status could not run")
    assert message["blocks"][1]["fields"][2]["text"] == "*Failed step*\nstatus"
    assert slack.requests == [(f"/services/{TOKEN}", "200 ok")]


@pytest.mark.parametrize("state, reason", [
    ("revoked", "HTTP 403 invalid_token"), ("archived", "HTTP 410 channel_is_archived"),
    ("prohibited", "HTTP 403 action_prohibited"),
])
def test_refusals_are_not_retried(slack, config, state, reason):
    outcome = _hook(slack.url(TOKEN, state=state)).send(probe_event(), config)
    assert (outcome.ok, outcome.reason) == (False, reason)
    assert len(slack.requests) == 1


def test_an_unknown_webhook_is_no_service(slack, config):
    url = slack.url(TOKEN).replace(SECRET, "NoSuchHookAtAll00")
    assert _hook(url).send(probe_event(), config).reason == "HTTP 404 no_service"


def test_a_body_slack_cannot_read_is_invalid_payload(slack):
    assert _hook(slack.url(TOKEN)).post({"blocks": "not a list", "text": "x"}).reason == "HTTP 400 invalid_blocks"
    assert _hook(slack.url(TOKEN)).post({"username": "deedbox"}).reason == "HTTP 400 no_text"
    assert slack.messages == []


def test_a_5xx_is_retried_once(slack, config):
    waits: list[float] = []
    slack.answer_next(500, "rollup_error")
    assert _hook(slack.url(TOKEN), waits).send(probe_event(), config).ok
    assert waits == [1.0] and len(slack.messages) == 1
    slack.answer_next(500, "rollup_error")
    slack.answer_next(503, "")
    outcome = _hook(slack.url(TOKEN), waits).send(probe_event(), config)
    assert (outcome.ok, outcome.reason) == (False, "HTTP 503")
    assert len(slack.requests) == 4


def test_429_retry_after_is_honoured_briefly(slack, config):
    waits: list[float] = []
    slack.answer_next(429, "rate_limited", Retry_After="3")
    assert _hook(slack.url(TOKEN), waits).send(probe_event(), config).ok
    assert waits == [3.0]
    slack.answer_next(429, "rate_limited", Retry_After=str(int(MAX_RETRY_AFTER) + 20))
    outcome = _hook(slack.url(TOKEN), waits).send(probe_event(), config)
    assert outcome.reason == "HTTP 429 rate_limited (Retry-After 30: not waited for)"
    assert waits == [3.0] and len(slack.requests) == 3


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/{TOKEN}"


def test_connection_refused_is_retried_then_reported(config):
    waits: list[float] = []
    outcome = _hook(_closed_port_url(), waits).send(probe_event(), config)
    assert (outcome.ok, outcome.reason, waits) == (False, "connection failed", [1.0])


@pytest.mark.parametrize("value, reason", [
    (None, "environment variable SLACK_WEBHOOK_URL is not set"), ("   ", "environment variable SLACK_WEBHOOK_URL is not set"),
    (f"hooks.slack.com/services/{TOKEN}", "$SLACK_WEBHOOK_URL is not an http(s) URL"),
])
def test_an_unusable_variable_is_a_reason(config, value, reason):
    assert _hook(value).send(probe_event(), config).reason == reason


@pytest.mark.parametrize("scenario", ["404", "500", "refused", "echo"])
def test_the_webhook_url_is_never_shown(slack, config, caplog, scenario):
    """Every outcome, repr and log record (urllib3 at DEBUG included) is free of the URL's secret."""
    caplog.set_level(logging.DEBUG)
    url = slack.url(TOKEN)
    if scenario == "404":
        url = url.replace("B0DEEDBOX", "B0UNKNOWN")
    elif scenario == "500":
        slack.answer_next(500, "rollup_error")
        slack.answer_next(500, "rollup_error")
    elif scenario == "refused":
        url = _closed_port_url()
    else:  # a proxy that quotes the request back
        slack.answer_next(400, f"{TOKEN} refused; request was {url}")
    hook = _hook(url)
    outcome = hook.send(probe_event(), config)
    assert not outcome.ok
    shown = [outcome.reason, repr(hook), repr(outcome), hook.target, caplog.text]
    assert not [text for text in shown if SECRET[:8] in text or SECRET[-8:] in text]
    assert "urllib3" in caplog.text or scenario == "refused"  # the records were there, redacted
    assert not logging.getLogger("urllib3.connectionpool").filters  # and the redaction removed after
