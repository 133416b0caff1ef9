"""The HTTP server the test doubles run on (Convex, Management API, the fault proxy)."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class QuietHTTPServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (a reset, a cut body, a retry racing it) is part of the
    test, not an error: socketserver would print a traceback to the test process's stderr, where
    the CLI's one-line contract is being checked."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass
