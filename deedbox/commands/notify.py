"""``deedbox notify test`` and what ``--notify`` does after a scheduled operation.

``notify test``: a test message to every configured channel, one line each (``slack: sent``,
``sns <arn>: sent (MessageId …)``, ``<channel>: FAILED (reason)``); exit 0 when every channel
took it, 1 when one did not, 2 when no channel is configured.

``--notify`` (``after_command``): the command's result is final before anything is sent. The
event is derived from it and sent when ``notifications.on`` asks; a notification that cannot be
sent prints ``deedbox: error: notification not sent: …`` on stderr and turns exit 0 into 2 (a
success nobody heard of is not a success of the job); any other exit code stands as it was.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# (command module, entry, action) -> the operation it is; only these notify
_OPERATIONS = {("export", "run", None): "export", ("verify", "run", None): "verify",
               ("media_sync", "run", None): "media-sync", ("secrets_cmd", "run", "verify"): "secrets-verify",
               ("status", "run", None): "status", ("drill", "run", "run"): "drill"}


def operation_of(command: str, entry: str, options: dict[str, Any]) -> str | None:
    """The notifying operation a dispatched command is, or None (push, list, restore, …)."""
    return _OPERATIONS.get((command, entry, options.get("action")))


def run(*, action: str, config: Path, format: str) -> int:
    from deedbox.commands.output import emit, load_config
    from deedbox.errors import UsageError
    from deedbox.notify import probe_event
    from deedbox.notify.deliver import channels, deliver

    assert action == "test"
    cfg = load_config(config)
    to = channels(cfg)
    if not to:
        raise UsageError(f"{config}: no notification channel configured "
                         "(notifications.slack_webhook, notifications.sns_topic_arn or notifications.email)")
    sent = deliver(probe_event(), cfg, to)
    doc = {"ok": all(d.ok for d in sent), "channels": [
        {"channel": d.label, "sent": d.ok, "reason": d.outcome.reason or None,
         "message_id": d.outcome.message_id} for d in sent]}
    emit(format, doc, [_line(d) for d in sent])
    return 0 if doc["ok"] else 1


def _line(d: Any) -> str:
    if not d.ok:
        return f"{d.label}: FAILED ({d.outcome.reason})"
    return f"{d.label}: sent" + (f" (MessageId {d.outcome.message_id})" if d.outcome.message_id else "")


def after_command(command: str, *, entry: str, options: dict[str, Any], code: int,
                  document: dict | None, error: str | None) -> int:
    """Notify about one finished command; returns the exit code to end with."""
    from deedbox.commands.output import load_config
    from deedbox.errors import DeedboxError
    from deedbox.notify import derive
    from deedbox.notify.deliver import channels, deliver, should_send

    operation = operation_of(command, entry, options)
    if operation is None:
        return code
    try:
        cfg = load_config(options["config"])
    except DeedboxError as err:
        return _not_sent([f"cannot read the config: {err}"], code)
    event = derive(operation, code, document, error)
    if not should_send(event, cfg):
        return code
    to = channels(cfg)
    if not to:
        _say(f"deedbox: warning: --notify: {options['config']} configures no notification channel")
        return code
    sent = deliver(event, cfg, to)
    if any(d.ok for d in sent):
        _say("deedbox: notified " + ", ".join(d.label for d in sent if d.ok))
    return _not_sent([d.error_line() for d in sent if not d.ok], code)


def _not_sent(reasons: list[str], code: int) -> int:
    for reason in reasons:
        _say(f"deedbox: error: notification not sent: {reason}")
    return 2 if reasons and code == 0 else code


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
