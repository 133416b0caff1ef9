"""DeadMansSwitch: CloudWatch alarms in the destination account that fire when backups stop arriving.

Protects against the failure nobody reports: a runner that stopped (a deleted workflow, expired
credentials, a GitHub outage, a broken CodeBuild project) sends no failure notification, so only
the *absence* of arrivals can tell. Nothing here runs code of ours: S3 sends object creations to
EventBridge (the bucket's one notification configuration, ``eventbridge=True``), a rule per
signal (``watch``) logs its matches into a log group, a metric filter counts them, and an alarm
with ``treat_missing_data=breaching`` fires when the count stays zero. Alarm and OK actions go to
the notification topic: deedbox's own (KMS-encrypted, an e-mail subscription per
``notifications.email``), or ``notifications.sns_topic_arn``.

Signals whose window exceeds the 7 days an alarm can look back (monthly drills) are due-driven:
an EventBridge Scheduler schedule writes a "due" data point on the job's own schedule and a
composite alarm fires when a due run's arrival is missing (``watch``; docs/topology.md).

Every name and ARN is deterministic (``names``), so the policy pack reads the wiring at preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from deedbox.topology.documents import (
    due_marker_policy,
    event_log_policy,
    topic_key_policy,
    topic_policy,
)
from deedbox.topology.names import (
    alarm_arn,
    alarm_name,
    log_group_arn,
    metric_namespace,
    role_arn,
    schedule_name,
    watch_log_group,
    watch_rule,
)
from deedbox.topology.scheduler import schedule_group_with_role
from deedbox.topology.watch import (
    LOOKBACK_HOURS,
    PERIOD_SECONDS,
    Signal,
    alarm_names,
    composite_rule,
    event_pattern,
)

LOG_RETENTION_DAYS = 365  # one small event per arrival: a year of evidence of when backups arrived
METRIC_FILTER = '{ $.source = "aws.s3" }'  # the logged event is the whole S3 event (JSON)


@dataclass
class TopicArgs:
    """deedbox's own notification topic (declared when ``notifications.sns_topic_arn`` is not given)."""

    name: str
    emails: Sequence[str]
    key_alias: str
    key_users: Mapping[str, Sequence[str]]  # who publishes through SNS (the runner)
    destroy_exempt: Sequence[str]


@dataclass
class DeadMansSwitchArgs:
    name: str  # config name: metric namespace, log groups, alarm names
    account: str
    region: str
    partition: str
    bucket: str  # the backup store's name (in the event patterns)
    bucket_id: pulumi.Input[str]  # the store bucket's id (its notification configuration)
    signals: Sequence[Signal]
    topic_arn: str  # alarm and OK actions (deterministic: deedbox's topic or sns_topic_arn)
    topic: TopicArgs | None = None
    watch_role: str | None = None  # due-driven signals: the role that writes due markers
    protect: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)


