"""A local Slack incoming-webhook endpoint that answers the way Slack documents it.

Slack's server cannot run here, so this receiver stands in for ``hooks.slack.com``. It follows
Slack's published responses, not our client's expectations:

- Success is HTTP 200 with the body ``ok`` ("interpret a HTTP 200 response as success and any
  other response code as a failure": api.slack.com/changelog/2016-05-17-changes-to-errors-for-
  incoming-webhooks; the ``ok`` body as in the curl examples of Slack's webhook guides, e.g.
  docs.slack.dev/tools/java-slack-sdk/guides/incoming-webhooks, and as reported from the real
  endpoint in gitlab.com/gitlab-org/gitlab/-/issues/332611).
- Refusals are 4xx with a short error code as the body (the same changelog): 400
  ``invalid_payload`` ("the data sent in your request cannot be understood as presented; verify
  your content body matches your content type and is structurally valid"), 403
  ``action_prohibited``, 404 ``channel_not_found``, 410 ``channel_is_archived``, 500
  ``rollup_error``. A message with neither ``text`` nor blocks is 400 ``no_text`` (the answer the
  real endpoint gives, gitlab issue 332611 above). An unknown or removed webhook is 404
  ``no_service`` and a revoked token 403 ``invalid_token`` (the "Handling errors" table of
  Slack's incoming-webhook guide, docs.slack.dev/messaging/sending-messages-using-incoming-webhooks;
  403 ``invalid_token`` as the slack-notifier gem reports it, github.com/gueils/whales/issues/38).
- Rate limiting is 429 with ``Retry-After`` in seconds ("including Incoming Webhooks":
  api.slack.com/docs/rate-limits, the copy in github.com/slackhq/slack-api-docs
  ``page_rate_limits.md``).
- Block Kit limits (docs.slack.dev/reference/block-kit/blocks/header-block, section-block):
  header text is ``plain_text`` of at most 150 characters; a section's text at most 3000, at
  most 10 fields of at most 2000 each; at most 50 blocks. A message breaking them is 400
  ``invalid_blocks``.

Scripted answers (``answer_next``) stand in for what cannot be provoked on purpose: a 500, a 429.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.quiet_http import QuietHTTPServer

ACTIVE, REVOKED, ARCHIVED, PROHIBITED = "active", "revoked", "archived", "prohibited"
_HOOK_STATE = {REVOKED: (403, "invalid_token"), ARCHIVED: (410, "channel_is_archived"),
               PROHIBITED: (403, "action_prohibited")}


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class SlackReceiver:
    """Context manager: ``with SlackReceiver() as slack: slack.url(), slack.messages``.

    ``messages`` are the bodies Slack would have posted; ``requests`` every request's path and
    answer; ``hooks`` the registered webhook paths and their state.
    """

    def __init__(self) -> None:
        self.hooks: dict[str, str] = {}
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.scripted: deque[Answer] = deque()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"receiver": self})
        self._server = QuietHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SlackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, token: str = "T0DEEDBOX/B0DEEDBOX/cAnArYw3bh00kT0k3n", state: str = ACTIVE) -> str:
        """A webhook URL in Slack's shape (``/services/T…/B…/<secret>``), registered with ``state``."""
        path = f"/services/{token}"
        self.hooks[path] = state
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def answer_next(self, status: int, body: str, **headers: str) -> None:
        self.scripted.append(Answer(status, body, headers))

    def answer(self, path: str, content_type: str, raw: bytes) -> Answer:
        with self._lock:
            answer = self._answer(path, content_type, raw)
            self.requests.append((path, f"{answer.status} {answer.body}"))
            return answer

    def _answer(self, path: str, content_type: str, raw: bytes) -> Answer:
        if self.scripted:
            return self.scripted.popleft()
        state = self.hooks.get(path)
        if state is None:
            return Answer(404, "no_service")
        if state in _HOOK_STATE:
            return Answer(*_HOOK_STATE[state])
        if content_type.split(";")[0].strip().lower() != "application/json":
            return Answer(400, "invalid_payload")
        try:
            body = json.loads(raw)
        except ValueError:
            return Answer(400, "invalid_payload")
        if not isinstance(body, dict):
            return Answer(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks") and not body.get("attachments"):
            return Answer(400, "no_text")
        if "blocks" in body and not _blocks_valid(body["blocks"]):
            return Answer(400, "invalid_blocks")
        self.messages.append(body)
        return Answer(200, "ok")


def _blocks_valid(blocks: Any) -> bool:
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return False
    return all(isinstance(b, dict) and _block_valid(b) for b in blocks)


def _block_valid(block: dict[str, Any]) -> bool:
    kind = block.get("type")
    if kind == "header":
        text = block.get("text") or {}
        return text.get("type") == "plain_text" and 0 < len(text.get("text", "")) <= 150
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            return False
        if text is not None and not _text_valid(text, 3000):
            return False
        return fields is None or (len(fields) <= 10 and all(_text_valid(f, 2000) for f in fields))
    return kind in ("divider", "context", "actions", "image", "rich_text")


def _text_valid(text: Any, limit: int) -> bool:
    return (isinstance(text, dict) and text.get("type") in ("plain_text", "mrkdwn")
            and 0 < len(text.get("text", "")) <= limit)


class _Handler(BaseHTTPRequestHandler):
    receiver: SlackReceiver

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.receiver.answer(self.path, self.headers.get("Content-Type", ""), raw)
        body = answer.body.encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep the test's stderr clean
        pass
