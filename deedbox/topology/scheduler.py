"""JobScheduler: the ``aws`` runner. The scheduled jobs run in the destination account itself.

Protects against depending on a third party to take the backups: EventBridge Scheduler starts
one CodeBuild project, one schedule per job of ``deedbox.config.jobs`` (the list the GitHub
workflows run), on the config's own schedule expressions (the Scheduler reads EventBridge's
dialect as it is). The build runs as the runner role (``RunnerIdentity``, trusted by CodeBuild for
this project only); the scheduler has a role of its own that may only ``codebuild:StartBuild``
this project. Secrets reach the jobs as CodeBuild ``SECRETS_MANAGER`` variables (an ARN each, from
``runner.secrets``): CodeBuild reads the value at the start of each build, with the runner role;
no value is a Pulumi input.

The schedule's target is the universal target ``arn:aws:scheduler:::aws-sdk:codebuild:startBuild``
whose ``Input`` is CodeBuild's StartBuild request (EventBridge Scheduler user guide, "Using
universal targets": "the parameters and shape of the JSON ... are determined by the service API"):
``projectName``, ``DEEDBOX_JOB`` as an environment override, and the job's timeout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from deedbox.config.jobs import Job
from deedbox.topology.buildspec import IMAGE, JOB_VARIABLE
from deedbox.topology.documents import service_trust_policy, start_build_policy
from deedbox.topology.names import codebuild_log_group, role_arn, schedule_name

CODEBUILD_MAX_TIMEOUT = 2160  # minutes: StartBuild timeoutInMinutesOverride is 5..2160 (botocore's model)
COMPUTE = "BUILD_GENERAL1_SMALL"
LOG_RETENTION_DAYS = 365


@dataclass
class JobSchedulerArgs:
    name: str  # config name
    account: str
    region: str
    partition: str
    project: str  # the CodeBuild project's name (names.codebuild_project)
    project_arn: str
    runner_role_arn: str  # the builds' service role (deterministic ARN)
    scheduler_role: str  # the role the schedules use
    buildspec: str
    jobs: Sequence[Job]
    plaintext: Mapping[str, str] = field(default_factory=dict)  # not secret: spec, bucket, versions
    secrets: Mapping[str, str] = field(default_factory=dict)  # env var -> Secrets Manager ARN
    after: Sequence[pulumi.Resource] = ()  # the runner role and its policy


def start_build_input(project: str, job: Job) -> dict:
    """The StartBuild request a schedule sends (CodeBuild's own member names)."""
    return {"projectName": project,
            "environmentVariablesOverride": [{"name": JOB_VARIABLE, "value": job.id, "type": "PLAINTEXT"}],
            "timeoutInMinutesOverride": min(job.timeout_minutes, CODEBUILD_MAX_TIMEOUT)}


def schedule_group_with_role(prefix: str, *, group_name: str, role_name: str | None, description: str, policy_name: str,
                             policy: Mapping[str, object], partition: str, region: str, account: str,
                             opts: pulumi.ResourceOptions) -> tuple[aws.scheduler.ScheduleGroup, aws.iam.Role,
                                                                    aws.iam.RolePolicy]:
    """A schedule group and the role its schedules assume: trusted by Scheduler for this group only
    (aws:SourceAccount + aws:SourceArn, its confused-deputy guard), allowed ``policy`` and nothing else."""
    group = aws.scheduler.ScheduleGroup(f"{prefix}-schedules", name=group_name, opts=opts)
    group_arn = f"arn:{partition}:scheduler:{region}:{account}:schedule-group/{group_name}"
    role = aws.iam.Role(
        f"{prefix}-role", name=role_name, description=description,
        assume_role_policy=json.dumps(service_trust_policy("scheduler.amazonaws.com", account, [group_arn])),
        opts=opts)
    attached = aws.iam.RolePolicy(f"{prefix}-policy", role=role.id, name=policy_name, policy=json.dumps(policy),
                                  opts=opts)
    return group, role, attached


class JobScheduler(pulumi.ComponentResource):
    """The CodeBuild project (+ its log group), the scheduler role, one schedule per job."""

    def __init__(self, name: str, args: JobSchedulerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:scheduler:JobScheduler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.logs = aws.cloudwatch.LogGroup(f"{name}-build-log", name=codebuild_log_group(args.project),
                                            retention_in_days=LOG_RETENTION_DAYS, opts=child)
        self.project = self._project(name, args)
        group, role, policy = schedule_group_with_role(
            name, group_name=schedule_name(args.name, "jobs"), role_name=args.scheduler_role,
            description="deedbox: EventBridge Scheduler starts the jobs", policy_name="deedbox-start-jobs",
            policy=start_build_policy(args.project_arn), partition=args.partition, region=args.region,
            account=args.account, opts=child)
        for job in args.jobs:
            aws.scheduler.Schedule(
                f"{name}-{job.id}", name=schedule_name(args.name, job.id), group_name=group.name,
                description=job.title, schedule_expression=job.schedule,
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=f"arn:{args.partition}:scheduler:::aws-sdk:codebuild:startBuild",
                    role_arn=role_arn(args.account, args.scheduler_role),
                    input=json.dumps(start_build_input(args.project, job))),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role, policy, self.project]))
        self.project_arn = self.project.arn
        self.register_outputs({"project_arn": self.project_arn})

    def _project(self, name: str, args: JobSchedulerArgs) -> aws.codebuild.Project:
        variables = [aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=k, value=v, type="PLAINTEXT")
                     for k, v in sorted(args.plaintext.items())]
        variables += [aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=k, value=v, type="SECRETS_MANAGER")
                      for k, v in sorted(args.secrets.items())]
        return aws.codebuild.Project(
            f"{name}-project", name=args.project, description="deedbox scheduled jobs (DEEDBOX_JOB selects one)",
            service_role=args.runner_role_arn, build_timeout=60,
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            source=aws.codebuild.ProjectSourceArgs(type="NO_SOURCE", buildspec=args.buildspec),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type="LINUX_CONTAINER", image=IMAGE, compute_type=COMPUTE, image_pull_credentials_type="CODEBUILD",
                privileged_mode=False, environment_variables=variables),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=self.logs.name),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED")),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.after, self.logs]))
