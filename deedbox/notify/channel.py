"""What every channel is and returns: a ``Channel`` sends an ``Event`` and says how it went."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from deedbox.config.model import Config
from deedbox.notify.events import Event


@dataclass(frozen=True)
class Outcome:
    """One send: ``ok``, else ``reason`` (one line, never a secret); SNS adds the ``message_id``."""

    ok: bool
    reason: str = ""
    message_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """An outcome with the channel it came from: ``label`` (``slack``, ``sns <arn>``) for listings,
    ``target`` (``slack webhook ($VAR)``, ``sns <arn>``) for error lines."""

    label: str
    target: str
    outcome: Outcome

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    def error_line(self) -> str:
        return f"{self.target}: {self.outcome.reason}"


class Channel(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def target(self) -> str: ...

    def send(self, event: Event, config: Config) -> Outcome: ...
