"""The dead-man's switch: what it watches, for how long, and that the recorded resources do it.

Second opinions: the event patterns are run through moto's EventBridge matcher and the policy pack's
own; every request the switch stands for is validated against botocore's service models; and the
reference switch is replayed in moto over HTTP, where S3 sends object creations to EventBridge and
EventBridge logs what its rules match, so the arrivals each log group receives can be counted.
"""

from __future__ import annotations

import json
import time

import pytest
from moto.events.models import EventPattern

from deedbox.config import load
from deedbox.plan.graph import Graph
from deedbox.policy.deadman import matches, s3_event
from deedbox.topology.access import WATCH_FORBIDDEN, WATCH_LOG_FORBIDDEN, allowed_actions, grants_any
from deedbox.topology.watch import LOOKBACK_HOURS, alarm_names, composite_rule, event_pattern, signals
from tests.topology.conftest import VARIANTS
from tests.topology.requests import MAPPED, Call, bounds, calls, problems, topic_arns, universal_call

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
SCHEDULE = "aws:scheduler/schedule:Schedule"
SWITCH = "deedbox:deadman:DeadMansSwitch"
TS = "20261127T060000Z"
# key -> the signal it is an arrival of (None: not one)
KEYS = {
    f"backend/happy-otter-123/{TS}-scheduled/manifest.json": "backend",
    f"backend/happy-otter-123/{TS}-pre-change/manifest.json": "backend",
    f"backend/happy-otter-123/{TS}-scheduled/snapshot.zip": None,
    "media/images/uploads/manifest.json": None,  # a media object that happens to be called manifest.json
    "restores/backend/manifest.json": None,
    f"records/media-sync/{TS}.json": "media",
    f"records/secrets-verify/{TS}.json": None,
    f"drills/{TS}/report.json": "drill",
    f"drills/{TS}/report.md": None,
    f"drills/{TS}/report.html": None,
    "uploads/drills/x/report.json": None,  # a replicated media key
}


def _switch(g: Graph):
    (switch,) = g.of_type(SWITCH)
    return switch, g.children(switch.urn)


# --------------------------------------------------------------------------- what it watches

def test_the_reference_watches_snapshots_and_media_plainly_and_monthly_drills_by_their_schedule(reference_config_path):
    cfg = load(reference_config_path)
    by_id = {s.id: s for s in signals(cfg)}
    assert list(by_id) == ["backend", "media", "drill"]
    assert (by_id["backend"].window_hours, by_id["backend"].due_driven) == (cfg.backups.backend.rpo_hours + 1, False)
    assert (by_id["media"].window_hours, by_id["media"].due_driven) == (cfg.backups.media.rpo_hours + 1, False)
    drill = by_id["drill"]
    # monthly: up to 31 days apart, far beyond the 7 days an alarm can look back
    assert drill.due_driven and drill.window_hours == 31 * 24 + drill.grace_hours
    assert drill.grace_hours == 6  # the drill job's timeout (4 h TTL + 30 min) rounded up, plus an hour
    assert drill.schedule == cfg.drills.schedule


@pytest.mark.parametrize("variant, due", [("daily-drills", False), ("aws-runner", True), ("reference", True)])
def test_drill_windows_that_fit_in_seven_days_are_plain(planned, variant, due):
    cfg, _ = planned(variant)
    drill = {s.id: s for s in signals(cfg)}.get("drill")
    assert (drill.due_driven if drill else None) == due
    if variant == "daily-drills":
        assert drill.window_hours == 24 + drill.grace_hours <= LOOKBACK_HOURS
    if variant == "aws-runner":  # weekly: 168 h between drills + the drill's own time > 168 h
        assert drill.window_hours == 168 + drill.grace_hours


@pytest.mark.parametrize("signal_id", ["backend", "media", "drill"])
def test_each_pattern_matches_exactly_its_arrivals_for_moto_and_for_the_pack(reference_config_path, signal_id):
    cfg = load(reference_config_path)
    signal = next(s for s in signals(cfg) if s.id == signal_id)
    bucket = "guild-backup-222222222222-eu-west-1"
    pattern = event_pattern(bucket, signal)
    moto_pattern = EventPattern.load(json.dumps(pattern))
    for key, expected in KEYS.items():
        want = expected == signal_id
        event = s3_event(bucket, key)
        assert moto_pattern.matches_event(event) is want, key
        assert matches(pattern, event) is want, key
    assert not matches(pattern, s3_event("another-bucket", next(k for k, v in KEYS.items() if v == signal_id)))


