"""Identity policies of the roles deedbox creates: the backup runner and the replication roles.

The runner is write-only in the sense that matters for backups: it can add objects and read
them back, never remove or rewrite history. ``runner_policy`` grants exactly that and adds an
explicit Deny of every delete-class, retention, policy, lifecycle and replication action, so a
later, broader grant attached to the role by someone else still cannot open those doors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from deedbox.topology.documents import (
    SOURCE_READ_ACTIONS,
    Document,
    Statement,
    document,
    role_grant,
    service_trust_policy,
    statement,
)
from deedbox.topology.names import GITHUB_OIDC_HOST, STS_AUDIENCE

RUNNER_FORBIDDEN = (
    "s3:DeleteObject*", "s3:DeleteBucket*", "s3:BypassGovernanceRetention", "s3:PutObjectRetention",
    "s3:PutObjectLegalHold", "s3:PutBucket*", "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration", "s3:PutEncryptionConfiguration", "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy",
    "kms:DeleteAlias", "kms:CreateGrant", "secretsmanager:DeleteSecret",
    "secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:RemoveRegionsFromReplication", "secretsmanager:UpdateSecret",
)
# Whoever runs the jobs must not be able to silence the dead-man's switch that watches them:
# alarms, their metrics, the rules and schedules that feed them, the topic they notify, the
# CodeBuild project (a job that rewrites its own project rewrites every later job).
WATCH_FORBIDDEN = (
    "cloudwatch:DeleteAlarms", "cloudwatch:DisableAlarmActions", "cloudwatch:PutMetricAlarm",
    "cloudwatch:PutCompositeAlarm", "cloudwatch:SetAlarmState", "cloudwatch:PutMetricData",
    "events:DeleteRule", "events:DisableRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets",
    "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
    "scheduler:DeleteScheduleGroup", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:AddPermission",
    "sns:RemovePermission", "sns:Subscribe", "sns:Unsubscribe", "logs:PutResourcePolicy",
    "logs:DeleteResourcePolicy", "codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject",
)
# On the watch log groups: an event written there by hand is a forged arrival.
WATCH_LOG_FORBIDDEN = (
    "logs:CreateLogStream", "logs:PutLogEvents", "logs:DeleteLogGroup", "logs:DeleteLogStream",
    "logs:PutMetricFilter", "logs:DeleteMetricFilter", "logs:PutRetentionPolicy",
)
# The concrete actions the Deny must cover; a test checks no Allow of the runner matches one.
DELETE_CLASS_ACTIONS = (
    "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:DeleteBucketPolicy",
    "s3:BypassGovernanceRetention", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
    "s3:PutBucketPolicy", "s3:PutBucketVersioning", "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration", "kms:ScheduleKeyDeletion",
    "kms:DisableKey", "secretsmanager:DeleteSecret",
)
REPLICATION_SOURCE_BUCKET = ("s3:GetReplicationConfiguration", "s3:ListBucket")
REPLICATION_SOURCE_OBJECTS = (
    "s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
    "s3:GetObjectRetention", "s3:GetObjectLegalHold",
)
REPLICATION_DESTINATION_OBJECTS = ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags")


def s3_trust_policy() -> Document:
    """Only the S3 service may assume a replication role."""
    return document(statement("S3Replication", "Allow", ["sts:AssumeRole"], None,
                              principal={"Service": "s3.amazonaws.com"}))


def github_subject(repository: str, *, branch: str | None, environment: str | None) -> str:
    """The OIDC ``sub`` a workflow must present: its environment if configured, else its branch."""
    if environment:
        return f"repo:{repository}:environment:{environment}"
    return f"repo:{repository}:ref:refs/heads/{branch or 'main'}"


def codebuild_trust_policy(account: str, project_arn: str) -> Document:
    """The ``aws`` runner: assumable by CodeBuild building this one project of this account only."""
    return service_trust_policy("codebuild.amazonaws.com", account, [project_arn])


def github_trust_policy(oidc_provider_arn: str, subject: str) -> Document:
    """Assumable only through GitHub's OIDC provider, for this audience and this subject exactly."""
    return document(statement(
        "GitHubActions", "Allow", ["sts:AssumeRoleWithWebIdentity"], None,
        principal={"Federated": oidc_provider_arn},
        condition={"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE, f"{GITHUB_OIDC_HOST}:sub": subject}},
    ))


def keys_by_alias(sid: str, actions: Sequence[str], account: str, regions: Sequence[str],
                  aliases: Sequence[str]) -> Statement:
    """Use of the keys that carry one of ``aliases``, in ``regions``: deterministic at preview.

    A key's ARN holds a random id, known only after ``up``; a policy built from it inside
    ``apply()`` is unknown at a first preview, where the policy pack must judge it. The alias
    is chosen by deedbox, and ``kms:ResourceAliases`` matches it for operations on the key
    (AWS KMS developer guide, "kms:ResourceAliases"); multi-Region replica keys carry their own
    alias in their region, so one statement covers both (the secret vault's replica).
    """
    return statement(sid, "Allow", actions, [f"arn:aws:kms:{r}:{account}:key/*" for r in dict.fromkeys(regions)],
                     condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": sorted(set(aliases))}})


def runner_policy(*, bucket_arn: str, prefixes: Sequence[str], account: str, regions: Sequence[str],
                  key_aliases: Sequence[str], secret_pattern: str | None = None,
                  source_bucket: str | None = None, source_prefixes: Sequence[str] = (),
                  source_key_scope: tuple[str, str] | None = None, publish_topics: Sequence[str] = (),
                  build_log_group: str | None = None, job_secrets: Sequence[str] = (),
                  watch_log_groups: Sequence[str] = ()) -> Document:
    """Put and read backups under ``prefixes``, use the keys, write secret versions; nothing else.

    Every ARN is deterministic (keys by alias, secrets by their name prefix), so the document is
    a plain string the policy pack reads at preview, not an output.

    ``source_bucket`` (media from an AWS bucket in the source account, ``sync`` or ``replicate``
    mode: the sync reads it, replication checks and ``--backfill`` do too): read-only access to the
    class prefixes there; the bucket's owner grants the other half of this cross-account access
    with the ``media_source_policy`` output. ``source_key_scope`` ``(account, region)`` adds
    decrypting SSE-KMS media through S3 with that account's keys (the key's policy must allow it too).

    ``publish_topics``: ``sns:Publish`` for ``deedbox --notify``. ``build_log_group`` (the ``aws``
    runner: this role is the CodeBuild project's service role): write the build's logs there.
    ``job_secrets``: the Secrets Manager secrets CodeBuild reads into the jobs' environment, with
    this role. ``watch_log_groups``: the dead-man's switch's log groups, which nobody running a job
    may write to (a forged arrival would silence an alarm), beside the explicit Deny of every
    action that deletes, disables or re-points the switch.
    """
    objects = [f"{bucket_arn}/{p}*" for p in prefixes]
    statements: list[Statement] = [
        statement("ListBackups", "Allow", ["s3:ListBucket", "s3:ListBucketVersions"], [bucket_arn],
                  condition={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}),
        statement("InspectBucket", "Allow",
                  ["s3:GetBucketVersioning", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketLocation",
                   "s3:GetEncryptionConfiguration"], [bucket_arn]),
        statement("WriteAndReadBackups", "Allow",
                  ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes",
                   "s3:GetObjectVersionAttributes", "s3:GetObjectRetention", "s3:AbortMultipartUpload",
                   "s3:ListMultipartUploadParts"], objects),
        keys_by_alias("UseBackupKeys", ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                      account, regions, key_aliases),
    ]
    if secret_pattern:
        statements.append(statement(
            "WriteAndVerifySecrets", "Allow",
            ["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            [secret_pattern]))
    if source_bucket:
        statements += source_read_statements(source_bucket, source_prefixes, key_scope=source_key_scope)
    statements += job_statements(publish_topics=publish_topics, build_log_group=build_log_group,
                                 job_secrets=job_secrets)
    statements.append(statement("NeverDestroyOrReconfigure", "Deny", RUNNER_FORBIDDEN, "*"))
    statements.append(statement("NeverSilenceTheWatch", "Deny", WATCH_FORBIDDEN, "*"))
    if watch_log_groups:
        statements.append(statement("NeverForgeArrivals", "Deny", WATCH_LOG_FORBIDDEN,
                                    [f"{g}*" for g in watch_log_groups]))
    return document(*statements)


def job_statements(*, publish_topics: Sequence[str] = (), build_log_group: str | None = None,
                   job_secrets: Sequence[str] = ()) -> list[Statement]:
    """What the scheduled jobs themselves need besides the bucket and keys (see ``runner_policy``)."""
    out: list[Statement] = []
    if publish_topics:
        out.append(statement("PublishNotifications", "Allow", ["sns:Publish"], sorted(set(publish_topics))))
    if build_log_group:
        out.append(statement("WriteBuildLogs", "Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
                             [build_log_group, f"{build_log_group}:*"]))
    if job_secrets:
        # a secret's full ARN ends in -<6 random characters>; a partial one is matched with -?????? (IAM user
        # guide: "Amazon Secrets Manager ARNs"): both forms are listed, so either kind of ARN works
        arns = sorted({a for arn in job_secrets for a in (arn, f"{arn}-??????")})
        out.append(statement("ReadJobSecrets", "Allow", ["secretsmanager:GetSecretValue"], arns))
    return out


def source_read_statements(bucket: str, prefixes: Sequence[str], *,
                           key_scope: tuple[str, str] | None = None) -> list[Statement]:
    """List the class prefixes of the media bucket and read their objects; decrypt through S3 only."""
    arn = f"arn:aws:s3:::{bucket}"
    out = [
        statement("ListMediaSource", "Allow", ["s3:ListBucket"], [arn],
                  condition={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}),
        statement("ReadMediaSource", "Allow", SOURCE_READ_ACTIONS, [f"{arn}/{p}*" for p in prefixes]),
    ]
    if key_scope:
        account, region = key_scope
        out.append(statement("DecryptMediaSource", "Allow", ["kms:Decrypt"], [f"arn:aws:kms:{region}:{account}:key/*"],
                             condition={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}))
    return out


def replication_role_policy(*, source_bucket_arn: str, destination_bucket_arn: str,
                            source_key_arns: Sequence[str], destination_key: Statement,
                            source_key_condition: str | None = None,
                            source_key_aliases: Sequence[str] = ()) -> Document:
    """What S3 needs to replicate SSE-KMS objects from one bucket into another (AWS's list).

    ``destination_key`` is the ``replica_key_statement`` of the destination's key alias.
    ``source_key_arns`` may be a pattern (``arn:aws:kms:REGION:ACCOUNT:key/*``) when the source
    bucket is not ours; ``source_key_condition`` then limits decrypts to calls made through S3.
    """
    decrypt_condition: dict[str, Any] = {"StringLike": {"kms:ViaService": source_key_condition}} \
        if source_key_condition else {}
    if source_key_aliases:
        decrypt_condition["ForAnyValue:StringEquals"] = {"kms:ResourceAliases": sorted(source_key_aliases)}
    return document(
        statement("ReadSourceConfiguration", "Allow", REPLICATION_SOURCE_BUCKET, [source_bucket_arn]),
        statement("ReadSourceVersions", "Allow", REPLICATION_SOURCE_OBJECTS, [f"{source_bucket_arn}/*"]),
        statement("WriteReplicas", "Allow", (*REPLICATION_DESTINATION_OBJECTS, "s3:ObjectOwnerOverrideToBucketOwner"),
                  [f"{destination_bucket_arn}/*"]),
        statement("DecryptSource", "Allow", ["kms:Decrypt"], list(source_key_arns), condition=decrypt_condition or None),
        destination_key,
    )


def replica_key_statement(account: str, region: str, alias: str) -> Statement:
    """What a replication role needs of the destination key: encrypt replicas (by alias)."""
    return keys_by_alias("EncryptReplicas", ["kms:Encrypt", "kms:GenerateDataKey"], account, [region], [alias])


def cross_account_replication_grant(source_account: str, role_arn: str, destination_bucket_arn: str) -> list[Statement]:
    """Destination bucket policy statements letting another account's replication role write."""
    roles = {source_account: [role_arn]}
    return [
        *role_grant("MediaReplicationWrite",
                    (*REPLICATION_DESTINATION_OBJECTS, "s3:ObjectOwnerOverrideToBucketOwner"),
                    [f"{destination_bucket_arn}/*"], roles),
        *role_grant("MediaReplicationBucket", ["s3:GetBucketVersioning", "s3:List*"],
                    [destination_bucket_arn], roles),
    ]


def allowed_actions(policy: Document) -> list[str]:
    """Every action (pattern) an identity policy's Allow statements grant."""
    out: list[str] = []
    for s in policy["Statement"]:
        if s["Effect"] == "Allow":
            acts = s.get("Action", [])
            out.extend([acts] if isinstance(acts, str) else acts)
    return out


def grants_any(patterns: Iterable[str], actions: Iterable[str]) -> list[str]:
    """The ``actions`` that some pattern (``s3:*``, ``s3:Delete*``, ``*``) matches, case-insensitively."""
    pats = [p.lower() for p in patterns]
    return [a for a in actions if any(fnmatchcase(a.lower(), p) for p in pats)]
