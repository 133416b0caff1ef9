"""The dead-man's switch: when backups stop arriving, an alarm must say so (``deadman-alarms``).

A stack rule, because the switch is a chain of resources: an S3 bucket notification to
EventBridge, a rule whose pattern matches one kind of arrival, a CloudWatch Logs target, a metric
filter counting the logged events into a metric, and an alarm on that metric that treats missing
data as breaching and notifies an SNS topic (itself, or through a composite alarm).

The chain is judged by what it does, not by names: each rule's event pattern is evaluated on a
sample S3 "Object Created" event of the signal's key and on look-alike keys that must not count
(EventBridge's matching for exact values, ``prefix``, ``suffix`` and ``wildcard``; a pattern using
anything else is not understood here and does not count). The keys are the bucket layout's
(``deedbox.bucket.layout``), written here independently of the topology's own patterns.

Which signals a stack must watch: ``backend`` whenever it has a backup bucket, ``media`` when it
has a ``MediaBackup`` component, and every signal a ``DeadMansSwitch`` component declares in its
``watches`` input (the config's drills are not otherwise visible to a policy pack).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from deedbox.policy.catalog import rule
from deedbox.policy.view import Res, Stack, as_list, is_marker

SWITCH = "deedbox:deadman:DeadMansSwitch"
MEDIA_COMPONENT = "deedbox:media:MediaBackup"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
TOPIC = "aws:sns/topic:Topic"

# signal -> (a key that arrives when its job finished, keys that must not count as that)
SIGNALS: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    "backend": ("a verified snapshot", "backend/happy-otter-123/20261127T060000Z-scheduled/manifest.json",
                ("backend/happy-otter-123/20261127T060000Z-scheduled/snapshot.zip", "media/images/a/manifest.json",
                 "restores/backend/manifest.json")),
    "media": ("a media-sync record", "records/media-sync/20261127T060000Z.json",
              ("records/secrets-verify/20261127T060000Z.json", "media/records/media-sync/x.json")),
    "drill": ("a drill report", "drills/20261127T060000Z/report.json",
              ("drills/20261127T060000Z/report.md", "backend/x/drills/y/report.json")),
}


# --------------------------------------------------------------------------- EventBridge matching

def matches(pattern: Any, event: Any) -> bool:
    """Does the EventBridge ``pattern`` match ``event``? Fields AND, a field's list of values OR."""
    if isinstance(pattern, Mapping):
        return isinstance(event, Mapping) and all(k in event and matches(v, event[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        values = event if isinstance(event, list) else [event]
        return any(_leaf(m, v) for m in pattern for v in values)
    return False


def _leaf(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return matcher == value
    if len(matcher) != 1 or not isinstance(value, str):
        return False
    (op, arg), = matcher.items()
    if not isinstance(arg, str):
        return False
    if op == "prefix":
        return value.startswith(arg)
    if op == "suffix":
        return value.endswith(arg)
    if op == "wildcard":  # `*`: zero or more characters; `\*` a literal star
        parts = re.split(r"(?<!\\)\*", arg)
        return re.fullmatch(".*".join(re.escape(p.replace("\\*", "*")) for p in parts), value, re.S) is not None
    return False


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    """An S3 "Object Created" event as EventBridge receives it (S3 user guide, "EventBridge")."""
    return {"version": "0", "source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}, "reason": "PutObject"}}


# --------------------------------------------------------------------------- the chain

@dataclass(frozen=True)
class Chain:
    """What one alarm watches: the signal's arrivals in one bucket, counted into one metric."""

    bucket: str
    metric: tuple[str, str]  # (namespace, name)


def _pattern(res: Res) -> Any:
    text = res.get("eventPattern")
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _counts(stack: Stack, signal: str, buckets: set[str]) -> list[Chain]:
    """Metrics fed with ``signal``'s arrivals: rule -> log group target -> metric filter."""
    _, key, decoys = SIGNALS[signal]
    out = []
    for event_rule in stack.of_type(EVENT_RULE):
        pattern = _pattern(event_rule)
        for bucket in buckets:
            if pattern is None or not matches(pattern, s3_event(bucket, key)):
                continue
            if any(matches(pattern, s3_event(bucket, d)) for d in decoys):
                continue
            for group in _log_groups(stack, event_rule):
                out += [Chain(bucket, m) for m in _metrics(stack, group)]
    return out


def _log_groups(stack: Stack, event_rule: Res) -> list[str]:
    names = {event_rule.get("name"), *event_rule.identifiers()}
    out = []
    for target in stack.of_type(EVENT_TARGET):
        arn = target.get("arn")
        if target.get("rule") in names and isinstance(arn, str) and ":log-group:" in arn:
            out.append(arn.split(":log-group:", 1)[1].removesuffix(":*"))
    return out


def _metrics(stack: Stack, group: str) -> list[tuple[str, str]]:
    out = []
    for f in stack.of_type(METRIC_FILTER):
        if f.get("logGroupName") != group:
            continue
        for t in as_list(f.get("metricTransformation")):
            if isinstance(t, Mapping) and isinstance(t.get("name"), str) and isinstance(t.get("namespace"), str):
                out.append((t["namespace"], t["name"]))
    return out


def _notifies(stack: Stack, actions: Any, res: Res) -> bool:
    """An SNS topic among the alarm actions (an ARN, or a topic declared in the stack)."""
    for action in as_list(actions):
        if isinstance(action, str) and not is_marker(action) and action.split(":")[2:3] == ["sns"]:
            return True
    topics = {t.urn for t in stack.of_type(TOPIC)}
    return is_marker(actions) and bool(topics & set(res.prop_deps.get("alarmActions", ())))


def _composites_over(stack: Stack, alarm: str) -> list[Res]:
    """Composite alarms whose rule needs ``alarm`` in ALARM (not under a NOT)."""
    needle = re.compile(r'(NOT\s+)?ALARM\(\s*"?' + re.escape(alarm) + r'"?\s*\)')
    return [c for c in stack.of_type(COMPOSITE_ALARM)
            if any(not m.group(1) for m in needle.finditer(str(c.get("alarmRule") or "")))]


def _problem(stack: Stack, signal: str, chains: list[Chain]) -> str | None:
    """None when some alarm on the signal's metric fires on silence and notifies; else why not."""
    what = SIGNALS[signal][0]
    if not chains:
        return (f"nothing counts {what}'s arrival ({SIGNALS[signal][1]}): no EventBridge rule matching it in a backup "
                "bucket feeds a log group whose metric filter counts it")
    metrics = {c.metric for c in chains}
    alarms = [a for a in stack.of_type(METRIC_ALARM) if (a.get("namespace"), a.get("metricName")) in metrics]
    if not alarms:
        return f"no MetricAlarm watches {', '.join('/'.join(m) for m in sorted(metrics))}, where {what} is counted"
    silent = [a for a in alarms if a.get("treatMissingData") == "breaching"
              and str(a.get("comparisonOperator", "")).startswith("LessThan")]
    if not silent:
        return (f"alarm {alarms[0].get('name') or alarms[0].name} does not fire when {what} stops arriving: it needs "
                "comparison LessThanThreshold and treat_missing_data 'breaching'")
    for alarm in silent:
        if _notifies(stack, alarm.get("alarmActions"), alarm):
            return None
        if any(_notifies(stack, c.get("alarmActions"), c) for c in _composites_over(stack, str(alarm.get("name")))):
            return None
    return f"alarm {silent[0].get('name') or silent[0].name} fires when {what} stops arriving, but notifies no SNS topic"


def _expected(stack: Stack) -> tuple[set[str], str | None]:
    """The signals this stack must watch, and the URN to report a missing one on."""
    switches = stack.of_type(SWITCH)
    buckets = stack.buckets()
    expected = {"backend"} if buckets else set()
    if stack.of_type(MEDIA_COMPONENT):
        expected.add("media")
    for switch in switches:
        expected |= {w for w in as_list(switch.props.get("watches")) if isinstance(w, str) and w in SIGNALS}
    where = switches[0].urn if switches else (buckets[0].urn if buckets else None)
    return expected, where


def _evented_buckets(stack: Stack) -> set[str]:
    """Backup buckets that send their object creations to EventBridge."""
    out = set()
    for bucket in stack.buckets():
        if any(n.get("eventbridge") is True for n in stack.sub_resources(bucket, NOTIFICATION)):
            out |= {bucket.get("bucket")} - {None}
    return out


@rule(id="deadman-alarms", severity="high", level="mandatory", scanners=(),
      description="When backups stop arriving (no verified snapshot, media-sync record or drill report in time), "
                  "a CloudWatch alarm treating missing data as breaching notifies an SNS topic.",
      fix="send the bucket's events to EventBridge (BucketNotification eventbridge=true), match the arrival's key "
          "with a rule logging into a log group, count it with a metric filter, and alarm on that metric with "
          "comparison LessThanThreshold, treat_missing_data 'breaching' and an SNS alarm action")
def deadman_alarms(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    expected, where = _expected(stack)
    if not expected or where is None:
        return
    buckets = _evented_buckets(stack)
    if not buckets:
        yield where, "no backup bucket sends its object creations to EventBridge, so no arrival can be counted"
        return
    for signal in sorted(expected):
        problem = _problem(stack, signal, _counts(stack, signal, buckets))
        if problem:
            yield where, f"{signal}: {problem}"