# --------------------------------------------------------------------------- what is declared

@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_alarm_fits_cloudwatchs_limits_and_fires_on_silence(planned, variant):
    cfg, g = planned(variant)
    _, children = _switch(g)
    alarms = {a.inputs["name"]: a for a in children if a.type == ALARM}
    composites = {c.inputs["alarmName"]: c for c in children if c.type == COMPOSITE}
    topic = g.outputs["alarm_topic_arn"]
    for signal in signals(cfg):
        names = alarm_names(cfg.name, signal)
        arrivals = alarms[names.arrivals].inputs
        # PutMetricAlarm: Period x EvaluationPeriods <= 604,800 s (one day when the period is under an hour)
        assert arrivals["period"] == 3600 and arrivals["period"] * arrivals["evaluationPeriods"] <= 604_800
        assert arrivals["treatMissingData"] == "breaching" and arrivals["comparisonOperator"] == "LessThanThreshold"
        assert arrivals["threshold"] == 1 and arrivals["statistic"] == "Sum"
        assert arrivals["datapointsToAlarm"] == arrivals["evaluationPeriods"]  # every hour of the window empty
        if not signal.due_driven:
            assert arrivals["evaluationPeriods"] == signal.window_hours
            assert arrivals["alarmActions"] == arrivals["okActions"] == [topic]
            assert names.notifying == names.arrivals and names.overdue is None
            continue
        assert arrivals["evaluationPeriods"] == LOOKBACK_HOURS and "alarmActions" not in arrivals
        due, running = alarms[names.due].inputs, alarms[names.running].inputs
        assert due["treatMissingData"] == running["treatMissingData"] == "notBreaching"
        assert (due["evaluationPeriods"], running["evaluationPeriods"]) == (LOOKBACK_HOURS, signal.grace_hours)
        assert due["datapointsToAlarm"] == running["datapointsToAlarm"] == 1
        assert due["metricName"] == running["metricName"] == signal.due_metric
        overdue = composites[names.overdue].inputs
        assert overdue["alarmRule"] == composite_rule(names)
        assert overdue["alarmRule"] == (f'ALARM("{names.arrivals}") AND ALARM("{names.due}") '
                                        f'AND NOT ALARM("{names.running}")')
        assert overdue["alarmActions"] == overdue["okActions"] == [topic]
    assert len(composites) == sum(s.due_driven for s in signals(cfg))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_due_markers_are_written_on_the_jobs_own_schedule_by_a_role_that_may_do_nothing_else(planned, variant):
    cfg, g = planned(variant)
    _, children = _switch(g)
    due = [s for s in signals(cfg) if s.due_driven]
    schedules = [c for c in children if c.type == SCHEDULE]
    assert len(schedules) == len(due)
    for signal, schedule in zip(due, schedules, strict=True):
        assert schedule.inputs["scheduleExpression"] == signal.schedule
        assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}
        call = universal_call(schedule)
        assert (call.service, call.operation) == ("cloudwatch", "PutMetricData")
        assert call.params == {"Namespace": f"Deedbox/{cfg.name}",
                               "MetricData": [{"MetricName": signal.due_metric, "Value": 1, "Unit": "Count"}]}
    roles = [c for c in children if c.type == "aws:iam/role:Role"]
    assert len(roles) == (1 if due else 0)
    for role in roles:
        (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        group = f"arn:aws:scheduler:{cfg.destination.region}:{cfg.destination.account}:schedule-group/{cfg.name}-deedbox-watch"
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": cfg.destination.account},
                                      "ArnLike": {"aws:SourceArn": [group]}}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_request_is_valid_for_botocores_models(planned, variant):
    """CloudWatch Logs metric filters, composite alarms, the scheduler's universal targets and CodeBuild
    are where moto's fidelity is thin: botocore's models are the second opinion for every request."""
    _, g = planned(variant)
    topics = topic_arns(g)
    checked: list[Call] = []
    for r in g:
        if r.type in MAPPED and g.by_urn(r.parent).type in (SWITCH, "deedbox:scheduler:JobScheduler"):
            checked += calls(r, bucket="guild-backup", topics=topics)
            if r.type == SCHEDULE:
                checked.append(universal_call(r))
    assert checked
    assert [f"{c}: {p}" for c in checked for p in problems(c) + bounds(c)] == []


