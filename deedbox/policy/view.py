"""A small, engine-neutral view of resources that every rule function reads.

The same rules run inside ``pulumi preview --policy-pack policies/`` (where they receive
``pulumi_policy`` argument objects) and inside ``deedbox plan`` (where they receive a recorded
``Graph``). Both are turned into ``Res``/``Stack`` here, so rule logic never sees either engine.

Sub-resources of a v7 bucket name the bucket by its ``bucket`` input: the bucket's name, its id,
or an output not known yet. ``Stack.sub_resources`` joins on every known identifier of the
bucket, then falls back to the property dependency of ``bucket`` (or, in a recorded graph, to the
one bucket among the resource's dependencies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
AWS_PROVIDER = "pulumi:providers:aws"
DRILL_TAG = "deedbox:drill"
TTL_TAG = "deedbox:expires"
UNKNOWN = "[unknown]"
_MARKERS = ("[secret]", UNKNOWN)


@dataclass(frozen=True)
class Res:
    """One resource as a rule sees it: its properties, protection, provider and dependencies."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any] = field(default_factory=dict)
    protect: bool = False
    provider: str | None = None  # provider URN, None for the default provider
    ident: str | None = None  # the id the engine assigned, when known
    dependencies: tuple[str, ...] = ()
    prop_deps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """A property, with unknown/secret markers read as missing."""
        value = peek(self.props, key, default)
        return default if is_marker(value) else value

    @property
    def tags(self) -> Mapping[str, str]:
        tags = self.get("tags") or {}
        return tags if isinstance(tags, Mapping) else {}

    @property
    def is_drill(self) -> bool:
        return DRILL_TAG in self.tags

    def identifiers(self) -> set[str]:
        """Every string another resource may use to point at this one (name, id, ARN...)."""
        keys = ("bucket", "id", "arn", "keyId", "name")
        found = {peek(self.props, k) for k in keys} | {self.ident}
        return {v for v in found if isinstance(v, str) and v and not is_marker(v)}


@dataclass(frozen=True)
class Stack:
    """Every resource of a stack, plus the provider resources they reference."""

    resources: tuple[Res, ...]
    providers: Mapping[str, Res] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[Res]:
        return [r for r in self.resources if r.type in types]

    def by_urn(self, urn: str | None) -> Res | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def provider_of(self, res: Res) -> Res | None:
        if res.provider is None:
            return None
        return self.providers.get(res.provider) or self.by_urn(res.provider)

    def region_of(self, res: Res) -> str | None:
        """The v7 per-resource ``region`` input, else its provider's region (None: unknown)."""
        region = res.get("region")
        if region:
            return region
        provider = self.provider_of(res)
        return provider.get("region") if provider else None

    def buckets(self, *, drills: bool = False) -> list[Res]:
        return [b for b in self.of_type(*BUCKET_TYPES) if drills or not b.is_drill]

    def bucket_for(self, ref: Any, res: Res | None = None, key: str = "bucket") -> Res | None:
        """The declared bucket that ``ref`` (a name, id or ARN) points at, if any."""
        buckets = self.of_type(*BUCKET_TYPES)
        if isinstance(ref, str) and not is_marker(ref):
            name = ref.split(":::", 1)[-1] if ref.startswith("arn:") else ref
            for bucket in buckets:
                if {ref, name} & bucket.identifiers():
                    return bucket
        if res is None:
            return None
        urns = {b.urn for b in buckets}
        linked = [u for u in res.prop_deps.get(key, ()) if u in urns]
        if not linked and key == "bucket":
            linked = [u for u in res.dependencies if u in urns]
        return self.by_urn(linked[0]) if len(linked) == 1 else None

    def sub_resources(self, bucket: Res, type_: str) -> list[Res]:
        """Resources of ``type_`` whose ``bucket`` input points at ``bucket``."""
        return [r for r in self.of_type(type_) if self._points_at(r, bucket)]

    def _points_at(self, res: Res, bucket: Res) -> bool:
        target = self.bucket_for(peek(res.props, "bucket"), res)
        return target is not None and target.urn == bucket.urn

    def find(self, ref: Any, *types: str) -> Res | None:
        """The resource of one of ``types`` that ``ref`` (id, ARN, name...) identifies."""
        if not isinstance(ref, str) or is_marker(ref):
            return None
        return next((r for r in self.of_type(*types) if ref in r.identifiers()), None)


def peek(mapping: Any, key: str, default: Any = None) -> Any:
    """``mapping.get(key)``, where a value the engine cannot know yet (``pulumi_policy`` raises
    ``UnknownValueError`` during a preview) reads as the recorder's ``[unknown]`` marker. Used for
    joins and for "is it set" checks: an output of another resource is set, just not known yet."""
    try:
        return mapping.get(key, default) if isinstance(mapping, Mapping) else default
    except Exception as err:  # pulumi_policy.proxy.UnknownValueError, without importing Pulumi here
        if type(err).__name__ == "UnknownValueError":
            return UNKNOWN
        raise


def is_marker(value: Any) -> bool:
    """True for the recorder's secret/unknown placeholders."""
    return isinstance(value, str) and value in _MARKERS


def as_list(value: Any) -> list:
    """Pulumi list inputs may arrive as a single object; rules always iterate."""
    if value is None or is_marker(value):
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [value[i] for i in range(len(value))]
    return [value]


def dig(value: Any, *path: str | int, unknown: Any = None) -> Any:
    """Walk nested dicts/lists (a single-item list is looked through), None when absent;
    ``unknown`` when a step is not known yet (pass ``UNKNOWN`` where "set" is what matters)."""
    for step in path:
        if isinstance(value, Sequence) and not isinstance(value, str) and isinstance(step, str):
            value = value[0] if len(value) == 1 else None
        if isinstance(step, int):
            value = value[step] if isinstance(value, Sequence) and len(value) > step else None
        elif isinstance(value, Mapping):
            value = peek(value, step)
        else:
            return None
        if is_marker(value):
            return unknown
    return value


def stack_of(resources: Iterable[Res], providers: Mapping[str, Res] | None = None) -> Stack:
    resources = tuple(resources)
    provs = dict(providers or {})
    provs.update({r.urn: r for r in resources if r.type.startswith("pulumi:providers:")})
    return Stack(resources, provs)
