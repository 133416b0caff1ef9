"""The recorded resource graph: what the Pulumi program registered, engine-shaped.

This is the contract between the recorder (``deedbox.plan.engine``), the policy evaluation
(``deedbox.policy``), the diff and the renderers. Inputs are kept as the engine sees them:
camelCase keys, numbers as they were sent (floats for JSON numbers), secrets replaced by the
marker ``SECRET``; unknown values (computed outputs during a preview) as ``UNKNOWN``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SECRET = "[secret]"
UNKNOWN = "[unknown]"


@dataclass(frozen=True)
class ResourceRecord:
    """One ``RegisterResource`` call."""

    type: str  # e.g. "aws:s3/bucket:Bucket", "deedbox:store:BackupStore", "pulumi:providers:aws"
    name: str  # logical name
    urn: str
    custom: bool  # False for component resources
    inputs: Mapping[str, Any] = field(default_factory=dict)
    parent: str | None = None  # parent URN
    provider: str | None = None  # provider reference "<urn>::<id>" as the engine sees it
    protect: bool = False
    retain_on_delete: bool = False
    additional_secret_outputs: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()  # URNs
    id: str | None = None  # the id the mock engine assigned
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def provider_urn(self) -> str | None:
        return None if self.provider is None else self.provider.rsplit("::", 1)[0]


@dataclass(frozen=True)
class Graph:
    """Every resource the program registered, in registration order, plus its stack outputs."""

    resources: tuple[ResourceRecord, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[ResourceRecord]:
        return iter(self.resources)

    def of_type(self, *types: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.type in types]

    def by_urn(self, urn: str) -> ResourceRecord | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def children(self, urn: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.parent == urn]
