"""Pure decisions about the dead-man's switch alarms: one checklist line per alarm.

The alarms are the ones that notify (``deedbox.topology.watch.AlarmNames.notifying``): the plain
alarm of a signal, or the composite of a due-driven one. Facts: one ``DescribeAlarms`` answer for
all of them (``probe.alarm_states``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deedbox.config.model import Config
from deedbox.doctor.report import FAIL, OK, WARN, Answer, Check, Refused
from deedbox.topology.watch import Signal, alarm_names, signals

PERMISSION = "cloudwatch:DescribeAlarms"


def watched(config: Config) -> list[tuple[Signal, str]]:
    """(signal, the name of its notifying alarm) for every signal the config implies."""
    return [(s, alarm_names(config.name, s).notifying) for s in signals(config)]


def alarm_checks(config: Config, answer: Answer) -> list[Check]:
    """``describe_alarms`` of the notifying alarms -> a line each: OK, ALARM, INSUFFICIENT_DATA or missing."""
    pairs = watched(config)
    if isinstance(answer, Refused):
        return [Check(f"alarm.{s.id}", WARN, f"cannot read alarm {name} ({answer.code})",
                      f"run with credentials allowed {PERMISSION}") for s, name in pairs]
    found: dict[str, Mapping[str, Any]] = {}
    for kind in ("MetricAlarms", "CompositeAlarms"):
        for alarm in (answer or {}).get(kind) or []:
            found[str(alarm.get("AlarmName"))] = alarm
    return [_check(s, name, found.get(name)) for s, name in pairs]


def _window(signal: Signal) -> str:
    if signal.due_driven:
        return f"within {signal.grace_hours} hours of each scheduled run ({signal.schedule})"
    return f"within {signal.window_hours} hours"


def _check(signal: Signal, name: str, alarm: Mapping[str, Any] | None) -> Check:
    check_id = f"alarm.{signal.id}"
    if alarm is None:
        return Check(check_id, FAIL, f"{name} does not exist: nothing tells you when {signal.what} stops arriving",
                     "run `pulumi up` (the dead-man's switch declares it)")
    state, since = alarm.get("StateValue"), alarm.get("StateUpdatedTimestamp")
    when = f" since {since:%Y-%m-%d %H:%M} UTC" if hasattr(since, "strftime") else ""
    if state == "ALARM":
        return Check(check_id, FAIL, f"{name} is in ALARM{when}: {signal.what} did not arrive {_window(signal)}",
                     f"see why the {signal.id} job stopped (its runs, `deedbox status`); the alarm returns to OK "
                     "with the next arrival")
    if alarm.get("ActionsEnabled") is False:
        return Check(check_id, WARN, f"{name} is {state}, but its actions are disabled: nobody would be told",
                     f"aws cloudwatch enable-alarm-actions --alarm-names {name}")
    if state == "OK":
        return Check(check_id, OK, f"{name}: OK ({signal.what} arrived {_window(signal)})")
    return Check(check_id, WARN, f"{name} is {state or 'in no state'}{when}: CloudWatch has not evaluated it yet "
                 "(a new alarm) or its metric has no data", None)
