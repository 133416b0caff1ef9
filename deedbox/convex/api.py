"""``ConvexApi``: what backups, restores and drills need from a Convex deployment.

``deedbox.convex.client.ConvexClient`` is the implementation; tests may pass anything with these
methods. Operations depend on this protocol, not on the HTTP client, so they can be read (and
driven) without knowing how a request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

from deedbox.config.model import Identity


class ExportInfo(Protocol):
    """A completed export: Convex's ``start_ts`` names it, ``size`` when the backend reports one."""

    @property
    def start_ts(self) -> int | None: ...

    @property
    def size(self) -> int | None: ...


class ConvexApi(Protocol):
    def export(self, *, include_storage: bool, deadline_s: float = ..., poll_s: float = ...) -> ExportInfo:
        """Request a snapshot export and wait until it completed."""
        ...

    def download_export(self, start_ts: int) -> AbstractContextManager[BinaryIO]:
        """The export's ZIP as a stream."""
        ...

    def import_zip(self, source: str | Path | IO[bytes], *, mode: str = ..., component: str | None = ...,
                   deadline_s: float = ..., poll_s: float = ...) -> int:
        """Import a snapshot ZIP keeping ``_id``s; the number of documents written."""
        ...

    def query(self, path: str, args: dict[str, Any] | None = None, *,
              as_user: Identity | None = None) -> Any:
        """Run a query (as ``as_user`` when given)."""
        ...

    def table_size(self, table: str) -> int:
        """Documents in a root table."""
        ...

    def list_environment_variables(self) -> dict[str, str]:
        """The deployment's environment variables (values never leave the caller's process)."""
        ...

    def update_environment_variables(self, changes: Mapping[str, str | None]) -> None:
        """Set (value) or delete (None) variables, in one transaction."""
        ...