def test_botocores_models_catch_what_they_should(planned):
    """The validation itself: a wrong type, a missing member, an enum and a bound are all reported."""
    call = Call("cloudwatch", "PutMetricAlarm", {"AlarmName": "x", "EvaluationPeriods": "7",
                                                "TreatMissingData": "breaching"}, "urn")
    assert problems(call) and "EvaluationPeriods" in problems(call)[0]
    assert bounds(Call("codebuild", "StartBuild", {"projectName": "p", "timeoutInMinutesOverride": 4350}, "u")) == [
        "StartBuild.timeoutInMinutesOverride: 4350 is more than 2160"]
    assert bounds(Call("scheduler", "CreateSchedule", {"Name": "x" * 65, "ScheduleExpression": "rate(1 hour)",
                                                       "FlexibleTimeWindow": {"Mode": "SOMETIMES"}}, "u")) == [
        "CreateSchedule.Name: 65 characters, at most 64",
        "CreateSchedule.FlexibleTimeWindow.Mode: 'SOMETIMES' is not one of ['OFF', 'FLEXIBLE']"]


# --------------------------------------------------------------------------- the topic and who may touch the switch

def test_the_topic_is_encrypted_and_only_this_accounts_deedbox_alarms_publish_as_cloudwatch(reference_graph):
    cfg = load("backup.yaml")
    _, children = _switch(reference_graph)
    (topic,) = [c for c in children if c.type == "aws:sns/topic:Topic"]
    (key,) = [c for c in children if c.type == "aws:kms/key:Key"]
    assert topic.inputs["name"] == "guild-deedbox-notifications"  # deedbox.notify.topic.topic_name
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"] and key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    cw = statements["CloudWatchAlarmsEncrypt"]
    assert cw["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(cw["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cw["Condition"] == {"StringEquals": {"aws:SourceAccount": "222222222222"}}
    assert "kms:Decrypt" not in statements["AccountAdministers"]["Action"]
    (policy,) = [c for c in children if c.type == "aws:sns/topicPolicy:TopicPolicy"]
    publish = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}["CloudWatchAlarmsPublish"]
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "222222222222"},
                                    "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:222222222222:alarm:guild-deedbox-*"}}
    emails = [c.inputs for c in children if c.type == "aws:sns/topicSubscription:TopicSubscription"]
    assert emails == [{"topic": topic.outputs["arn"], "protocol": "email", "endpoint": e} for e in cfg.notifications.email]


