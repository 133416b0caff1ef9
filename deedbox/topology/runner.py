"""RunnerIdentity: the role scheduled backup jobs assume from GitHub Actions, via OIDC.

Protects against leaked long-lived keys (there are none: GitHub's OIDC token is exchanged for
short sessions, only for the configured repository and branch or environment) and against a
compromised job: the role can add backups and read them, never delete or rewrite them, nor
change a bucket's policy, lifecycle, lock or replication (explicit Deny; see ``access``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from deedbox.topology.access import github_trust_policy, runner_policy
from deedbox.topology.names import GITHUB_OIDC_URL, STS_AUDIENCE


@dataclass
class RunnerIdentityArgs:
    role_name: str
    subject: str  # repo:<repo>:ref:refs/heads/<branch> or repo:<repo>:environment:<env>
    bucket_arn: str
    prefixes: Sequence[str]
    key_arns: Sequence[pulumi.Input[str]]
    secret_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    oidc_provider_arn: str | None = None  # reuse the account's existing GitHub provider
    source_bucket: str | None = None  # media from an AWS bucket (sync or replicate): the runner reads it
    source_prefixes: Sequence[str] = field(default_factory=list)
    source_key_scope: tuple[str, str] | None = None  # (account, region) of the media bucket's SSE-KMS keys


class RunnerIdentity(pulumi.ComponentResource):
    """GitHub OIDC provider (unless reused), the runner role and its one inline policy."""

    def __init__(self, name: str, args: RunnerIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:runner:RunnerIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        provider_arn: pulumi.Input[str]
        if args.oidc_provider_arn:
            provider_arn = args.oidc_provider_arn
        else:
            self.oidc = aws.iam.OpenIdConnectProvider(
                f"{name}-github-oidc", url=GITHUB_OIDC_URL, client_id_lists=[STS_AUDIENCE], opts=child)
            provider_arn = self.oidc.arn
        self.role = aws.iam.Role(
            f"{name}-role", name=args.role_name, description="deedbox backup runner (GitHub Actions)",
            max_session_duration=3600,
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: json.dumps(github_trust_policy(arn, args.subject))),
            opts=child)
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, name="deedbox-backup-runner",
            policy=pulumi.Output.all(list(args.key_arns), list(args.secret_arns)).apply(
                lambda arns: json.dumps(runner_policy(
                    bucket_arn=args.bucket_arn, prefixes=args.prefixes, key_arns=arns[0], secret_arns=arns[1],
                    source_bucket=args.source_bucket, source_prefixes=args.source_prefixes,
                    source_key_scope=args.source_key_scope))),
            opts=child)
        self.role_arn = self.role.arn
        self.register_outputs({"role_arn": self.role_arn})
