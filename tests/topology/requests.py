"""The AWS API requests recorded resources stand for: checked against botocore's service models (the
real clients' own request shapes), and replayed against moto over HTTP where moto runs the service.

The mapping from a resource's inputs to its create request is pulumi-aws's (the Terraform provider it
bridges builds exactly these calls: ``PutMetricAlarm`` from ``aws_cloudwatch_metric_alarm``, ...);
it is written by hand here for the types the dead-man's switch and the aws runner declare, with the
members named as botocore's models name them. Numbers arrive from the recorder as floats.

A schedule's *universal* target (``arn:aws:scheduler:::aws-sdk:<service>:<action>``) is itself a
request: ``universal_call`` turns its ``Input`` into the call the Scheduler makes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from deedbox.plan.graph import ResourceRecord


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name
    operation: str  # the API operation, e.g. PutMetricAlarm
    params: dict[str, Any]
    urn: str

    def __str__(self) -> str:
        return f"{self.service}.{self.operation} ({self.urn.rsplit('::', 1)[-1]})"


def _n(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != []}


def topic_arns(graph: Iterable[ResourceRecord]) -> dict[str, str]:
    """Mock topic ARN -> the ARN the topic's name gives it (the mocks name ARNs after the resource)."""
    out = {}
    for r in graph:
        if r.type == "aws:sns/topic:Topic":
            region, account = r.outputs["arn"].split(":")[3:5]
            out[r.outputs["arn"]] = f"arn:aws:sns:{region}:{account}:{r.inputs['name']}"
    return out


def calls(r: ResourceRecord, *, bucket: str | None = None, topics: dict[str, str] | None = None) -> list[Call]:
    """The create requests of one record (none for a type this helper does not map)."""
    i, topics = r.inputs, topics or {}
    build = _BUILDERS.get(r.type)
    if build is None:
        return []
    return [Call(service, op, _clean(params), r.urn) for service, op, params in build(i, bucket, topics)]


def _alarm(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("cloudwatch", "PutMetricAlarm", {
        "AlarmName": i["name"], "AlarmDescription": i.get("alarmDescription"), "Namespace": i["namespace"],
        "MetricName": i["metricName"], "Statistic": i["statistic"], "Period": _n(i["period"]),
        "EvaluationPeriods": _n(i["evaluationPeriods"]), "DatapointsToAlarm": _n(i.get("datapointsToAlarm")),
        "Threshold": i["threshold"], "ComparisonOperator": i["comparisonOperator"],
        "TreatMissingData": i.get("treatMissingData"), "AlarmActions": i.get("alarmActions"),
        "OKActions": i.get("okActions")})]


def _composite(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("cloudwatch", "PutCompositeAlarm", {
        "AlarmName": i["alarmName"], "AlarmRule": i["alarmRule"], "AlarmDescription": i.get("alarmDescription"),
        "AlarmActions": i.get("alarmActions"), "OKActions": i.get("okActions")})]


def _rule(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("events", "PutRule", {"Name": i["name"], "EventPattern": i["eventPattern"], "State": i.get("state"),
                                   "Description": i.get("description")})]


def _target(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("events", "PutTargets", {"Rule": i["rule"], "Targets": [{"Id": i["targetId"], "Arn": i["arn"]}]})]


def _log_group(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("logs", "CreateLogGroup", {"logGroupName": i["name"]}),
            ("logs", "PutRetentionPolicy", {"logGroupName": i["name"], "retentionInDays": _n(i["retentionInDays"])})]