def test_a_given_topic_is_notified_and_none_is_declared(planned, variant_dir):
    from tests.topology.conftest import plan, write_variant

    theirs = "arn:aws:sns:eu-west-1:222222222222:backup-alerts"
    path = write_variant(variant_dir, "their-topic", lambda d: d["notifications"].update(sns_topic_arn=theirs))
    g = plan(path)
    _, children = _switch(g)
    assert not [c for c in children if c.type.startswith(("aws:sns/", "aws:kms/"))]
    assert {a.inputs["alarmActions"][0] for a in children if a.type in (ALARM, COMPOSITE) and "alarmActions" in a.inputs} \
        == {theirs}
    runner = json.loads(next(p for p in g.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-runner-policy")).inputs["policy"])
    assert {s["Sid"]: s for s in runner["Statement"]}["PublishNotifications"]["Resource"] == [theirs]


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "no-runner"])
def test_the_runner_may_publish_but_never_silence_or_forge_the_switch(planned, variant):
    cfg, g = planned(variant)
    (policy,) = [p for p in g.of_type("aws:iam/rolePolicy:RolePolicy") if g.by_urn(p.parent).type.endswith("RunnerIdentity")]
    doc = json.loads(policy.inputs["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["PublishNotifications"]["Resource"] == [g.outputs["alarm_topic_arn"]]
    assert grants_any(allowed_actions(doc), WATCH_FORBIDDEN) == []
    assert set(by_sid["NeverSilenceTheWatch"]["Action"]) == set(WATCH_FORBIDDEN)
    watch = f"arn:aws:logs:{cfg.destination.region}:{cfg.destination.account}:log-group:/aws/events/deedbox/{cfg.name}/"
    forge = by_sid["NeverForgeArrivals"]
    assert forge["Resource"] == [f"{watch}*"] and set(forge["Action"]) == set(WATCH_LOG_FORBIDDEN)
    # the aws runner writes its own build logs, and nowhere near the switch's log groups
    writes = [r for st in doc["Statement"] if st["Effect"] == "Allow" and grants_any(st["Action"], WATCH_LOG_FORBIDDEN)
              for r in st["Resource"]]
    assert all(":log-group:/aws/codebuild/" in r for r in writes) and (bool(writes) == (cfg.runner.kind == "aws"))


# --------------------------------------------------------------------------- in moto: arrivals are counted

def _replay(aws, g: Graph, bucket: str) -> None:
    topics = topic_arns(g)
    order = ["aws:sns/topic:Topic", "aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
             "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget",
             "aws:cloudwatch/logMetricFilter:LogMetricFilter", "aws:s3/bucketNotification:BucketNotification",
             ALARM]  # moto's server does not route PutCompositeAlarm: composites are checked against botocore only
    _, children = _switch(g)
    for type_ in order:
        for r in (c for c in children if c.type == type_):
            for call in calls(r, bucket=bucket, topics=topics):
                client = aws.client(call.service, "eu-west-1")
                getattr(client, _snake(call.operation))(**call.params)


def _snake(operation: str) -> str:
    from botocore import xform_name

    return xform_name(operation)


def test_in_moto_each_log_group_receives_exactly_its_arrivals(aws, reference_graph):
    """moto implements S3 -> EventBridge (its notifications.py sends "Object Created" to the default bus) and
    EventBridge -> CloudWatch Logs targets, matching with its own pattern engine."""
    bucket = "guild-backup-123456789012-eu-west-1"
    g = _with_bucket(reference_graph, bucket)
    s3 = aws.client("s3", "eu-west-1")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    _replay(aws, g, bucket)
    # (moto's GetBucketNotificationConfiguration leaves the empty EventBridgeConfiguration out; the arrivals
    # below are what prove the notification configuration took)
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    logs = aws.client("logs", "eu-west-1")
    for signal in ("backend", "media", "drill"):
        group = f"/aws/events/deedbox/guild/{signal}"
        events = _events(logs, group, expected=sum(v == signal for v in KEYS.values()))
        keys = sorted(json.loads(e["message"])["detail"]["object"]["key"] for e in events)
        assert keys == sorted(k for k, v in KEYS.items() if v == signal), signal
    cloudwatch = aws.client("cloudwatch", "eu-west-1")
    described = cloudwatch.describe_alarms(AlarmNamePrefix="guild-deedbox-")["MetricAlarms"]
    assert {a["AlarmName"]: a["TreatMissingData"] for a in described} == {
        "guild-deedbox-no-snapshot": "breaching", "guild-deedbox-no-media-record": "breaching",
        "guild-deedbox-no-drill-report": "breaching", "guild-deedbox-drill-due": "notBreaching",
        "guild-deedbox-drill-running": "notBreaching"}


def _events(logs, group: str, expected: int) -> list[dict]:
    for _ in range(50):  # moto delivers synchronously; the loop only guards a slow machine
        events = logs.filter_log_events(logGroupName=group)["events"]
        if len(events) >= expected:
            return events
        time.sleep(0.1)
    return logs.filter_log_events(logGroupName=group)["events"]


def _with_bucket(g: Graph, bucket: str) -> Graph:
    """The reference graph with its patterns naming ``bucket`` (moto's own account's bucket)."""
    from dataclasses import replace

    out = []
    for r in g:
        if r.type == "aws:cloudwatch/eventRule:EventRule":
            pattern = json.loads(r.inputs["eventPattern"])
            pattern["detail"]["bucket"]["name"] = [bucket]
            r = replace(r, inputs={**r.inputs, "eventPattern": json.dumps(pattern)})
        out.append(r)
    return Graph(tuple(out), g.outputs)
