"""deadman-alarms, scheduler-least-privilege and codebuild-no-plaintext-secrets: each weakness, put into an
otherwise compliant graph, fails exactly its rule; and the EventBridge matching the first one relies on."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from deedbox.plan.evaluate import evaluate
from deedbox.plan.graph import Graph
from deedbox.policy.deadman import matches, s3_event
from tests.policy.builders import SNAPSHOT_PATTERN, TOPIC, edit, good_graph, rec

BUCKET = "guild-backup-222222222222-eu-west-1"


def failing(graph: Graph) -> set[str]:
    return {v.policy for v in evaluate(graph) if v.status == "fail"}


def messages(graph: Graph, policy: str) -> list[str]:
    return [v.message.split(". Fix:")[0] for v in evaluate(graph) if v.policy == policy and v.status == "fail"]


def _put(key: str, value):
    def change(inputs: dict) -> None:
        inputs[key] = value
    return change


def _with(graph: Graph, *records) -> Graph:
    return Graph((*graph.resources, *records), graph.outputs)


# --------------------------------------------------------------------------- EventBridge matching

@pytest.mark.parametrize("pattern, key, expected", [
    ([{"prefix": "records/media-sync/"}], "records/media-sync/x.json", True),
    ([{"prefix": "records/media-sync/"}], "records/secrets-verify/x.json", False),
    ([{"suffix": "/report.json"}], "drills/t/report.json", True),
    ([{"wildcard": "backend/*/manifest.json"}], "backend/d/t-scheduled/manifest.json", True),
    ([{"wildcard": "backend/*/manifest.json"}], "backend/manifest.json", False),
    ([{"wildcard": "backend/*/manifest.json"}], "backend/d/t/snapshot.zip", False),
    ([{"wildcard": "a\\*b"}], "a*b", True), ([{"wildcard": "a\\*b"}], "axb", False),
    ([{"prefix": "backend/"}, {"suffix": "/manifest.json"}], "media/x/manifest.json", True),  # a list is an OR
    (["backend/x"], "backend/x", True), ([{"equals-ignore-case": "x"}], "x", False),  # not understood: no match
    ([{"prefix": 1}], "1", False),
])
def test_matching_agrees_with_moto(pattern, key, expected):
    full = {"source": ["aws.s3"], "detail": {"object": {"key": pattern}}}
    event = s3_event(BUCKET, key)
    assert matches(full, event) is expected
    if "equals-ignore-case" not in json.dumps(pattern) and pattern != [{"prefix": 1}]:
        assert EventPattern.load(json.dumps(full)).matches_event(event) is expected


def test_fields_are_anded_and_a_missing_field_does_not_match():
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [BUCKET]}}}
    assert matches(pattern, s3_event(BUCKET, "k"))
    assert not matches(pattern, {**s3_event(BUCKET, "k"), "detail-type": "Object Deleted"})
    assert not matches({"detail": {"nothing": ["x"]}}, s3_event(BUCKET, "k"))


# --------------------------------------------------------------------------- deadman-alarms

def test_the_good_graph_watches_its_backups():
    assert failing(good_graph()) == set()


def _pattern(key_matcher) -> str:
    p = json.loads(json.dumps(SNAPSHOT_PATTERN))
    p["detail"]["object"]["key"] = [key_matcher]
    return json.dumps(p)


CASES = {
    "bucket events off": ("guild-bucket-events", _put("eventbridge", False),
                          "no backup bucket sends its object creations to EventBridge, so no arrival can be counted"),
    "no bucket events": ("guild-bucket-events", lambda i: "drop",
                         "no backup bucket sends its object creations to EventBridge, so no arrival can be counted"),
    "prefix only (counts snapshot.zip too)": ("guild-backend-rule", _put("eventPattern", _pattern({"prefix": "backend/"})),
                                              "backend: nothing counts a verified snapshot's arrival"),
    "another bucket": ("guild-backend-rule", _put("eventPattern", json.dumps(SNAPSHOT_PATTERN).replace(BUCKET, "other")),
                       "backend: nothing counts a verified snapshot's arrival"),
    "target elsewhere": ("guild-backend-target", _put("arn", "arn:aws:sqs:eu-west-1:222222222222:queue"),
                         "backend: nothing counts a verified snapshot's arrival"),
    "filter on another group": ("guild-backend-count", _put("logGroupName", "/aws/events/other"),
                                "backend: nothing counts a verified snapshot's arrival"),
    "no alarm": ("guild-backend-alarm", lambda i: "drop",
                 "backend: no MetricAlarm watches Deedbox/guild/BackendSnapshots, where a verified snapshot is counted"),
    "missing data is not breaching": ("guild-backend-alarm", _put("treatMissingData", "notBreaching"),
                                      "backend: alarm guild-deedbox-no-snapshot does not fire when a verified snapshot "
                                      "stops arriving: it needs comparison LessThanThreshold and treat_missing_data "
                                      "'breaching'"),
    "fires on arrivals": ("guild-backend-alarm", _put("comparisonOperator", "GreaterThanThreshold"),
                          "backend: alarm guild-deedbox-no-snapshot does not fire when a verified snapshot stops "
                          "arriving: it needs comparison LessThanThreshold and treat_missing_data 'breaching'"),
    "tells nobody": ("guild-backend-alarm", _put("alarmActions", []),
                     "backend: alarm guild-deedbox-no-snapshot fires when a verified snapshot stops arriving, but "
                     "notifies no SNS topic"),
    "tells a queue": ("guild-backend-alarm", _put("alarmActions", ["arn:aws:sqs:eu-west-1:222222222222:q"]),
                      "backend: alarm guild-deedbox-no-snapshot fires when a verified snapshot stops arriving, but "
                      "notifies no SNS topic"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_weakened_switch_fails_exactly_deadman_alarms(case):
    name, change, message = CASES[case]
    graph = edit(good_graph(), name, change)
    assert failing(graph) == {"deadman-alarms"}
    assert messages(graph, "deadman-alarms") == [message] or messages(graph, "deadman-alarms")[0].startswith(message)


def _composite(rule: str, actions=(TOPIC,)):
    return rec("aws:cloudwatch/compositeAlarm:CompositeAlarm", "guild-overdue",
               {"alarmName": "guild-deedbox-backend-overdue", "alarmRule": rule, "alarmActions": list(actions)})


@pytest.mark.parametrize("rule, actions, ok", [
    ('ALARM("guild-deedbox-no-snapshot") AND ALARM("due") AND NOT ALARM("running")', [TOPIC], True),
    ("ALARM(guild-deedbox-no-snapshot) AND NOT ALARM(running)", [TOPIC], True),  # quotes are optional
    ('NOT ALARM("guild-deedbox-no-snapshot") AND ALARM("due")', [TOPIC], False),  # negated: fires on arrivals
    ('ALARM("guild-deedbox-no-snapshot")', [], False),
    ('ALARM("another-alarm")', [TOPIC], False),
])
def test_a_composite_alarm_may_carry_the_notification(rule, actions, ok):
    graph = _with(edit(good_graph(), "guild-backend-alarm", _put("alarmActions", [])), _composite(rule, actions))
    assert failing(graph) == (set() if ok else {"deadman-alarms"})


def test_the_signals_a_switch_declares_and_the_media_component_are_expected():
    switch = rec("deedbox:deadman:DeadMansSwitch", "guild-deadman", {"watches": ["backend", "drill"]})
    media = rec("deedbox:media:MediaBackup", "guild-media", {})
    assert messages(_with(good_graph(), switch), "deadman-alarms") == [
        "drill: nothing counts a drill report's arrival (drills/20261127T060000Z/report.json): no EventBridge rule "
        "matching it in a backup bucket feeds a log group whose metric filter counts it"]
    assert messages(_with(good_graph(), media), "deadman-alarms")[0].startswith(
        "media: nothing counts a media-sync record's arrival")


def test_a_stack_without_backup_buckets_needs_no_switch():
    only_roles = Graph(tuple(r for r in good_graph() if r.type.startswith(("aws:iam/", "pulumi:"))))
    assert "deadman-alarms" not in failing(only_roles)


# --------------------------------------------------------------------------- scheduler-least-privilege

SCHEDULER_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": "222222222222"},
                  "ArnLike": {"aws:SourceArn": "arn:aws:scheduler:eu-west-1:222222222222:schedule-group/jobs"}}}]}
START = {"Effect": "Allow", "Action": ["codebuild:StartBuild"],
         "Resource": ["arn:aws:codebuild:eu-west-1:222222222222:project/guild-deedbox-jobs"]}
MARKERS = {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
           "Condition": {"StringEquals": {"cloudwatch:namespace": "Deedbox/guild"}}}


def _scheduler(trust=SCHEDULER_TRUST, *statements, managed=()) -> Graph:
    role = rec("aws:iam/role:Role", "guild-scheduler", {"name": "guild-deedbox-scheduler",
                                                        "assumeRolePolicy": json.dumps(trust),
                                                        **({"managedPolicyArns": list(managed)} if managed else {})})
    policy = rec("aws:iam/rolePolicy:RolePolicy", "guild-scheduler-policy", {
        "role": "guild-deedbox-scheduler", "policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})})
    return _with(good_graph(), role, policy)


def test_a_scheduler_role_starting_one_project_and_writing_markers_passes():
    assert failing(_scheduler(SCHEDULER_TRUST, START, MARKERS)) == set()


UNSCOPED = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}


@pytest.mark.parametrize("graph, message", [
    (_scheduler(UNSCOPED, START), "guild-scheduler trusts scheduler.amazonaws.com without aws:SourceAccount: schedules "
                                  "of any account could act as it (confused deputy)"),
    (_scheduler(SCHEDULER_TRUST, {**START, "Resource": "*"}),
     "guild-scheduler is allowed codebuild:StartBuild on * (name each project by ARN)"),
    (_scheduler(SCHEDULER_TRUST, {**START, "Resource": "arn:aws:codebuild:eu-west-1:222222222222:project/*"}),
     "guild-scheduler is allowed codebuild:StartBuild on arn:aws:codebuild:eu-west-1:222222222222:project/* "
     "(name each project by ARN)"),
    (_scheduler(SCHEDULER_TRUST, {**MARKERS, "Condition": {}}),
     "guild-scheduler is allowed cloudwatch:PutMetricData without a cloudwatch:namespace condition"),
    (_scheduler(SCHEDULER_TRUST, START, {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}),
     "guild-scheduler is allowed lambda:InvokeFunction (a scheduler role starts builds and writes due markers, nothing else)"),
    (_scheduler(SCHEDULER_TRUST, {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
     "guild-scheduler is allowed an Allow with NotAction (or no Action) grants everything else"),
    (_scheduler(SCHEDULER_TRUST, START, managed=["arn:aws:iam::aws:policy/AWSCodeBuildDeveloperAccess"]),
     "guild-scheduler has managed policies (arn:aws:iam::aws:policy/AWSCodeBuildDeveloperAccess), which cannot be "
     "shown least-privilege"),
])
def test_a_weakened_scheduler_role_fails_exactly_its_rule(graph, message):
    also = {"runner-no-delete"} if "NotAction" in message else set()  # which grants deletes too
    assert failing(graph) == {"scheduler-least-privilege", *also}
    assert messages(graph, "scheduler-least-privilege") == [message]


def test_an_unknown_scheduler_policy_fails_closed():
    graph = edit(_scheduler(SCHEDULER_TRUST, START), "guild-scheduler-policy", _put("policy", "[unknown]"))
    assert messages(graph, "scheduler-least-privilege") == [
        "guild-scheduler: a policy document is not known here, so it cannot be shown least-privilege"]


def test_roles_other_services_assume_are_not_this_rules():
    codebuild = {**SCHEDULER_TRUST, "Statement": [{**SCHEDULER_TRUST["Statement"][0],
                                                   "Principal": {"Service": "codebuild.amazonaws.com"}}]}
    assert "scheduler-least-privilege" not in failing(_scheduler(codebuild, {**START, "Resource": "*"}))


# --------------------------------------------------------------------------- codebuild-no-plaintext-secrets

def _project(*variables, buildspec: str = "version: 0.2\n") -> Graph:
    project = rec("aws:codebuild/project:Project", "guild-jobs-project", {
        "name": "guild-deedbox-jobs", "serviceRole": "arn:aws:iam::222222222222:role/guild-deedbox-runner",
        "source": {"type": "NO_SOURCE", "buildspec": buildspec}, "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                        "computeType": "BUILD_GENERAL1_SMALL", "environmentVariables": list(variables)}})
    return _with(good_graph(), project)


SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:guild/convex-deploy-key-AbCdEf"


def test_secrets_by_arn_and_plain_settings_pass():
    assert failing(_project({"name": "CONVEX_DEPLOY_KEY", "value": SECRET_ARN, "type": "SECRETS_MANAGER"},
                            {"name": "DEEDBOX_PIP_SPEC", "value": "deedbox==0.1.0", "type": "PLAINTEXT"},
                            {"name": "DEEDBOX_BUCKET", "value": BUCKET})) == set()


@pytest.mark.parametrize("variable", [
    {"name": "CONVEX_DEPLOY_KEY", "value": "prod:x|y", "type": "PLAINTEXT"},
    {"name": "SLACK_WEBHOOK_URL", "value": "https://hooks.slack.com/services/x"},  # no type: PLAINTEXT
    {"name": "PULUMI_CONFIG_PASSPHRASE", "value": "p", "type": "PLAINTEXT"},
    {"name": "CONVEX_TEAM_TOKEN", "value": "t", "type": "PLAINTEXT"},
])
def test_a_plaintext_secret_variable_fails_exactly_its_rule(variable):
    graph = _project(variable)
    assert failing(graph) == {"codebuild-no-plaintext-secrets"}
    assert messages(graph, "codebuild-no-plaintext-secrets") == [
        f"guild-jobs-project: environment variable {variable['name']} is PLAINTEXT"]


def test_a_buildspec_declaring_a_secret_in_plain_text_fails():
    graph = _project(buildspec="version: 0.2\nenv:\n  variables:\n    STRIPE_SECRET_KEY: sk\n    REGION: eu-west-1\n")
    assert messages(graph, "codebuild-no-plaintext-secrets") == [
        "guild-jobs-project: the buildspec declares STRIPE_SECRET_KEY in env.variables (plain text)"]
