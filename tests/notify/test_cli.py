"""``deedbox notify test`` and ``deedbox --notify <operation>`` through the CLI (typer), against
moto over HTTP (the bucket, the SNS topic read back through SQS) and the local Slack receiver."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from deedbox.cli import app
from deedbox.commands.output import capture, emit
from tests.notify.conftest import TOKEN, TOPIC, WEBHOOK_ENV

SECRET = TOKEN.rsplit("/", 1)[-1]
SLACK_AND_EMAIL = "  email: [oncall@guild.example]\n  slack_webhook: {env: SLACK_WEBHOOK_URL}\n"
EVERYTHING = SLACK_AND_EMAIL + "  on: [failure, stale, success]\n"
ARN = f"arn:aws:sns:eu-west-1:222222222222:{TOPIC}"


def invoke(*args: str, **env: str):
    result = CliRunner().invoke(app, list(args), env=env or None)
    for text in (result.stdout, result.stderr):
        assert SECRET[:8] not in text and "Traceback" not in text
    return result


def _texts(message: dict) -> str:
    return json.dumps(message["blocks"])


# ------------------------------------------------------------------------------- notify test

def test_notify_test_sends_to_every_channel(slack, inbox, make_config):
    path, _ = make_config(SLACK_AND_EMAIL)
    res = invoke("notify", "test", "--config", str(path))
    assert res.exit_code == 0, res.output
    slack_line, sns_line = res.stdout.splitlines()
    assert slack_line == "slack: sent"
    assert sns_line.startswith(f"sns {ARN}: sent (MessageId ") and sns_line.endswith(")")
    (message,) = slack.messages
    assert message["text"] == ("deedbox guild: test notification; what to do: nothing to do: this message shows "
                               "that deedbox's notifications reach this channel")
    (published,) = inbox.read()
    assert published["Subject"] == "deedbox guild: test notification"


def test_notify_test_one_failed_channel_is_exit_1(slack, inbox, make_config, monkeypatch):
    path, _ = make_config(SLACK_AND_EMAIL)
    monkeypatch.setenv(WEBHOOK_ENV, slack.url(TOKEN).replace("B0DEEDBOX", "B0REMOVED"))
    res = invoke("notify", "test", "--config", str(path), "--format", "json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is False
    assert doc["channels"][0] == {"channel": "slack", "sent": False, "reason": "HTTP 404 no_service",
                                  "message_id": None}
    assert doc["channels"][1]["channel"] == f"sns {ARN}" and doc["channels"][1]["sent"] is True
    text = invoke("notify", "test", "--config", str(path))
    assert text.stdout.splitlines()[0] == "slack: FAILED (HTTP 404 no_service)" and text.exit_code == 1


@pytest.mark.parametrize("block", [None, "  on: [failure]\n"])
def test_notify_test_without_a_channel_is_exit_2(make_config, block):
    path, _ = make_config(block)
    res = invoke("notify", "test", "--config", str(path))
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr == (f"deedbox: error: {path}: no notification channel configured (notifications.slack_webhook, "
                          "notifications.sns_topic_arn or notifications.email)\n")


# ------------------------------------------------------------------------------- --notify

def _untimed(out: str) -> dict:
    return {k: v for k, v in json.loads(out).items() if k not in ("generated_at", "window")}


def test_stale_status_notifies_slack_and_sns(slack, inbox, store, make_config):
    path, _ = make_config(SLACK_AND_EMAIL)
    plain = invoke("status", "--config", str(path), "--bucket", store.bucket, "--format", "json")
    res = invoke("--notify", "status", "--config", str(path), "--bucket", store.bucket, "--format", "json")
    assert res.exit_code == plain.exit_code == 1
    # the command's output is untouched (but for the clock: the two runs may straddle a second)
    assert _untimed(res.stdout) == _untimed(plain.stdout)
    assert res.stderr == f"deedbox: notified slack, sns {ARN}\n"
    (message,) = slack.messages
    assert message["text"].startswith("deedbox guild: backups STALE: backend, media, secrets; "
                                      "failed step: freshness: backend, media, secrets; what to do: take fresh backups")
    assert "*Result*\\nstale (exit 1)" in _texts(message)
    (published,) = inbox.read()
    assert published["Subject"] == "deedbox guild: backups STALE: backend, media, secrets"
    assert "deedbox-export.yml" in published["Message"]
    assert len(slack.messages) == 1  # the plain run sent nothing


def test_a_failed_notification_keeps_the_result(slack, store, make_config, monkeypatch):
    path, _ = make_config(SLACK_AND_EMAIL)  # the derived topic does not exist: SNS fails too
    monkeypatch.setenv(WEBHOOK_ENV, slack.url(TOKEN, state="revoked"))
    res = invoke("--notify", "status", "--config", str(path), "--bucket", store.bucket, "--format", "json")
    assert res.exit_code == 1 and json.loads(res.stdout)["fresh"] is False
    slack_line, sns_line = res.stderr.splitlines()
    assert slack_line == "deedbox: error: notification not sent: slack webhook ($SLACK_WEBHOOK_URL): HTTP 403 invalid_token"
    assert sns_line.startswith(f"deedbox: error: notification not sent: sns {ARN}: NotFound: ")  # moto's wording


def test_a_refused_connection_keeps_the_result_and_hides_the_url(store, make_config, monkeypatch):
    path, _ = make_config("  slack_webhook: {env: SLACK_WEBHOOK_URL}\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:{port}/services/{TOKEN}")
    res = invoke("--notify", "status", "--config", str(path), "--bucket", store.bucket)
    assert res.exit_code == 1 and "backend  STALE" in res.stdout
    assert res.stderr == ("deedbox: error: notification not sent: slack webhook ($SLACK_WEBHOOK_URL): "
                          "connection failed\n")


def test_export_and_verify_success_notify_when_on_asks(slack, inbox, store, make_config, small_zip):
    path, _ = make_config(EVERYTHING)
    res = invoke("export", "--config", str(path), "--from-zip", small_zip, "--bucket", store.bucket,
                 "--format", "json", DEEDBOX_NOTIFY="1")
    assert res.exit_code == 0, res.output
    manifest = json.loads(res.stdout)["manifest"]
    (message,) = slack.messages
    assert f"`s3://{store.bucket}/{manifest}`" in _texts(message)
    assert message["text"].startswith("deedbox guild: export stored backend/happy-otter-123/")
    res = invoke("--notify", "verify", "--config", str(path), "--bucket", store.bucket)
    assert res.exit_code == 0, res.output
    assert slack.messages[1]["text"] == "deedbox guild: snapshot verified (structure)"
    assert f"`s3://{store.bucket}/{manifest}`" in _texts(slack.messages[1])
    assert [m["Subject"] for m in inbox.read()] == ["deedbox guild: export stored " + manifest.replace(
        "manifest.json", "snapshot.zip"), "deedbox guild: snapshot verified (structure)"]


def test_success_whose_notification_failed_exits_2(slack, store, make_config, small_zip):
    path, _ = make_config("  slack_webhook: {env: SLACK_WEBHOOK_URL}\n  on: [success]\n")
    slack.answer_next(500, "rollup_error")
    slack.answer_next(500, "rollup_error")
    res = invoke("--notify", "export", "--config", str(path), "--from-zip", small_zip, "--bucket", store.bucket,
                 "--format", "json")
    assert res.exit_code == 2
    assert json.loads(res.stdout)["manifest"].endswith("/manifest.json")  # stored, and said so
    assert res.stderr == ("deedbox: error: notification not sent: slack webhook ($SLACK_WEBHOOK_URL): "
                          "HTTP 500 rollup_error\n")


def test_a_failed_export_notifies_its_error(slack, store, make_config, tmp_path):
    path, _ = make_config("  slack_webhook: {env: SLACK_WEBHOOK_URL}\n")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"this is not a zip file")
    res = invoke("--notify", "export", "--config", str(path), "--from-zip", str(broken), "--bucket", store.bucket)
    assert res.exit_code == 1
    error = res.stderr.splitlines()[0]
    assert error.startswith("deedbox: error: ") and res.stderr.splitlines()[1] == "deedbox: notified slack"
    (message,) = slack.messages
    assert message["text"] == ("deedbox guild: export failed; failed step: export; what to do: read the error, fix "
                               "what it names, then rerun `deedbox export --reason manual`")
    assert json.dumps(error.removeprefix("deedbox: error: "))[1:-1] in _texts(message)


def test_on_decides_and_without_notify_nothing_is_sent(slack, store, make_config, small_zip):
    path, _ = make_config("  slack_webhook: {env: SLACK_WEBHOOK_URL}\n")  # on: [failure, stale]
    res = invoke("--notify", "export", "--config", str(path), "--from-zip", small_zip, "--bucket", store.bucket)
    assert res.exit_code == 0 and res.stderr == ""
    assert invoke("status", "--config", str(path), "--bucket", store.bucket).exit_code == 1
    assert invoke("--notify", "validate", "--config", str(path)).exit_code == 0
    assert slack.messages == [] and slack.requests == []


def test_notify_without_channels_warns_and_keeps_the_code(store, make_config):
    path, _ = make_config("  on: [failure, stale]\n")
    res = invoke("--notify", "status", "--config", str(path), "--bucket", store.bucket)
    assert res.exit_code == 1
    assert res.stderr == f"deedbox: warning: --notify: {path} configures no notification channel\n"


def test_an_unreadable_config_is_said_and_the_code_stands(tmp_path):
    path = tmp_path / "backup.yaml"
    path.write_text("version: 1\n")
    res = invoke("--notify", "status", "--config", str(path), "--bucket", "b")
    assert res.exit_code == 1
    first, second = res.stderr.splitlines()
    assert first.startswith("deedbox: error: ")
    assert second.startswith("deedbox: error: notification not sent: cannot read the config: ")


def test_emit_is_captured_whatever_the_format(capsys):
    with capture() as captured:
        assert captured.document is None
        emit("text", {"a": 1}, ["line"])
        emit("text", {"b": 2}, ["line"])
    assert captured.document == {"b": 2} and capsys.readouterr().out == "line\nline\n"
    emit("json", {"c": 3}, [])
    assert captured.documents == [{"a": 1}, {"b": 2}]  # nothing kept outside the block


def test_a_bug_while_notifying_keeps_the_result_and_prints_no_traceback(store, make_config, monkeypatch):
    from deedbox.commands import notify

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(notify, "after_command", broken)
    path, _ = make_config("  slack_webhook: {env: SLACK_WEBHOOK_URL}\n")
    res = invoke("--notify", "status", "--config", str(path), "--bucket", store.bucket, "--format", "json")
    assert res.exit_code == 1 and json.loads(res.stdout)["fresh"] is False
    said, logged = res.stderr.splitlines()
    assert said == "deedbox: error: notification not sent (a bug in deedbox: next line)"
    assert logged.startswith("deedbox: unexpected error: RuntimeError (details in ")
