"""Semantic rules: what a schema cannot say about a backup plan.

Each rule is a function ``(doc) -> Iterator[Diagnostic]`` registered under its id with
``@rule``; its docstring is the rule's documentation (``docs/config.md`` lists them all). Rules
run only on a schema-valid document, so they may index it freely, and they point at the node
that must change. ``secret-value`` runs on every parsed document, valid or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from deedbox.config import regions
from deedbox.config.diagnostics import Diagnostic, PathT, dotted
from deedbox.config.model import Storage
from deedbox.config.registry import at, get, rule
from deedbox.config.schedule import ScheduleError, interval_hours
from deedbox.config.secretscan import describe, scan
from deedbox.config.yamlread import Document

SCHEDULES: tuple[PathT, ...] = (("backups", "backend", "schedule"), ("backups", "media", "schedule"),
                                ("backups", "secrets", "verify_schedule"), ("drills", "schedule"))
# every property of the schema that is an AWS region (a test keeps this in step with the schema)
REGIONS: tuple[PathT, ...] = (("source", "region"), ("source", "media", "region"), ("destination", "region"),
                              ("destination", "replica", "region"))
_ARN_ACCOUNT = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:([0-9]{12}):")


def secret_values(doc: Document) -> list[Diagnostic]:
    """Rule ``secret-value``: a string or key that looks like a secret; the value is never shown."""
    return [at(doc, path, "secret-value",
               f"{'a key' if is_key else 'this value'} looks like {kind}; keep secrets out of backup.yaml "
               "and reference them as {env: NAME}", key=is_key)
            for path, is_key, kind in scan(doc.data)]


def _hours(n: float) -> str:
    if n >= 48 and n % 24 == 0:
        return f"{int(n // 24)} days"
    return f"{n:g} hour{'s' if n != 1 else ''}"


@rule("off-platform")
def off_platform(doc: Document) -> Iterator[Diagnostic]:
    """The destination is another AWS account than the source: a compromised platform account must not reach its backups."""
    if doc.data["destination"]["account"] == doc.data["source"]["account"]:
        yield at(doc, ("destination", "account"), "off-platform",
                 "destination.account is the source account; off-platform backups must live in another AWS account")


@rule("destination-principal")
def destination_principal(doc: Document) -> Iterator[Diagnostic]:
    """No ARN in `destination` (`assume_role_arn`, `break_glass_principal`, ...) belongs to the source account: a platform identity that deploys or unlocks the backups defeats off-platform. `assume_role_arn` is a role of the destination account itself (the destination provider deploys only there)."""
    source, dest = doc.data["source"]["account"], doc.data["destination"]["account"]
    for path, value in _strings(doc.data["destination"], ("destination",)):
        m = _ARN_ACCOUNT.match(value)
        if m and m.group(1) == source:
            yield at(doc, path, "destination-principal",
                     f"{dotted(path)} is in the source account ({source}); a principal of the platform account "
                     f"defeats off-platform backups, use one outside it (such as account {dest})")
        elif m and path == ("destination", "assume_role_arn") and m.group(1) != dest:
            yield at(doc, path, "destination-principal",
                     f"destination.assume_role_arn is in account {m.group(1)}, not the destination account ({dest}); "
                     "the backups are deployed with this role, and only into the destination account")


def _strings(value: Any, path: PathT) -> Iterator[tuple[PathT, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, path + (i,))


@rule("region")
def known_regions(doc: Document) -> Iterator[Diagnostic]:
    """Every region (`source.region`, `source.media.region`, `destination.region`, `destination.replica.region`) is a real AWS region of the `aws`, `aws-cn` or `aws-us-gov` partition (botocore's list); a typo gets a suggestion."""
    for path in REGIONS:
        region = get(doc.data, path)
        if region is None or regions.partition(region):
            continue
        close = regions.suggest(region)
        hint = ("; did you mean " + " or ".join(repr(c) for c in close) + "?") if close else \
            f" in the {', '.join(regions.PARTITIONS[:-1])} or {regions.PARTITIONS[-1]} partitions"
        yield at(doc, path, "region", f"unknown AWS region {describe(region)}{hint}")


@rule("replica-region")
def replica_region(doc: Document) -> Iterator[Diagnostic]:
    """The replica is in another region than the primary backup bucket, so one regional outage cannot take both."""
    dest = doc.data["destination"]
    if get(dest, ("replica", "region")) == dest["region"]:
        yield at(doc, ("destination", "replica", "region"), "replica-region",
                 f"the replica must be in another region than destination.region ({dest['region']})")


@rule("partition")
def one_partition(doc: Document) -> Iterator[Diagnostic]:
    """The destination, its replica, the ARNs in `destination` and (replicate mode) the media bucket are in one AWS partition (`aws`, `aws-cn`, `aws-us-gov`): accounts, roles and S3 replication never cross partitions."""
    dest = doc.data["destination"]
    home = regions.partition(dest["region"])
    if home is None:
        return  # an unknown region is the `region` rule's
    where = f"destination.region ({dest['region']}) is in {home}"
    replica = get(dest, ("replica", "region"))
    if replica is not None and regions.partition(replica) not in (None, home):
        yield at(doc, ("destination", "replica", "region"), "partition",
                 f"the replica region {replica} is in the {regions.partition(replica)} partition but {where}; "
                 "S3 replicates only within a partition")
    for path, value in _strings(dest, ("destination",)):
        if value.startswith("arn:") and value.split(":", 2)[1] != home:
            yield at(doc, path, "partition",
                     f"{dotted(path)} is an {value.split(':', 2)[1]} ARN but {where}; use arn:{home}:...")
    media = get(doc.data, ("source", "media"))
    if media is not None and get(doc.data, ("backups", "media", "mode")) == "replicate" and "endpoint_url" not in media:
        path = ("source", "media", "region") if "region" in media else ("source", "region")
        region = get(doc.data, path)
        if regions.partition(region) not in (None, home):
            yield at(doc, path, "partition",
                     f"the media bucket's region {region} is in the {regions.partition(region)} partition but {where}; "
                     "replicate mode cannot cross partitions")


@rule("lock-covers-rpo")
def lock_covers_rpo(doc: Document) -> Iterator[Diagnostic]:
    """The object lock lasts at least as long as every RPO (backend, media): the newest backup is always locked."""
    days = doc.data["destination"]["immutability"]["days"]
    for kind in ("backend", "media"):
        rpo = get(doc.data, ("backups", kind, "rpo_hours"))
        if rpo is not None and days * 24 < rpo:
            yield at(doc, ("destination", "immutability", "days"), "lock-covers-rpo",
                     f"a {days}-day lock ({days * 24} hours) is shorter than backups.{kind}.rpo_hours ({rpo}); "
                     "the newest backup could be unlocked")


@rule("lock-covers-drill-interval")
def lock_covers_drill(doc: Document) -> Iterator[Diagnostic]:
    """The object lock lasts at least the longest gap between drills, so a drill restores a backup that is still locked."""
    days = doc.data["destination"]["immutability"]["days"]
    gap = _interval(get(doc.data, ("drills", "schedule")))
    if gap is not None and gap != float("inf") and days * 24 < gap:
        yield at(doc, ("destination", "immutability", "days"), "lock-covers-drill-interval",
                 f"a {days}-day lock is shorter than the longest gap between drills ({_hours(gap)}); "
                 "a drill must find the backup it restores still locked")


@rule("expiry-after-lock")
def expiry_after_lock(doc: Document) -> Iterator[Diagnostic]:
    """Current and noncurrent versions expire only after the lock ends (S3 would keep them anyway; the plan would lie)."""
    days = doc.data["destination"]["immutability"]["days"]
    for key in ("expire_after_days", "noncurrent_expire_after_days"):
        value = get(doc.data, ("destination", "storage", key))
        if value is not None and value <= days:
            yield at(doc, ("destination", "storage", key), "expiry-after-lock",
                     f"{key} ({value}) must be longer than the {days}-day lock (immutability.days)")


@rule("archive-before-expiry")
def archive_before_expiry(doc: Document) -> Iterator[Diagnostic]:
    """Objects are archived before they expire: `archive_after_days` (default 30) is less than `expire_after_days` when both are set. Not repeated when raising `expire_after_days` past the lock (`expiry-after-lock`) fixes it too."""
    storage = get(doc.data, ("destination", "storage"), {})
    expire = storage.get("expire_after_days")
    explicit = "archive_after_days" in storage
    archive = storage["archive_after_days"] if explicit else Storage().archive_after_days
    if expire is None or archive is None or archive < expire:
        return
    days = doc.data["destination"]["immutability"]["days"]
    if expire <= days and archive <= days:
        return  # expiry-after-lock asks for expire_after_days > days, which is > archive_after_days too
    if explicit:
        yield at(doc, ("destination", "storage", "archive_after_days"), "archive-before-expiry",
                 f"archive_after_days ({archive}) must be less than expire_after_days ({expire}); "
                 "objects would expire before they are archived")
    else:
        yield at(doc, ("destination", "storage", "expire_after_days"), "archive-before-expiry",
                 f"expire_after_days ({expire}) must be more than archive_after_days ({archive}, the default); "
                 "objects would expire before they are archived (set archive_after_days lower, or null)")


def _interval(expression: str | None) -> float | None:
    try:
        return None if expression is None else interval_hours(expression)
    except ScheduleError:
        return None


@rule("schedule")
def schedules(doc: Document) -> Iterator[Diagnostic]:
    """Every schedule parses in the EventBridge dialect (`rate(...)`, six-field `cron(...)`) and recurs."""
    for path in SCHEDULES:
        expression = get(doc.data, path)
        if expression is None:
            continue
        try:
            gap = interval_hours(expression)
        except ScheduleError as err:
            yield at(doc, path, "schedule", f"invalid schedule: {err}")
            continue
        if gap == float("inf"):
            yield at(doc, path, "schedule", "this schedule fires at most once in four years; backups need a recurring schedule")


@rule("schedule-meets-rpo")
def schedule_meets_rpo(doc: Document) -> Iterator[Diagnostic]:
    """A schedule's longest gap does not exceed the RPO (or max verify age) it serves; otherwise status is stale by design."""
    pairs = ((("backups", "backend", "schedule"), ("backups", "backend", "rpo_hours"), 0),
             (("backups", "media", "schedule"), ("backups", "media", "rpo_hours"), 0),
             (("backups", "secrets", "verify_schedule"), ("backups", "secrets", "max_verify_age_hours"), 24))
    for sched_path, limit_path, default in pairs:
        gap = _interval(get(doc.data, sched_path))
        limit = get(doc.data, limit_path, default)
        if gap is not None and gap != float("inf") and limit and gap > limit:
            yield at(doc, sched_path, "schedule-meets-rpo",
                     f"runs up to {_hours(gap)} apart, longer than {dotted(limit_path)} ({limit}); status would report it stale")


def _prefixes(doc: Document) -> list[tuple[str, str]]:
    """``(class, prefix)`` of every media class, in document order."""
    classes = get(doc.data, ("source", "media", "classes"), {})
    return [(name, c["prefix"]) for name, c in classes.items()]


@rule("media-prefix")
def media_prefix(doc: Document) -> Iterator[Diagnostic]:
    """A media prefix is a plain relative key prefix: no `.` or `..` segment (`./`, `../../`) and no empty one (`a//`); a leading `/` is already a schema error. Copies are kept under `media/<class>/<prefix>`; a `..` would point outside that folder for every tool that resolves paths (`aws s3 sync` to disk, a restore)."""
    for name, prefix in _prefixes(doc):
        segments = prefix[:-1].split("/") if prefix else []
        problem = next((what for seg, what in ((s, _SEGMENTS.get(s)) for s in segments) if what), None)
        if problem:
            yield at(doc, ("source", "media", "classes", name, "prefix"), "media-prefix",
                     f"prefix {describe(prefix)} of media class {describe(name)} has {problem}; "
                     "write a plain relative prefix such as 'uploads/'")


_SEGMENTS = {"..": "a '..' segment", ".": "a '.' segment", "": "an empty segment ('//')"}


@rule("media-prefix-overlap")
def media_prefix_overlap(doc: Document) -> Iterator[Diagnostic]:
    """Media classes do not share objects: no two prefixes are equal and none lies inside another (the empty prefix, the whole bucket, contains every other)."""
    order = {name: i for i, (name, _) in enumerate(_prefixes(doc))}
    open_: list[tuple[str, str]] = []  # enclosing prefixes of the one being looked at, outermost first
    found = []
    for prefix, name in sorted((p, n) for n, p in _prefixes(doc)):
        while open_ and not prefix.startswith(open_[-1][0]):
            open_.pop()
        if open_:
            outer, other = open_[-1]
            if outer == prefix:  # the same prefix: the later class in the file is the one to change
                first, second = sorted((name, other), key=order.__getitem__)
                found.append((second, f"media class {describe(second)} has the same prefix as class "
                                      f"{describe(first)} ({describe(prefix)}); each object must belong to one class"))
            else:
                found.append((name, f"prefix {describe(prefix)} of media class {describe(name)} lies inside prefix "
                                    f"{describe(outer)} of class {describe(other)}; its objects would be backed up twice"))
        open_.append((prefix, name))
    for name, message in sorted(found, key=lambda f: order[f[0]]):
        yield at(doc, ("source", "media", "classes", name, "prefix"), "media-prefix-overlap", message)
