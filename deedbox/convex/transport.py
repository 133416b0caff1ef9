"""One HTTP call to a Convex deployment: auth header, retries with backoff, error mapping.

Retries (exponential backoff: ``backoff * 2**attempt``) happen on 5xx, connection errors and
timeouts for idempotent calls; calls that may write (mutations, imports) are retried only when
the request provably never reached the server (connect errors). Error messages carry the HTTP
status, Convex's ``code`` and ``message`` and the path, never the key: any occurrence of the key
in a server message is masked as well.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

import deedbox
from deedbox.errors import ConvexAuthError, ConvexError, ConvexNotFound

log = logging.getLogger("deedbox.convex")
RETRY_STATUS = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 60.0  # a Retry-After longer than this is not waited for
# `{client_name}-{semver}`, or the backend refuses every route with 400 InvalidClientVersion
# (convex-backend crates/common/src/version.rs; an unrecognised name is always supported).
CLIENT_HEADER = f"deedbox-{deedbox.__version__}"
# A function that failed, as the cloud proxy reports it; the body is the usual {status: "error"}
# (npm convex src/browser/http_client.ts STATUS_CODE_UDF_FAILED).
UDF_FAILED = 560


class Transport:
    """Holds the session, base URL and key; ``call`` performs one logical request."""

    def __init__(self, url: str, key: str, *, timeout: float, retries: int, backoff: float,
                 session: requests.Session | None) -> None:
        self.url = url.rstrip("/")
        self._key = key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()

    def __repr__(self) -> str:  # never show the key
        return f"Transport(url={self.url!r})"

    def auth(self, identity_b64: str | None = None) -> str:
        return f"Convex {self._key}" + (f":{identity_b64}" if identity_b64 else "")

    def mask(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def call(self, method: str, path: str, *, idempotent: bool = True,
             identity_b64: str | None = None, stream: bool = False,
             timeout: float | None = None, function: bool = False, **kw: Any) -> requests.Response:
        """Send with retries; return a 2xx response (or, for ``function`` calls, a 560 whose body
        is the function's error) or raise a ConvexError subclass."""
        headers = {"Authorization": self.auth(identity_b64), "Convex-Client": CLIENT_HEADER}
        headers.update(kw.pop("headers", {}))
        attempt = 0
        while True:
            try:
                resp = self.session.request(method, self.url + path, headers=headers,
                                            timeout=timeout or self.timeout, stream=stream, **kw)
            except (requests.ConnectionError, requests.Timeout) as err:
                retryable = idempotent or isinstance(err, requests.ConnectTimeout)
                if not retryable or attempt >= self.retries:
                    raise ConvexError(f"cannot reach Convex at {self.url}{path}: "
                                      f"{type(err).__name__}") from None
            except requests.RequestException as err:  # malformed URL, bad header...: not retryable
                raise ConvexError(f"cannot call Convex at {self.url}{path}: {type(err).__name__}") from None
            else:
                if resp.status_code < 400 or (function and resp.status_code == UDF_FAILED):
                    return resp
                if resp.status_code not in RETRY_STATUS or not idempotent \
                        or attempt >= self.retries:
                    raise self.error(resp, path)
                wait = _retry_after(resp)
                resp.close()
                if wait is not None:  # 429 with Retry-After: the server says when
                    if wait > MAX_RETRY_AFTER_S:
                        raise ConvexError(f"Convex {resp.status_code}: asked to retry after {wait:g}s "
                                          f"({path.split('?')[0]}); try again later")
                    time.sleep(wait)
                    attempt += 1
                    continue
            self._sleep(attempt, method, path)
            attempt += 1

    def _sleep(self, attempt: int, method: str, path: str) -> None:
        delay = self.backoff * (2 ** attempt)
        log.info("retrying %s %s in %.2fs (attempt %d of %d)", method, path.split("?")[0],
                 delay, attempt + 1, self.retries)
        time.sleep(delay)

    def error(self, resp: requests.Response, path: str) -> ConvexError:
        """Map a non-2xx response to the error hierarchy, with a one-line masked message."""
        code, message = _error_body(resp)
        text = self.mask(f"Convex {resp.status_code} {code}: {message} ({path.split('?')[0]})")
        if resp.status_code in (401, 403):
            return ConvexAuthError(text + "; check the deploy/admin key and its permissions")
        if resp.status_code == 404:
            return ConvexNotFound(text)
        return ConvexError(text)


def _error_body(resp: requests.Response) -> tuple[str, str]:
    try:
        body = resp.json()
    except ValueError:
        return resp.reason or "Error", " ".join(resp.text.split())[:200]
    if isinstance(body, dict):
        return str(body.get("code", "Error")), str(body.get("message", ""))[:500]
    return "Error", str(body)[:200]


def _retry_after(resp: requests.Response) -> float | None:
    """``Retry-After`` in seconds (RFC 9110: delta-seconds; an HTTP date is treated as absent)."""
    value = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
