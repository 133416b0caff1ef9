"""Post an event to a Slack incoming webhook, without ever showing the webhook's URL.

The URL is a secret (anyone holding it can post to the channel), so it appears in no output,
error, log record or exception: a failure reads ``slack webhook ($SLACK_WEBHOOK_URL): HTTP 404
no_service``, naming the variable that holds the URL. Slack answers 200 with the body ``ok``; a
refusal is a 4xx whose body is a short error code (``invalid_payload``, ``no_service``, …).

One retry, for what may pass: a connection error or timeout, a 5xx, or a 429 whose
``Retry-After`` is at most ``MAX_RETRY_AFTER`` seconds (waited out first). Nothing else is retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from deedbox.config.model import Config
from deedbox.notify.channel import Outcome
from deedbox.notify.events import Event
from deedbox.notify.message import slack_payload

TIMEOUT = (5.0, 10.0)  # connect, read
RETRY_DELAY = 1.0
MAX_RETRY_AFTER = 10.0
# urllib3 logs request lines (with the URL's path, which is the secret part) at DEBUG
_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")


class SlackWebhook:
    """A webhook whose URL is read from the environment variable ``env`` (``url`` may be None: unset)."""

    label = "slack"

    def __init__(self, env: str, url: str | None, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.env, self._url = env, (url or "").strip() or None
        self._session, self._sleep = session, sleep

    @property
    def target(self) -> str:
        return f"slack webhook (${self.env})"

    def __repr__(self) -> str:  # never the URL, not even in a debugger or a crash log
        return f"SlackWebhook(env={self.env!r})"

    def send(self, event: Event, config: Config) -> Outcome:
        return self.post(slack_payload(event, config))

    def post(self, payload: dict[str, Any]) -> Outcome:
        """POST ``payload`` (already a webhook body)."""
        if self._url is None:
            return Outcome(False, f"environment variable {self.env} is not set")
        if urlsplit(self._url).scheme not in ("http", "https"):
            return Outcome(False, f"${self.env} is not an http(s) URL")
        with _masked_logs(self._secrets()):
            first = self._attempt(payload)
            if first.ok or first.retry_after is None:
                return first.outcome(self)
            self._sleep(first.retry_after)
            return self._attempt(payload).outcome(self)

    def _attempt(self, payload: dict[str, Any]) -> _Attempt:
        assert self._url is not None
        session = self._session or requests.Session()
        try:
            answer = session.post(self._url, json=payload, timeout=TIMEOUT, allow_redirects=False)
        except requests.Timeout:
            return _Attempt(False, "timed out", RETRY_DELAY)
        except requests.ConnectionError:
            return _Attempt(False, "connection failed", RETRY_DELAY)
        except requests.RequestException as err:  # its message may quote the URL: the type only
            return _Attempt(False, f"request failed ({type(err).__name__})", None)
        finally:
            if self._session is None:
                session.close()
        return _judge(answer.status_code, answer.headers.get("Retry-After"), self._mask(answer.text))

    def _secrets(self) -> list[str]:
        assert self._url is not None
        path = urlsplit(self._url).path
        parts = [p for p in path.split("/") if len(p) >= 8 and p != "services"]
        return sorted({self._url, self._url.rstrip("/"), path, *parts} - {""}, key=len, reverse=True)

    def _mask(self, text: str) -> str:
        for secret in self._secrets():
            text = text.replace(secret, f"${self.env}")
        first = text.strip().splitlines()[0] if text.strip() else ""
        return first[:80]


@dataclass(frozen=True)
class _Attempt:
    ok: bool
    reason: str = ""
    retry_after: float | None = None  # None: do not retry

    def outcome(self, hook: SlackWebhook) -> Outcome:
        return Outcome(self.ok, hook._mask(self.reason))


def _judge(status: int, retry_after: str | None, body: str) -> _Attempt:
    """Slack's answer: 200 is success (its body is ``ok``); the rest fail, some worth a retry."""
    if status == 200:
        return _Attempt(True)
    reason = f"HTTP {status}" + (f" {body}" if body else "")
    if status == 429:
        wait = _seconds(retry_after)
        if wait is None or wait > MAX_RETRY_AFTER:
            return _Attempt(False, reason + (f" (Retry-After {retry_after}: not waited for)" if retry_after else ""))
        return _Attempt(False, reason, wait)
    return _Attempt(False, reason, RETRY_DELAY if status >= 500 else None)


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else RETRY_DELAY
    except ValueError:  # an HTTP date: longer than we wait
        return None


class _Redact(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        record.msg, record.args = text, None
        return True


@contextmanager
def _masked_logs(secrets: list[str]) -> Iterator[None]:
    """While posting, urllib3's own log records are rewritten without the URL (and restored after)."""
    redact = _Redact(secrets)
    loggers = [logging.getLogger(name) for name in _URLLIB3_LOGGERS]
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)
