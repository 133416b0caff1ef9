"""A read-only stream over an HTTP body that turns a cut connection into one ConvexError."""

from __future__ import annotations

import io
from typing import Any

from deedbox.errors import ConvexError


class GuardedStream(io.RawIOBase):
    """Wraps ``urllib3``'s raw response: errors mid-body and short bodies become ConvexError."""

    def __init__(self, raw: Any, length: int | None, what: str) -> None:
        self._raw = raw
        self._length = length
        self._what = what
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        try:
            data = self._raw.read(len(buf))
        except Exception as err:  # urllib3 ProtocolError / IncompleteRead / socket errors
            raise self._cut(type(err).__name__) from None
        n = len(data)
        buf[:n] = data
        self.received += n
        if n == 0 and self._length is not None and self.received < self._length:
            raise self._cut("connection closed early")
        return n

    def _cut(self, why: str) -> ConvexError:
        total = f" of {self._length}" if self._length is not None else ""
        return ConvexError(f"download of {self._what} was cut after {self.received}{total} "
                           f"bytes ({why}); retry the export")