def _metric_filter(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    t = i["metricTransformation"]
    return [("logs", "PutMetricFilter", {
        "logGroupName": i["logGroupName"], "filterName": i["name"], "filterPattern": i["pattern"],
        "metricTransformations": [_clean({"metricName": t["name"], "metricNamespace": t["namespace"],
                                          "metricValue": t["value"], "unit": t.get("unit")})]})]


def _log_policy(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("logs", "PutResourcePolicy", {"policyName": i["policyName"], "policyDocument": i["policyDocument"]})]


def _notification(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    config = {"EventBridgeConfiguration": {}} if i.get("eventbridge") else {}
    return [("s3", "PutBucketNotificationConfiguration", {"Bucket": bucket or i["bucket"],
                                                         "NotificationConfiguration": config})]


def _topic(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("sns", "CreateTopic", {"Name": i["name"], "Attributes": _clean({
        "KmsMasterKeyId": i.get("kmsMasterKeyId"), "DisplayName": i.get("displayName")})})]


def _topic_policy(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("sns", "SetTopicAttributes", {"TopicArn": topics.get(i["arn"], i["arn"]), "AttributeName": "Policy",
                                           "AttributeValue": i["policy"]})]


def _subscription(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("sns", "Subscribe", {"TopicArn": topics.get(i["topic"], i["topic"]), "Protocol": i["protocol"],
                                  "Endpoint": i["endpoint"]})]


def _schedule_group(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("scheduler", "CreateScheduleGroup", {"Name": i["name"]})]


def _schedule(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    t = i["target"]
    return [("scheduler", "CreateSchedule", {
        "Name": i["name"], "GroupName": i.get("groupName"), "Description": i.get("description"),
        "ScheduleExpression": i["scheduleExpression"],
        "FlexibleTimeWindow": _clean({"Mode": i["flexibleTimeWindow"]["mode"],
                                      "MaximumWindowInMinutes": _n(i["flexibleTimeWindow"].get("maximumWindowInMinutes"))}),
        "Target": _clean({"Arn": t["arn"], "RoleArn": t["roleArn"], "Input": t.get("input")})})]


def _project(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    env, logs = i["environment"], i.get("logsConfig", {})
    return [("codebuild", "CreateProject", {
        "name": i["name"], "description": i.get("description"), "serviceRole": i["serviceRole"],
        "timeoutInMinutes": _n(i.get("buildTimeout")),
        "source": _clean({"type": i["source"]["type"], "buildspec": i["source"].get("buildspec")}),
        "artifacts": {"type": i["artifacts"]["type"]},
        "environment": _clean({
            "type": env["type"], "image": env["image"], "computeType": env["computeType"],
            "imagePullCredentialsType": env.get("imagePullCredentialsType"), "privilegedMode": env.get("privilegedMode"),
            "environmentVariables": [{"name": v["name"], "value": v["value"], "type": v.get("type", "PLAINTEXT")}
                                     for v in env.get("environmentVariables", [])]}),
        "logsConfig": _clean({
            "cloudWatchLogs": _clean({"status": logs.get("cloudwatchLogs", {}).get("status"),
                                      "groupName": logs.get("cloudwatchLogs", {}).get("groupName")}),
            "s3Logs": logs.get("s3Logs")}) or None})]


def _role(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("iam", "CreateRole", {"RoleName": i["name"], "AssumeRolePolicyDocument": i["assumeRolePolicy"],
                                   "Description": i.get("description"),
                                   "MaxSessionDuration": _n(i.get("maxSessionDuration"))})]


def _role_policy(i: dict, bucket: str | None, topics: dict) -> list[tuple[str, str, dict]]:
    return [("iam", "PutRolePolicy", {"RoleName": i["role"], "PolicyName": i["name"], "PolicyDocument": i["policy"]})]


_BUILDERS = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm, "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite,
    "aws:cloudwatch/eventRule:EventRule": _rule, "aws:cloudwatch/eventTarget:EventTarget": _target,
    "aws:cloudwatch/logGroup:LogGroup": _log_group, "aws:cloudwatch/logMetricFilter:LogMetricFilter": _metric_filter,
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": _log_policy,
    "aws:s3/bucketNotification:BucketNotification": _notification, "aws:sns/topic:Topic": _topic,
    "aws:sns/topicPolicy:TopicPolicy": _topic_policy, "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:scheduler/scheduleGroup:ScheduleGroup": _schedule_group, "aws:scheduler/schedule:Schedule": _schedule,
    "aws:codebuild/project:Project": _project, "aws:iam/role:Role": _role, "aws:iam/rolePolicy:RolePolicy": _role_policy,
}
MAPPED = frozenset(_BUILDERS)


def universal_call(schedule: ResourceRecord) -> Call:
    """The call a universal-target schedule makes: ``arn:aws:scheduler:::aws-sdk:<service>:<action>``."""
    target = schedule.inputs["target"]
    prefix, service, action = target["arn"].rsplit(":", 2)
    assert prefix.endswith(":scheduler:::aws-sdk"), target["arn"]
    return Call(service, action[0].upper() + action[1:], json.loads(target["input"]), schedule.urn)


def problems(call: Call) -> list[str]:
    """botocore's own validation of ``call`` (types, required members, ranges, enums)."""
    model = botocore.session.get_session().get_service_model(call.service)
    shape = model.operation_model(call.operation).input_shape
    report = ParamValidator().validate(call.params, shape)
    return [report.generate_report()] if report.has_errors() else []


def bounds(call: Call) -> list[str]:
    """What ``ParamValidator`` leaves out: every ``max``, ``enum`` and ``pattern`` of the model's shapes
    (botocore checks types, required members and minimums only; the service checks the rest)."""
    model = botocore.session.get_session().get_service_model(call.service)
    return list(_walk(model.operation_model(call.operation).input_shape, call.params, call.operation))


def _walk(shape: Any, value: Any, path: str) -> Iterable[str]:
    import re

    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from _walk(member, value[name], f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} items, at most {meta['max']}"
        for n, item in enumerate(value):
            yield from _walk(shape.member, item, f"{path}[{n}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(shape.value, item, f"{path}[{key!r}]")
    elif shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} characters, at most {meta['max']}"
        if "enum" in meta and value not in meta["enum"]:
            yield f"{path}: {value!r} is not one of {meta['enum']}"
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value, re.S):
            yield f"{path}: {value!r} does not match {meta['pattern']!r}"
    elif shape.type_name in ("integer", "long") and isinstance(value, int) and value > meta.get("max", value):
        yield f"{path}: {value} is more than {meta['max']}"
