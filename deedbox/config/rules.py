"""Semantic rules: what a schema cannot say about a backup plan.

Each rule is a function ``(doc) -> Iterator[Diagnostic]`` registered under its id with
``@rule``; its docstring is the rule's documentation (``docs/config.md`` lists them all). Rules
run only on a schema-valid document, so they may index it freely, and they point at the node
that must change. ``secret-value`` runs on every parsed document, valid or not.
"""

from __future__ import annotations

from collections.abc import Iterator

from deedbox.config.diagnostics import Diagnostic, PathT, dotted
from deedbox.config.registry import at, get, rule
from deedbox.config.schedule import ScheduleError, interval_hours
from deedbox.config.secretscan import scan
from deedbox.config.yamlread import Document

SCHEDULES: tuple[PathT, ...] = (("backups", "backend", "schedule"), ("backups", "media", "schedule"),
                                ("backups", "secrets", "verify_schedule"), ("drills", "schedule"))


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


@rule("replica-region")
def replica_region(doc: Document) -> Iterator[Diagnostic]:
    """The replica is in another region than the primary backup bucket, so one regional outage cannot take both."""
    dest = doc.data["destination"]
    if get(dest, ("replica", "region")) == dest["region"]:
        yield at(doc, ("destination", "replica", "region"), "replica-region",
                 f"the replica must be in another region than destination.region ({dest['region']})")


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
