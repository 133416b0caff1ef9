"""The dead-man's switch as data: which arrivals in the backup bucket it counts, and for how long
their absence is tolerated (pure: no Pulumi, no AWS; ``alarms`` declares the resources).

Each *signal* is one kind of object the scheduled jobs write last, so its arrival means the job
finished: a verified snapshot's ``manifest.json``, a media-sync record, a drill's ``report.json``.
S3 sends every object creation to EventBridge; a rule per signal matches its keys and logs the
event into a log group, a metric filter counts it, and an alarm fires when the count stays zero.

*Plain* signals: the alarm fires after ``window_hours`` without an arrival (RPO + 1 hour for
backups; the longest gap between drills + the drill's own time for drills). CloudWatch alarms look
back at most 7 days (PutMetricAlarm: Period x EvaluationPeriods <= 604,800 s), so a longer window
cannot be watched that way. Such a signal is *due-driven*: an EventBridge Scheduler schedule on
the job's own schedule writes a "due" data point, and a composite alarm fires when a run was due
more than ``grace_hours`` ago and nothing arrived in the 7 days before (docs/topology.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from deedbox.bucket.layout import PREFIXES
from deedbox.config.jobs import Job, jobs
from deedbox.config.model import Config
from deedbox.config.schedule import interval_hours
from deedbox.topology.names import alarm_name

LOOKBACK_HOURS = 168  # PutMetricAlarm: "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds"
PERIOD_SECONDS = 3600  # one-hour periods: the 7-day limit applies (periods under an hour: 1 day)
SLACK_HOURS = 1  # the job's own run time and the alarm's one-hour periods


@dataclass(frozen=True)
class Signal:
    """One kind of arrival the switch watches."""

    id: str  # backend | media | drill
    noun: str  # in alarm names: no-<noun>
    metric: str  # arrivals, counted in the namespace of names.metric_namespace
    key: dict[str, Any]  # EventBridge matcher of detail.object.key
    what: str  # what arrives, for people
    window_hours: int  # no arrival for this long: ALARM (plain signals)
    schedule: str  # the job's schedule (due-driven signals write their due marker on it)
    grace_hours: int  # how long a due run may take before its arrival is missed

    @property
    def due_driven(self) -> bool:
        return self.window_hours > LOOKBACK_HOURS

    @property
    def due_metric(self) -> str:
        return f"{self.id.capitalize()}Due"


def _grace(job: Job) -> int:
    return math.ceil(job.timeout_minutes / 60) + SLACK_HOURS


def signals(config: Config) -> list[Signal]:
    """The signals ``config`` implies: backend always, media with ``backups.media``, drills with ``drills``."""
    by_id = {j.id: j for j in jobs(config)}
    out = [_backend(config, by_id["export"])]
    if "media" in by_id and config.backups.media is not None:
        out.append(_media(config, by_id["media"]))
    if "drill" in by_id:
        out.append(_drill(by_id["drill"]))
    return out


def _backend(config: Config, job: Job) -> Signal:
    return Signal("backend", "snapshot", "BackendSnapshots", {"wildcard": f"{PREFIXES['backend']}*/manifest.json"},
                  "a verified snapshot (backend/<deployment>/<ts>-<reason>/manifest.json, written last)",
                  config.backups.backend.rpo_hours + SLACK_HOURS, job.schedule, _grace(job))


def _media(config: Config, job: Job) -> Signal:
    assert config.backups.media is not None  # signals() asks only then
    return Signal("media", "media-record", "MediaRecords", {"prefix": f"{PREFIXES['records']}media-sync/"},
                  "a media-sync record (records/media-sync/<ts>.json: the copy in sync mode, the replication "
                  "check in replicate mode)", config.backups.media.rpo_hours + SLACK_HOURS, job.schedule, _grace(job))


def _drill(job: Job) -> Signal:
    grace = _grace(job)
    return Signal("drill", "drill-report", "DrillReports", {"wildcard": f"{PREFIXES['drills']}*/report.json"},
                  "a drill report (drills/<ts>/report.json, written last)",
                  math.ceil(interval_hours(job.schedule)) + grace, job.schedule, grace)


def event_pattern(bucket: str, signal: Signal) -> dict[str, Any]:
    """The EventBridge pattern of ``signal``'s arrivals in ``bucket``.

    S3's "Object Created" events (S3 user guide, "Using EventBridge": source ``aws.s3``,
    ``detail.bucket.name``, ``detail.object.key``). A list of matchers is an OR, so "prefix AND
    suffix" is written as one ``wildcard`` matcher (EventBridge user guide, "Comparison operators":
    ``"FileName": [{"wildcard": "dir/*.png"}]``; ``*`` matches zero or more characters, ``/`` too).
    """
    return {"source": ["aws.s3"], "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket]}, "object": {"key": [signal.key]}}}


@dataclass(frozen=True)
class AlarmNames:
    """The alarms of one signal. ``notifying`` is the one with actions, the one to look at."""

    arrivals: str  # no arrival within the window (plain) or within 7 days (due-driven)
    due: str | None = None  # due-driven: a run was due within the last 7 days
    running: str | None = None  # due-driven: a run was due within the last grace_hours
    overdue: str | None = None  # due-driven: the composite of the three

    @property
    def notifying(self) -> str:
        return self.overdue or self.arrivals


def alarm_names(name: str, signal: Signal) -> AlarmNames:
    arrivals = alarm_name(name, f"no-{signal.noun}")
    if not signal.due_driven:
        return AlarmNames(arrivals)
    return AlarmNames(arrivals, due=alarm_name(name, f"{signal.id}-due"),
                      running=alarm_name(name, f"{signal.id}-running"), overdue=alarm_name(name, f"{signal.id}-overdue"))


def composite_rule(names: AlarmNames) -> str:
    """ALARM when nothing arrived in 7 days, a run was due in those 7 days, and not just now
    (CloudWatch's own example of this shape: ``ALARM(CPUUtilizationTooHigh) AND NOT
    ALARM(DeploymentInProgress)``, PutCompositeAlarm ``AlarmRule``)."""
    return f'ALARM("{names.arrivals}") AND ALARM("{names.due}") AND NOT ALARM("{names.running}")'
