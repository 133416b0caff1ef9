"""RunnerIdentity: the role scheduled backup jobs run as: from GitHub Actions via OIDC, or as the
CodeBuild service role of the ``aws`` runner (``runner.kind: aws``).

Protects against leaked long-lived keys (there are none: GitHub's OIDC token is exchanged for
short sessions, only for the configured repository and branch or environment; CodeBuild hands
its builds the role's own short sessions, and only for deedbox's project) and against a
compromised job: the role can add backups and read them, never delete or rewrite them, nor
change a bucket's policy, lifecycle, lock or replication, nor silence the dead-man's switch
(explicit Deny; see ``access``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from deedbox.topology.access import codebuild_trust_policy, github_trust_policy, runner_policy
from deedbox.topology.names import GITHUB_OIDC_URL, STS_AUDIENCE


@dataclass
class RunnerIdentityArgs:
    role_name: str
    subject: str  # repo:<repo>:ref:refs/heads/<branch> or repo:<repo>:environment:<env>
    bucket_arn: str
    prefixes: Sequence[str]
    account: str  # the destination account: its keys and secrets
    regions: Sequence[str]  # where its keys and secret replicas are (primary, replica)
    key_aliases: Sequence[str]  # store, replica store, vault (the vault alias exists in both regions)
    secret_pattern: str | None = None  # arn:aws:secretsmanager:*:<account>:secret:deedbox/<name>/*
    oidc_provider_arn: str = ""  # the account's GitHub provider (deterministic ARN)
    create_oidc_provider: bool = False  # create it (protected, retained on destroy) instead of reusing it
    source_bucket: str | None = None  # media from an AWS bucket (sync or replicate): the runner reads it
    source_prefixes: Sequence[str] = field(default_factory=list)
    source_key_scope: tuple[str, str] | None = None  # (account, region) of the media bucket's SSE-KMS keys
    codebuild_project_arn: str | None = None  # the aws runner: trusted by CodeBuild for this project, not GitHub
    build_log_group_arn: str | None = None  # the aws runner: where its builds log
    job_secrets: Sequence[str] = ()  # the aws runner: secrets CodeBuild reads into the jobs' environment
    publish_topics: Sequence[str] = ()  # deedbox --notify publishes here
    watch_log_groups: Sequence[str] = ()  # the dead-man's switch's log groups (ARN prefixes): never written


class RunnerIdentity(pulumi.ComponentResource):
    """The runner role and its one inline policy (+ the GitHub OIDC provider when asked to create it;
    the ``aws`` runner's role trusts CodeBuild instead and needs no provider).

    Both documents are plain strings built from deterministic ARNs: the policy pack judges them at
    the first preview. IAM allows one OIDC provider per URL per account, so by default the account's
    existing provider is trusted by its known ARN; a created one is protected and retained on
    destroy, because other roles may trust it too.
    """

    def __init__(self, name: str, args: RunnerIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:runner:RunnerIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role_opts = child
        if args.create_oidc_provider and not args.codebuild_project_arn:
            self.oidc = aws.iam.OpenIdConnectProvider(
                f"{name}-github-oidc", url=GITHUB_OIDC_URL, client_id_lists=[STS_AUDIENCE],
                opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True))
            role_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.oidc])
        if args.codebuild_project_arn:
            trust, who = codebuild_trust_policy(args.account, args.codebuild_project_arn), "CodeBuild"
        else:
            trust, who = github_trust_policy(args.oidc_provider_arn, args.subject), "GitHub Actions"
        self.role = aws.iam.Role(
            f"{name}-role", name=args.role_name, description=f"deedbox backup runner ({who})",
            max_session_duration=3600, assume_role_policy=json.dumps(trust), opts=role_opts)
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, name="deedbox-backup-runner",
            policy=json.dumps(runner_policy(
                bucket_arn=args.bucket_arn, prefixes=args.prefixes, account=args.account, regions=args.regions,
                key_aliases=args.key_aliases, secret_pattern=args.secret_pattern,
                source_bucket=args.source_bucket, source_prefixes=args.source_prefixes,
                source_key_scope=args.source_key_scope, publish_topics=args.publish_topics,
                build_log_group=args.build_log_group_arn, job_secrets=args.job_secrets,
                watch_log_groups=args.watch_log_groups)),
            opts=child)
        self.role_arn = self.role.arn
        self.register_outputs({"role_arn": self.role_arn})
