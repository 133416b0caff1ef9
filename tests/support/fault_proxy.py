"""A small fault-injecting HTTP proxy for the fault suite (tests/faults).

``FaultProxy(upstream_url)`` is a ``ThreadingHTTPServer`` on ``127.0.0.1:<free port>`` that
forwards every request to ``upstream_url`` (moto's endpoint, or the Convex test server) unless a
*rule* matches it. Point the code under test at ``proxy.url`` (``AWS_ENDPOINT_URL`` for boto3)
and it runs unchanged: no test hooks in deedbox, real sockets, real botocore/requests retries.

A rule matches on method, a regular expression searched in the (URL-decoded) path, query
parameters that must be present (``query="partNumber"`` matches ``UploadPart``, ``"uploads"``
``CreateMultipartUpload``, ``"uploadId"`` ``CompleteMultipartUpload``/``AbortMultipartUpload``)
and, optionally, a bytes regular expression searched in the request body (one Convex function
by name: ``body=rb"queryImport"``). It is bounded in count and time: ``skip`` matching requests
pass first, then ``times`` are faulted (``None``: every one, a *persistent* fault), for at most
``seconds`` after it was armed. What it does to a matching request (``kind``):

``status``    answer ``status`` without forwarding; the body is S3's XML error document
              (``<Error><Code>SlowDown</Code>...`` for 503 by default, ``InternalError`` for 500),
              no body for ``HEAD`` (as S3 does);
``reset``     read the request, then close the connection with no response (an RST: SO_LINGER 0);
              ``forward=True`` sends it upstream first (the server acted, the answer is lost);
``truncate``  forward, then send the upstream status and headers (full ``Content-Length``) and
              only ``keep`` bytes of the body (default: half), then close;
``delay``     sleep ``seconds_delay``, then forward normally.

Every request is recorded in ``proxy.log`` (``Event``: method, path, query, what was done).

What clients retry, for reading the tests (botocore 1.44, the version pinned here):

- deedbox's S3 clients use ``retries={"mode": "standard", "max_attempts": 5}``
  (``deedbox.bucket.client.make_s3_client``, ``deedbox.media.sync._client``); in a client config
  ``max_attempts`` counts *retries* (``botocore/args.py`` ``_compute_retry_max_attempts`` sets
  ``total_max_attempts = max_attempts + 1``): 6 attempts of the same request. Standard mode
  (``botocore/retries/standard.py``) retries transient errors (HTTP 500/502/503/504, the codes
  ``RequestTimeout``/``PriorRequestNotComplete``, any ``ConnectionError``/``HTTPClientError``: a
  reset, or an answer cut before its headers are complete) and throttling (``SlowDown``,
  ``Throttling``..., an unmodeled 429), within a retry quota of 500 tokens per client (14 per
  transient retry, 5 per throttling retry). The legacy table ``botocore/data/_retry.json``
  (``legacy`` mode) lists the same statuses plus 509 and ``general_socket_errors``. The backoff
  is ``rand(0,1) * min(base * 2**i, 20 s)``, ``base`` 1 s for throttling and 50 ms otherwise.
  ``adaptive`` mode (``botocore/retries/adaptive.py``) is standard plus a client-side token
  bucket that slows the sending rate after throttling; deedbox does not use it.
- A *body* cut after the headers is not an HTTP error: botocore returns the response and the
  reader sees ``IncompleteReadError``/``ResponseStreamingError`` while reading ``Body``; only
  s3transfer's ``download_file`` retries that (``num_download_attempts``, 5 by default);
  ``get_object(...)["Body"].read()`` does not (and ``with resp["Body"] as raw`` yields the raw
  urllib3 stream, which botocore opens with ``enforce_content_length=False``: a cut body then
  reads as a short, successful one). Uploads through s3transfer (``TRANSFER``:
  8 MiB parts, 6 in flight) abort the multipart upload when any part or the completion fails.
- deedbox's Convex transport (``deedbox/convex/transport.py``) retries 500/502/503/504,
  connection errors and timeouts for idempotent calls, ``backoff * 2**attempt``; nothing else.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.quiet_http import QuietHTTPServer

S3_ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    502: ("BadGateway", "Bad gateway."),
    503: ("SlowDown", "Please reduce your request rate."),
    504: ("GatewayTimeout", "Gateway timeout."),
}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "expect"}



@dataclass
class Rule:
    """One armed fault; see the module docstring for the fields."""

    kind: str  # status | reset | truncate | delay
    method: str | None = None
    path: str | None = None  # a regular expression, searched in the decoded path
    query: tuple[str, ...] = ()  # query parameters that must all be present
    body: bytes | None = None  # a regular expression searched in the request body
    times: int | None = 1  # None: every matching request (a persistent fault)
    skip: int = 0  # matching requests let through before the first fault
    seconds: float | None = None  # the rule expires this long after it was armed
    status: int = 503
    code: str | None = None  # S3 error code (default from S3_ERRORS)
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (status)
    keep: int | None = None  # truncate: bytes of the body sent (None: half)
    forward: bool = False  # reset: send the request upstream before dropping the connection
    seconds_delay: float = 0.0  # delay
    armed_at: float = field(default_factory=time.monotonic)
    matched: int = 0
    injected: int = 0

    def matches(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> bool:
        if self.method is not None and method != self.method:
            return False
        if self.path is not None and not re.search(self.path, path):
            return False
        if self.body is not None and not re.search(self.body, body):
            return False
        return all(q in query for q in self.query)

    def live(self) -> bool:
        if self.seconds is not None and time.monotonic() - self.armed_at > self.seconds:
            return False
        return self.times is None or self.injected < self.times


@dataclass(frozen=True)
class Event:
    """One request the proxy saw and what it did with it."""

    method: str
    path: str
    query: str
    action: str  # forwarded | status <n> | reset | reset after forward | truncate | delay
    status: int | None = None


class FaultProxy:
    """``with FaultProxy(upstream) as proxy: proxy.inject(...)``; ``proxy.url`` to connect to."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.scheme == "http" and parts.hostname, upstream
        self.upstream = (parts.hostname, parts.port or 80)
        self.rules: list[Rule] = []
        self.log: list[Event] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # ---- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> FaultProxy:
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._httpd = QuietHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # ---- test API ------------------------------------------------------------------------
    def inject(self, kind: str, *, method: str | None = None, path: str | None = None,
               query: str | tuple[str, ...] = (), **kw: object) -> Rule:
        """Arm a rule (``kind``: status, reset, truncate, delay); returns it (see ``injected``)."""
        assert kind in ("status", "reset", "truncate", "delay"), kind
        rule = Rule(kind, method, path, (query,) if isinstance(query, str) else tuple(query), **kw)  # type: ignore[arg-type]
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Disarm every rule (the log is kept)."""
        with self._lock:
            self.rules.clear()

    def events(self, action: str | None = None, method: str | None = None,
               path: str | None = None) -> list[Event]:
        """The log, filtered (``action`` prefix, exact ``method``, ``path`` regex)."""
        with self._lock:
            log = list(self.log)
        return [e for e in log if (action is None or e.action.startswith(action))
                and (method is None or e.method == method)
                and (path is None or re.search(path, e.path))]

    def injected(self) -> list[Event]:
        return [e for e in self.events() if e.action != "forwarded"]

    # ---- used by the handler -------------------------------------------------------------
    def _pick(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if not rule.live() or not rule.matches(method, path, query, body):
                    continue
                rule.matched += 1
                if rule.matched <= rule.skip:
                    continue
                rule.injected += 1
                return rule
        return None

    def _record(self, event: Event) -> None:
        with self._lock:
            self.log.append(event)


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive like S3; BaseHTTPRequestHandler answers Expect: 100-continue

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path, query_text = unquote(parts.path), parts.query
        query = parse_qs(query_text, keep_blank_values=True)
        body = self._read_body()  # always read it all: the connection may be reused
        rule = self.proxy._pick(self.command, path, query, body)

        def record(action: str, status: int | None = None) -> None:
            self.proxy._record(Event(self.command, path, query_text, action, status))

        if rule is None:
            status, headers, data = self._forward(body)
            record("forwarded", status)
            return self._reply(status, headers, data)
        if rule.kind == "status":
            record(f"status {rule.status}", rule.status)
            return self._error(rule)
        if rule.kind == "delay":
            time.sleep(rule.seconds_delay)
            status, headers, data = self._forward(body)
            record("delay", status)
            return self._reply(status, headers, data)
        if rule.kind == "reset":
            if rule.forward:
                self._forward(body)
            record("reset after forward" if rule.forward else "reset")
            return self._reset()
        status, headers, data = self._forward(body)  # truncate
        keep = len(data) // 2 if rule.keep is None else min(rule.keep, max(len(data) - 1, 0))
        record("truncate", status)
        self._reply(status, headers, data[:keep], length=len(data))
        self.wfile.flush()
        self._close()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.proxy.upstream, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP], data
        finally:
            conn.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes,
               length: int | None = None) -> None:
        self.send_response_only(status)
        head = self.command == "HEAD"
        for name, value in headers:
            if name.lower() != "content-length" or head:  # HEAD: the object's length, as sent
                self.send_header(name, value)
        if not head:
            self.send_header("Content-Length", str(len(data) if length is None else length))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _error(self, rule: Rule) -> None:
        code, message = S3_ERRORS.get(rule.status, ("InternalError", "injected"))
        code = rule.code or code
        data = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message><RequestId>fault-proxy</RequestId>"
                f"<HostId>fault-proxy</HostId></Error>").encode()
        headers = [("Content-Type", "application/xml"), *rule.headers.items()]
        if self.command == "HEAD":  # no body, as S3 answers a failed HeadObject
            headers.append(("Content-Length", "0"))
        self._reply(rule.status, headers, data)

    def _close(self) -> None:
        """Close after what was sent (a FIN): the client reads it, then an early end of body."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)

    def _reset(self) -> None:
        """Close now with an RST (no FIN, no response): what a dropped connection looks like."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
