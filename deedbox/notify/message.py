"""An ``Event`` as each channel's message (pure).

- ``slack_payload``: an incoming-webhook body, ``text`` (the line notifications and old clients
  show) plus Block Kit ``blocks``: a header, a section of fields (operation, result, failed step,
  destination), what went wrong, the evidence key as code, what to do. Lengths are cut to Block
  Kit's limits (header text 150 characters, section text 3000, at most 10 fields of 2000 each:
  docs.slack.dev/reference/block-kit/blocks/header-block and .../section-block).
- ``sns_subject`` / ``sns_message``: the e-mail subject and plain-text body. SNS refuses a
  subject with line breaks or control characters or of 100 characters or more (botocore's SNS
  model, ``Publish``: "Subjects must be UTF-8 text with no line breaks or control characters, and
  less than 100 characters long"; the older rule also asked for ASCII starting with a letter,
  number or punctuation mark): ``sns_subject`` keeps to both.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from deedbox.config.model import Config
from deedbox.notify.events import FAILURE, STALE, Event

HEADER_MAX, SECTION_MAX, FIELD_MAX, FIELDS_MAX = 150, 3000, 2000, 10
SUBJECT_MAX = 99  # "less than 100 characters"
_ICON = {FAILURE: ":rotating_light:", STALE: ":hourglass_flowing_sand:"}
_ASCII = {"…": "...", "→": "->", "—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"'}


def headline(event: Event, config: Config) -> str:
    """``deedbox <name>: <title>``: the first line everywhere."""
    return f"deedbox {config.name}: {event.title}"


def result(event: Event) -> str:
    return event.kind if event.exit_code == 0 else f"{event.kind} (exit {event.exit_code})"


def slack_payload(event: Event, config: Config) -> dict[str, Any]:
    """The JSON body POSTed to the webhook."""
    icon = _ICON.get(event.kind, ":white_check_mark:")
    fields = [("Operation", event.operation), ("Result", result(event))]
    if event.failed_step:
        fields.append(("Failed step", event.failed_step))
    fields.append(("Destination", f"{config.destination.account} {config.destination.region}"))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": _cut(f"{icon} {headline(event, config)}", HEADER_MAX)}},
        {"type": "section", "fields": [_mrkdwn(f"*{name}*\n{_escape(value)}", FIELD_MAX)
                                       for name, value in fields[:FIELDS_MAX]]},
    ]
    if event.details:
        blocks.append(_section("*What went wrong*" if event.kind != "success" else "*Details*",
                               "\n".join(f"• {_escape(d)}" for d in event.details)))
    if event.evidence:
        blocks.append(_section("*Evidence*", f"`{_code(event.evidence)}`"))
    if event.next_steps:
        blocks.append(_section("*What to do*", "\n".join(_escape(s) for s in event.next_steps)))
    return {"text": summary(event, config), "blocks": blocks}


def summary(event: Event, config: Config) -> str:
    """One line: headline, failed step and the first thing to do (Slack's ``text``, push notifications)."""
    parts = [headline(event, config)]
    if event.failed_step:
        parts.append(f"failed step: {event.failed_step}")
    if event.next_steps:
        parts.append(f"what to do: {event.next_steps[0]}")
    return _cut(_escape("; ".join(parts)), SECTION_MAX)


def sns_subject(text: str) -> str:
    """``text`` as an SNS subject: printable ASCII, one line, starting with a letter, digit or
    punctuation, under 100 characters (cut with ``...``)."""
    for wide, narrow in _ASCII.items():
        text = text.replace(wide, narrow)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\x21-\x7e]+", " ", text).strip()
    if not text:
        return "deedbox notification"
    return text if len(text) <= SUBJECT_MAX else text[:SUBJECT_MAX - 3].rstrip() + "..."


def sns_message(event: Event, config: Config) -> str:
    """The plain-text body (what e-mail subscribers read)."""
    rows = [("Operation", event.operation), ("Result", result(event)),
            ("Failed step", event.failed_step), ("Evidence", event.evidence),
            ("Destination", f"{config.destination.account} {config.destination.region}")]
    lines = [headline(event, config), ""]
    lines += [f"{name + ':':<13}{value}" for name, value in rows if value]
    for title, items in (("What went wrong" if event.kind != "success" else "Details", event.details),
                         ("What to do", event.next_steps)):
        if items:
            lines += ["", f"{title}:"] + [f"  - {item}" for item in items]
    return "\n".join(lines) + "\n"


def _section(title: str, body: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(f"{title}\n{body}", SECTION_MAX)}


def _mrkdwn(text: str, limit: int) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(text, limit)}


def _escape(text: str) -> str:
    """Slack's three control characters in mrkdwn text (&, <, >) as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return _escape(text).replace("`", "'")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