class DeadMansSwitch(pulumi.ComponentResource):
    """Topic (optional), S3 -> EventBridge, a rule, log group and metric filter per signal, the alarms."""

    def __init__(self, name: str, args: DeadMansSwitchArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # ``watches`` is recorded with the component: the policy pack's deadman-alarms rule checks
        # that every signal the config implies has its alarm (it cannot read backup.yaml itself)
        super().__init__("deedbox:deadman:DeadMansSwitch", name, {"watches": [s.id for s in args.signals]}, opts)
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        self.topic_deps: list[pulumi.Resource] = self._topic(args.topic) if args.topic else []
        self.notification = aws.s3.BucketNotification(f"{name}-bucket-events", bucket=args.bucket_id,
                                                      eventbridge=True, opts=child)
        groups = {s.id: watch_log_group(args.name, s.id) for s in args.signals}
        arns = {k: log_group_arn(args.partition, args.region, args.account, g) for k, g in groups.items()}
        self.log_policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-log-policy", policy_name=f"{args.name}-deedbox-watch",
            policy_document=json.dumps(event_log_policy(sorted(arns.values()))), opts=child)
        due = [s for s in args.signals if s.due_driven]
        self.watch_group = self._watch_schedules(due) if due else None
        self.alarms: dict[str, str] = {}
        for signal in args.signals:
            self._signal(signal, groups[signal.id], arns[signal.id])
        self.register_outputs({"alarms": self.alarms, "topic_arn": args.topic_arn})

    # ------------------------------------------------------------------ the topic

    def _topic(self, spec: TopicArgs) -> list[pulumi.Resource]:
        name, args = self._name, self._args
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        # like the store keys: the policy denies PutKeyPolicy to all but break-glass (documents.key_policy)
        key = aws.kms.Key(
            f"{name}-topic-key", description=f"deedbox notifications {spec.name}", enable_key_rotation=True,
            deletion_window_in_days=30, bypass_policy_lockout_safety_check=True,
            policy=json.dumps(topic_key_policy(args.account, args.region, users=spec.key_users,
                                               destroy_exempt=spec.destroy_exempt)), opts=kept)
        alias = aws.kms.Alias(f"{name}-topic-key-alias", name=spec.key_alias, target_key_id=key.key_id, opts=kept)
        topic = aws.sns.Topic(f"{name}-topic", name=spec.name, kms_master_key_id=key.arn,
                              display_name="deedbox", opts=pulumi.ResourceOptions(parent=self))
        pattern = alarm_arn(args.partition, args.region, args.account, alarm_name(args.name, "*"))
        policy = aws.sns.TopicPolicy(f"{name}-topic-policy", arn=topic.arn,
                                     policy=json.dumps(topic_policy(args.topic_arn, args.account, pattern)),
                                     opts=pulumi.ResourceOptions(parent=self))
        for i, address in enumerate(spec.emails):
            # SNS mails a confirmation link: the subscription stays "pending confirmation" until clicked
            aws.sns.TopicSubscription(f"{name}-email-{i}", topic=topic.arn, protocol="email", endpoint=address,
                                      opts=pulumi.ResourceOptions(parent=self))
        return [key, alias, topic, policy]

    # ------------------------------------------------------------------ arrivals

    def _signal(self, signal: Signal, group: str, group_arn: str) -> None:
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        logs = aws.cloudwatch.LogGroup(f"{name}-{signal.id}-log", name=group, retention_in_days=LOG_RETENTION_DAYS,
                                       opts=child)
        rule_name = watch_rule(args.name, signal.id)
        rule = aws.cloudwatch.EventRule(
            f"{name}-{signal.id}-rule", name=rule_name, state="ENABLED",
            description=f"deedbox: {signal.what} arrived in {args.bucket}",
            event_pattern=json.dumps(event_pattern(args.bucket, signal)), opts=child)
        # names, not outputs, join rule, target, log group and filter: the pack reads them at a first preview.
        # CloudWatch Logs targets take no role: the log resource policy lets EventBridge write.
        aws.cloudwatch.EventTarget(f"{name}-{signal.id}-target", rule=rule_name, target_id="watch-log",
                                   arn=group_arn, opts=pulumi.ResourceOptions(
                                       parent=self, depends_on=[rule, logs, self.log_policy]))
        aws.cloudwatch.LogMetricFilter(
            f"{name}-{signal.id}-count", name=f"deedbox-{signal.id}-arrivals", log_group_name=group,
            pattern=METRIC_FILTER,
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=signal.metric, namespace=metric_namespace(args.name), value="1", unit="Count"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]))
        self._alarms(signal)

    # ------------------------------------------------------------------ alarms

    def _alarms(self, signal: Signal) -> None:
        names = alarm_names(self._args.name, signal)
        self.alarms[signal.id] = names.notifying
        if not signal.due_driven:
            self._metric_alarm(f"{signal.id}-alarm", names.arrivals, signal.metric, signal.window_hours, missing=True,
                               notify=True, what=f"{signal.what} has not arrived for {signal.window_hours} hours")
            return
        hours = LOOKBACK_HOURS
        parts = [
            self._metric_alarm(f"{signal.id}-alarm", names.arrivals, signal.metric, hours, missing=True,
                               notify=False, what=f"{signal.what} has not arrived for {hours} hours (part of {names.overdue})"),
            self._metric_alarm(f"{signal.id}-due-alarm", names.due or "", signal.due_metric, hours, missing=False,
                               notify=False, what=f"a {signal.id} run was due within {hours} hours"),
            self._metric_alarm(f"{signal.id}-running-alarm", names.running or "", signal.due_metric,
                               signal.grace_hours, missing=False, notify=False,
                               what=f"a {signal.id} run was due within {signal.grace_hours} hours (still running)"),
        ]
        topic = [self._args.topic_arn]
        aws.cloudwatch.CompositeAlarm(
            f"{self._name}-{signal.id}-overdue", alarm_name=names.overdue or "", alarm_rule=composite_rule(names),
            alarm_description=f"deedbox dead-man's switch: a scheduled {signal.id} run ({signal.schedule}) is "
                              f"{signal.grace_hours} hours past and {signal.what} has not arrived for {hours} hours",
            alarm_actions=topic, ok_actions=topic,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*parts, *self.topic_deps]))

    def _metric_alarm(self, suffix: str, alarm: str, metric: str, hours: int, *, missing: bool, notify: bool,
                      what: str) -> aws.cloudwatch.MetricAlarm:
        """``missing=True``: fires when the hourly count stays below 1 for ``hours`` hours (no data
        breaches). ``missing=False``: fires when any of the last ``hours`` hours has a data point."""
        topic = [self._args.topic_arn] if notify else []
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}", name=alarm, alarm_description=f"deedbox dead-man's switch: {what}",
            namespace=metric_namespace(self._args.name), metric_name=metric, statistic="Sum",
            period=PERIOD_SECONDS, evaluation_periods=hours, datapoints_to_alarm=hours if missing else 1,
            threshold=1, comparison_operator="LessThanThreshold" if missing else "GreaterThanOrEqualToThreshold",
            treat_missing_data="breaching" if missing else "notBreaching",
            alarm_actions=topic or None, ok_actions=topic or None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.topic_deps if notify else None))

    # ------------------------------------------------------------------ due markers

    def _watch_schedules(self, due: Sequence[Signal]) -> aws.scheduler.ScheduleGroup:
        """A schedule per due-driven signal, on its job's schedule, writing ``<Signal>Due = 1``."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        group, role, policy = schedule_group_with_role(
            f"{name}-watch", group_name=schedule_name(args.name, "watch"), role_name=args.watch_role,
            description="deedbox dead-man's switch: due markers", policy_name="deedbox-due-markers",
            policy=due_marker_policy(metric_namespace(args.name)), partition=args.partition, region=args.region,
            account=args.account, opts=child)
        for signal in due:
            marker = {"Namespace": metric_namespace(args.name),
                      "MetricData": [{"MetricName": signal.due_metric, "Value": 1, "Unit": "Count"}]}
            aws.scheduler.Schedule(
                f"{name}-{signal.id}-due", name=schedule_name(args.name, f"{signal.id}-due"), group_name=group.name,
                description=f"deedbox dead-man's switch: a {signal.id} run is due now",
                schedule_expression=signal.schedule,
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=f"arn:{args.partition}:scheduler:::aws-sdk:cloudwatch:putMetricData",
                    role_arn=role_arn(args.account, args.watch_role or ""), input=json.dumps(marker)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role, policy]))
        return group
