"""Deterministic physical names and ARNs of everything the topology creates.

Names are derived from the config, never auto-suffixed: plans stay readable, operations find the
bucket without asking Pulumi, and the policies can name a role before it exists (ARNs of roles
are known in advance, which lets key and bucket policies refer to them without a creation-order
cycle). Every function is pure and raises ``ConfigError`` for a name AWS would refuse.
"""

from __future__ import annotations

import re

from deedbox.bucket.layout import PREFIXES
from deedbox.errors import ConfigError

BUCKET_MAX = 63  # S3 bucket names: 3-63 characters, lowercase letters, digits, hyphens, dots
ROLE_MAX = 64  # IAM role names
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"


def bucket_name(name: str, role: str, account: str, region: str) -> str:
    """``<name>-<role>-<account>-<region>``, e.g. ``guild-backup-222222222222-eu-west-1``."""
    candidate = f"{name}-{role}-{account}-{region}".lower()
    if len(candidate) > BUCKET_MAX:
        raise ConfigError(
            f"bucket name {candidate!r} is {len(candidate)} characters, S3 allows {BUCKET_MAX}: "
            f"shorten `name` ({name!r}) by {len(candidate) - BUCKET_MAX}"
        )
    if not _BUCKET_RE.match(candidate) or ".." in candidate:
        raise ConfigError(f"bucket name {candidate!r} is not a valid S3 bucket name: check `name` ({name!r})")
    return candidate


def store_bucket(name: str, account: str, region: str) -> str:
    return bucket_name(name, "backup", account, region)


def replica_bucket(name: str, account: str, region: str) -> str:
    return bucket_name(name, "replica", account, region)


def role_name(name: str, purpose: str) -> str:
    """``<name>-deedbox-<purpose>``, checked against IAM's 64-character limit."""
    candidate = f"{name}-deedbox-{purpose}"
    if len(candidate) > ROLE_MAX:
        raise ConfigError(f"role name {candidate!r} is longer than {ROLE_MAX} characters: shorten `name`")
    return candidate


def role_arn(account: str, role: str) -> str:
    return f"arn:aws:iam::{account}:role/{role}"


def root_arn(account: str) -> str:
    """The account principal; as ``aws:PrincipalArn`` it matches only the root user."""
    return f"arn:aws:iam::{account}:root"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def key_alias(name: str, purpose: str) -> str:
    """``alias/deedbox/<name>/<purpose>``: the deterministic handle of a key (its id is random)."""
    return f"alias/deedbox/{name}/{purpose}"


def key_alias_arn(region: str, account: str, alias: str) -> str:
    """An alias ARN: S3 replication accepts it as ``replica_kms_key_id`` (AWS S3 API reference,
    ``EncryptionConfiguration.ReplicaKmsKeyID``: "Key ARN or Alias ARN")."""
    return f"arn:aws:kms:{region}:{account}:{alias}"


def github_oidc_provider_arn(account: str) -> str:
    """The account's GitHub OIDC provider: IAM allows one per URL, so its ARN is known."""
    return f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"


def secret_name(name: str, key: str) -> str:
    """``deedbox/<name>/<KEY>``: one Secrets Manager secret per configured environment key."""
    return f"deedbox/{name}/{key}"


def media_destination_prefix(mode: str, cls: str, source_prefix: str) -> str:
    """Where a media class lands in the backup bucket.

    S3 replication cannot rewrite key prefixes, so replicated objects keep their source key
    (``uploads/a.png`` stays ``uploads/a.png``); the runner's sync copies under ``media/<class>/``.
    The map of class to prefix is part of the ``deedbox`` stack output so operations never guess.
    """
    if mode == "replicate":
        clash = [p for p in PREFIXES.values() if source_prefix.startswith(p) or p.startswith(source_prefix)]
        if clash:
            raise ConfigError(
                f"media class {cls!r}: prefix {source_prefix!r} overlaps the backup prefix {clash[0]!r}; "
                "replicated objects keep their source key, so use `mode: sync` or another prefix"
            )
        return source_prefix
    return f"{PREFIXES['media']}{cls}/"


# --------------------------------------------------------------------------- the dead-man's switch and the aws runner

def metric_namespace(name: str) -> str:
    """``Deedbox/<name>``: the CloudWatch namespace of the arrival counts and due markers."""
    return f"Deedbox/{name}"


def watch_log_group(name: str, signal: str) -> str:
    """``/aws/events/deedbox/<name>/<signal>``: where EventBridge logs each arrival (the console's prefix)."""
    return f"/aws/events/deedbox/{name}/{signal}"


def watch_rule(name: str, signal: str) -> str:
    """``<name>-deedbox-<signal>-arrived``: the EventBridge rule matching one kind of arrival."""
    return _bounded(f"{name}-deedbox-{signal}-arrived", 64, "EventBridge rule")


def alarm_name(name: str, what: str) -> str:
    """``<name>-deedbox-<what>``: every alarm of the dead-man's switch (CloudWatch allows 255 characters)."""
    return _bounded(f"{name}-deedbox-{what}", 255, "CloudWatch alarm")


def schedule_name(name: str, what: str) -> str:
    """``<name>-deedbox-<what>``: an EventBridge Scheduler schedule (64 characters, [0-9a-zA-Z-_.])."""
    return _bounded(f"{name}-deedbox-{what}", 64, "EventBridge Scheduler schedule")


def codebuild_project(name: str) -> str:
    """``<name>-deedbox-jobs``: the aws runner's CodeBuild project (CodeBuild allows 150 characters)."""
    return _bounded(f"{name}-deedbox-jobs", 150, "CodeBuild project")


def codebuild_project_arn(partition: str, region: str, account: str, project: str) -> str:
    return f"arn:{partition}:codebuild:{region}:{account}:project/{project}"


def codebuild_log_group(project: str) -> str:
    """CodeBuild's own convention for a project's build logs."""
    return f"/aws/codebuild/{project}"


def log_group_arn(partition: str, region: str, account: str, group: str) -> str:
    """A log group's ARN as EventBridge targets and IAM name it (no ``:*`` stream suffix)."""
    return f"arn:{partition}:logs:{region}:{account}:log-group:{group}"


def schedule_arn(partition: str, region: str, account: str, schedule: str) -> str:
    """A schedule of the default group: the ``aws:SourceArn`` EventBridge Scheduler presents."""
    return f"arn:{partition}:scheduler:{region}:{account}:schedule/default/{schedule}"


def alarm_arn(partition: str, region: str, account: str, alarm: str) -> str:
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarm}"


def _bounded(candidate: str, limit: int, what: str) -> str:
    if len(candidate) > limit:
        raise ConfigError(f"{what} name {candidate!r} is longer than {limit} characters: shorten `name`")
    return candidate
