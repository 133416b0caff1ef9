"""Messages (pure): the Slack body's blocks and the SNS subject and text."""

from __future__ import annotations

import re

import pytest

from deedbox.notify import FAILURE, STALE, SUCCESS, Event
from deedbox.notify.message import headline, slack_payload, sns_message, sns_subject, summary

EVENT = Event("drill", FAILURE, "drill 20261127T020000Z FAILED at `import snapshot`", 1,
              failed_step="import snapshot", evidence_key="drills/20261127T020000Z/report.html",
              details=("import snapshot: Convex refused the import: <DuplicateId> & more",),
              next_steps=("the snapshot does not restore: do not rely on it; take a new export and rerun "
                          "`deedbox drill run`",))


def _texts(payload: dict) -> list[str]:
    out = []
    for block in payload["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", ())]
    return out


def test_slack_message_has_header_fields_evidence_and_what_to_do(config):
    payload = slack_payload(EVENT, config)
    header, fields, *sections = payload["blocks"]
    assert header == {"type": "header", "text": {
        "type": "plain_text", "emoji": True,
        "text": ":rotating_light: deedbox guild: drill 20261127T020000Z FAILED at `import snapshot`"}}
    assert [f["text"] for f in fields["fields"]] == [
        "*Operation*\ndrill", "*Result*\nfailure (exit 1)", "*Failed step*\nimport snapshot",
        "*Destination*\n222222222222 eu-west-1"]
    assert [s["text"]["text"] for s in sections] == [
        "*What went wrong*\n• import snapshot: Convex refused the import: &lt;DuplicateId&gt; &amp; more",
        "*Evidence*\n`drills/20261127T020000Z/report.html`",
        "*What to do*\nthe snapshot does not restore: do not rely on it; take a new export and rerun "
        "`deedbox drill run`"]
    assert payload["text"] == ("deedbox guild: drill 20261127T020000Z FAILED at `import snapshot`; "
                               "failed step: import snapshot; what to do: the snapshot does not restore: do not "
                               "rely on it; take a new export and rerun `deedbox drill run`")


def test_slack_evidence_with_its_bucket_and_success_without_failed_step(config):
    event = Event("export", SUCCESS, "export stored k", 0, evidence_key="backend/x/manifest.json", bucket="bkt",
                  details=("2 tables",))
    payload = slack_payload(event, config)
    texts = _texts(payload)
    assert "*Evidence*\n`s3://bkt/backend/x/manifest.json`" in texts
    assert "*Result*\nsuccess" in texts and not any("Failed step" in t for t in texts)
    assert "*Details*\n• 2 tables" in texts
    assert payload["blocks"][0]["text"]["text"].startswith(":white_check_mark: ")


def test_slack_lengths_stay_within_block_kit_limits(config):
    long = Event("status", STALE, "x" * 500, 1, failed_step="y" * 5000, details=("z" * 4000,) * 5,
                 next_steps=("w" * 4000,))
    payload = slack_payload(long, config)
    assert len(payload["blocks"][0]["text"]["text"]) == 150
    assert all(len(f["text"]) <= 2000 for f in payload["blocks"][1]["fields"])
    assert all(len(t) <= 3000 for t in _texts(payload)) and len(payload["text"]) <= 3000


@pytest.mark.parametrize("text, subject", [
    ("deedbox guild: export FAILED", "deedbox guild: export FAILED"),
    ("line one\nline two\r\tend", "line one line two end"),
    ("  \x07bell and\x00nul ", "bell and nul"),
    ("drill → failed … “quoted” — é", 'drill -> failed ... "quoted" - e'),
    ("日本語", "deedbox notification"),
])
def test_sns_subject_is_one_line_of_printable_ascii(text, subject):
    assert sns_subject(text) == subject


def test_sns_subject_is_under_100_characters():
    subject = sns_subject("deedbox guild: " + "snapshot failed verification " * 10)
    assert len(subject) == 99 and subject.endswith("...")
    assert re.fullmatch(r"[\x21-\x7e][\x20-\x7e]*", subject)
    assert sns_subject("a" * 99) == "a" * 99


def test_sns_message_is_plain_text(config):
    assert sns_message(EVENT, config) == (
        "deedbox guild: drill 20261127T020000Z FAILED at `import snapshot`\n\n"
        "Operation:   drill\n"
        "Result:      failure (exit 1)\n"
        "Failed step: import snapshot\n"
        "Evidence:    drills/20261127T020000Z/report.html\n"
        "Destination: 222222222222 eu-west-1\n\n"
        "What went wrong:\n"
        "  - import snapshot: Convex refused the import: <DuplicateId> & more\n\n"
        "What to do:\n"
        "  - the snapshot does not restore: do not rely on it; take a new export and rerun `deedbox drill run`\n")
    assert headline(EVENT, config) == "deedbox guild: drill 20261127T020000Z FAILED at `import snapshot`"
    assert summary(Event("test", SUCCESS, "test notification", 0), config) == "deedbox guild: test notification"
