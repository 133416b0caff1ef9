"""Resource policies and lifecycle rules of the backup stores, keys and secrets: pure functions.

Why principals appear as ``aws:PrincipalArn`` conditions under an *account* principal rather
than as role principals: S3, KMS and Secrets Manager reject a policy naming a role that does not
exist yet, and the roles (runner, replication) are created after the stores they use. An account
principal always exists, the condition narrows it to the named role, and no creation-order cycle
appears between a key policy and the role policy that points back at the key.

Who may undo the protections (see ``docs/topology.md``): object deletion, retention and legal
hold are denied to everyone but the break-glass principal; configuration changes (policy,
lifecycle, lock, replication) to everyone but the break-glass principal and the deployer role.
With neither configured, only the account's root user is exempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from deedbox.config.model import Storage
from deedbox.topology.names import root_arn

Statement = dict[str, Any]
Document = dict[str, Any]

DESTROY_ACTIONS = (
    "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention", "s3:PutObjectLegalHold",
)
CONFIG_ACTIONS = (
    "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutReplicationConfiguration",
    "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:DeleteBucket",
)
KEY_USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")
# What the account (through IAM: the deployer) may do to a key: administer it, never use it (no
# Encrypt/Decrypt, and no CreateGrant, which would hand use to anyone). AWS's key-administrator list.
KEY_ADMIN_ACTIONS = (
    "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:Describe*", "kms:List*", "kms:Get*",
    "kms:EnableKeyRotation", "kms:RotateKeyOnDemand", "kms:TagResource", "kms:UntagResource",
    "kms:UpdateKeyDescription", "kms:ReplicateKey", "kms:RevokeGrant", "kms:RetireGrant",
    "kms:CancelKeyDeletion", "kms:EnableKey",
)
# Rewriting the policy, disabling or deleting the key makes every locked version unreadable (object
# lock "does not protect against losing access to the encryption keys"): break-glass only. Denying
# PutKeyPolicy to the deployer needs the key created with bypass_policy_lockout_safety_check: a later
# key policy change is applied as the break-glass principal (docs/topology.md).
KEY_DESTROY_ACTIONS = ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey",
                       "kms:DisableKeyRotation", "kms:DeleteImportedKeyMaterial", "kms:UpdatePrimaryRegion")
ABORT_MULTIPART_DAYS = 7


def document(*statements: Statement) -> Document:
    return {"Version": "2012-10-17", "Statement": [s for s in statements if s]}


def statement(sid: str, effect: str, actions: Iterable[str], resources: Iterable[str] | str | None,
              *, principal: Any = None, condition: Mapping[str, Any] | None = None) -> Statement:
    """One IAM statement; ``principal=None`` for identity policies, ``resources=None`` for trust."""
    out: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(actions)}
    if resources is not None:
        out["Resource"] = resources if isinstance(resources, str) else list(resources)
    if principal is not None:
        out["Principal"] = principal
    if condition:
        out["Condition"] = dict(condition)
    return out


def exemptions(account: str, *people: str | None) -> list[str]:
    """The principals a deny statement spares: those configured, else the account root only."""
    named = sorted({p for p in people if p})
    return named or [root_arn(account)]


def _deny_except(sid: str, actions: Sequence[str], resources: Sequence[str], exempt: Sequence[str]) -> Statement:
    return statement(sid, "Deny", actions, resources, principal="*",
                     condition={"StringNotLike": {"aws:PrincipalArn": list(exempt)}})


def role_grant(sid: str, actions: Sequence[str], resources: Sequence[str] | str,
               roles: Mapping[str, Sequence[str]]) -> list[Statement]:
    """Allow named roles, grouped by account: account principal narrowed by ``aws:PrincipalArn``."""
    return [
        statement(f"{sid}{i}" if len(roles) > 1 else sid, "Allow", actions, resources,
                  principal={"AWS": root_arn(account)},
                  condition={"ArnEquals": {"aws:PrincipalArn": sorted(arns)}})
        for i, (account, arns) in enumerate(sorted(roles.items())) if arns
    ]


# Where deedbox writes each key once and only once (``put_new``): a second version there is tampering.
# Not media/: server-side media copies are CopyObject, which cannot be conditional (AWS: "CopyObject
# requests made with those HTTP headers fail with a 501 Not Implemented"), and a media key may
# legitimately get a new version when its source changes (the old one stays, versioned and locked).
WRITE_ONCE_PREFIXES = ("backend/", "drills/", "records/", "restores/", "status/")


def write_once_statement(bucket_arn: str, writers: Sequence[str]) -> Statement:
    """Deny ``writers`` any object *creation* on the write-once prefixes without ``If-None-Match``.

    AWS S3 user guide, "Enforce conditional writes on Amazon S3 buckets": ``s3:if-none-match`` is
    null when the header is absent; ``s3:ObjectCreationOperation`` is false for
    CreateMultipartUpload, UploadPart and UploadPartCopy (which cannot carry the header), so they
    stay allowed and the CompleteMultipartUpload that creates the object is the request judged.
    """
    return statement("DenyUnconditionalWrites", "Deny", ["s3:PutObject"],
                     [f"{bucket_arn}/{p}*" for p in WRITE_ONCE_PREFIXES], principal="*",
                     condition={"Null": {"s3:if-none-match": "true"},
                                "Bool": {"s3:ObjectCreationOperation": "true"},
                                "ArnLike": {"aws:PrincipalArn": sorted(writers)}})


def bucket_policy(bucket_arn: str, *, destroy_exempt: Sequence[str], config_exempt: Sequence[str],
                  extra: Sequence[Statement] = (), conditional_writers: Sequence[str] = ()) -> Document:
    """TLS only; nobody but the exempt principals deletes, unlocks or reconfigures the bucket; the
    ``conditional_writers`` (the runner) can only create keys that do not exist yet."""
    objects = f"{bucket_arn}/*"
    return document(
        statement("DenyInsecureTransport", "Deny", ["s3:*"], [bucket_arn, objects], principal="*",
                  condition={"Bool": {"aws:SecureTransport": "false"}}),
        _deny_except("DenyDataDestruction", DESTROY_ACTIONS, [bucket_arn, objects], destroy_exempt),
        _deny_except("DenyProtectionChanges", CONFIG_ACTIONS, [bucket_arn], config_exempt),
        write_once_statement(bucket_arn, conditional_writers) if conditional_writers else {},
        *extra,
    )


def key_policy(account: str, *, users: Mapping[str, Sequence[str]], destroy_exempt: Sequence[str],
               service: str | None = None) -> Document:
    """Administered by the account, **used only by the named roles**, destroyed only by break-glass.

    A ``kms:*`` grant to the account root would delegate *use* to IAM, so any administrator of the
    destination account could decrypt; here the account gets administration only
    (``KEY_ADMIN_ACTIONS``). ``users`` maps an account to the role ARNs that encrypt/decrypt with
    the key (the replication role of a source account appears under its own account; the
    break-glass principal belongs here too, for recovery). ``service`` (e.g.
    ``secretsmanager.eu-west-1.amazonaws.com``) limits those uses to calls made through it.
    Policy changes, disabling and deletion are denied to all but ``destroy_exempt``.
    """
    condition_extra = {"StringLike": {"kms:ViaService": service}} if service else {}
    grants = role_grant("AllowBackupRoles", KEY_USE_ACTIONS, "*", users)
    for g in grants:
        g["Condition"].update(condition_extra)
    return document(
        statement("AccountAdministers", "Allow", KEY_ADMIN_ACTIONS, "*", principal={"AWS": root_arn(account)}),
        *grants,
        statement("BreakGlassRecovers", "Allow", KEY_DESTROY_ACTIONS, "*", principal={"AWS": root_arn(account)},
                  condition={"ArnEquals": {"aws:PrincipalArn": sorted(destroy_exempt)}}),
        _deny_except("DenyKeyDestruction", KEY_DESTROY_ACTIONS, ["*"], destroy_exempt),
    )


def secret_policy(*, value_users: Sequence[str]) -> Document:
    """Only the runner (writes versions, verifies) and the break-glass principal touch values."""
    return document(
        _deny_except("DenyValueAccessToOthers", ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
                     ["*"], value_users),
    )


# What the runner does to media objects at the source (``media sync``: list, head, get, server-side
# copy; replication checks read ``ReplicationStatus``): read, never write.
SOURCE_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes",
                       "s3:GetObjectVersionAttributes")


def media_source_read_policy(bucket: str, prefixes: Sequence[str], runner_role_arn: str) -> Document:
    """The statements the media bucket's owner adds so the runner can list and read the media
    classes, only read (``media sync`` in sync mode; replication checks and ``--backfill`` in
    replicate mode)."""
    arn = f"arn:aws:s3:::{bucket}"
    return document(
        statement("DeedboxRunnerList", "Allow", ["s3:ListBucket"], [arn], principal={"AWS": runner_role_arn},
                  condition={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}),
        statement("DeedboxRunnerRead", "Allow", SOURCE_READ_ACTIONS,
                  [f"{arn}/{p}*" for p in prefixes], principal={"AWS": runner_role_arn}),
    )


def noncurrent_days(storage: Storage, lock_days: int) -> int:
    """Old versions are kept at least as long as the lock keeps them (an earlier expiry is a lie)."""
    return max(storage.noncurrent_expire_after_days or lock_days, lock_days)


def lifecycle_rules(storage: Storage, lock_days: int) -> list[dict[str, Any]]:
    """Lifecycle rules (pulumi-aws ``BucketLifecycleConfiguration`` shape) for a backup store."""
    everything = {"prefix": ""}
    rules: list[dict[str, Any]] = [
        {"id": "abort-incomplete-multipart", "status": "Enabled", "filter": everything,
         "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS}},
        {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": everything,
         "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days(storage, lock_days)}},
    ]
    if storage.archive_after_days is not None:
        rules.append({"id": "archive", "status": "Enabled", "filter": everything,
                      "transitions": [{"days": storage.archive_after_days, "storage_class": storage.archive_class}]})
    if storage.expire_after_days is not None:
        rules.append({"id": "expire-current-versions", "status": "Enabled", "filter": everything,
                      "expiration": {"days": max(storage.expire_after_days, lock_days)}})
    return rules


# --------------------------------------------------------------------------- the dead-man's switch

def event_log_policy(log_group_arns: Sequence[str]) -> Document:
    """What EventBridge needs to log matched events into the watch log groups (a CloudWatch Logs
    resource policy: rules use no role for Logs targets). EventBridge user guide, "Using
    resource-based policies", CloudWatch Logs permissions: ``events.amazonaws.com`` and
    ``delivery.logs.amazonaws.com`` may ``CreateLogStream`` and ``PutLogEvents`` in the group."""
    return document(statement(
        "TrustEventsToStoreLogEvent", "Allow", ["logs:CreateLogStream", "logs:PutLogEvents"],
        [f"{arn}:*" for arn in log_group_arns],
        principal={"Service": ["delivery.logs.amazonaws.com", "events.amazonaws.com"]}))


def topic_policy(topic_arn: str, account: str, alarm_arn_pattern: str) -> Document:
    """Only this account's deedbox alarms may publish as CloudWatch (confused-deputy conditions:
    ``aws:SourceAccount`` and ``aws:SourceArn``), and nobody over plain HTTP. Same-account
    principals (the runner) publish through their identity policies."""
    return document(
        statement("CloudWatchAlarmsPublish", "Allow", ["sns:Publish"], [topic_arn],
                  principal={"Service": "cloudwatch.amazonaws.com"},
                  condition={"StringEquals": {"aws:SourceAccount": account},
                             "ArnLike": {"aws:SourceArn": alarm_arn_pattern}}),
        statement("DenyInsecureTransport", "Deny", ["sns:Publish"], [topic_arn], principal="*",
                  condition={"Bool": {"aws:SecureTransport": "false"}}),
    )


def topic_key_policy(account: str, region: str, *, users: Mapping[str, Sequence[str]],
                     destroy_exempt: Sequence[str]) -> Document:
    """The notification topic's key: the runner publishes through SNS (``kms:ViaService``), and
    CloudWatch may use it for its alarms: "CloudWatch cannot publish to a CMK-encrypted topic
    without kms:Decrypt + kms:GenerateDataKey*" (SNS developer guide, "Key management",
    compatibility between event sources from AWS services and encrypted topics)."""
    doc = key_policy(account, users=users, destroy_exempt=destroy_exempt, service=f"sns.{region}.amazonaws.com")
    doc["Statement"].insert(-2, statement(
        "CloudWatchAlarmsEncrypt", "Allow", ["kms:Decrypt", "kms:GenerateDataKey*"], "*",
        principal={"Service": "cloudwatch.amazonaws.com"}, condition={"StringEquals": {"aws:SourceAccount": account}}))
    return doc


def service_trust_policy(service: str, account: str, source_arns: Sequence[str]) -> Document:
    """Assumable by one AWS service on behalf of the named resources of this account only
    (``aws:SourceAccount`` + ``aws:SourceArn``: the confused-deputy conditions CodeBuild and
    EventBridge Scheduler document for service roles)."""
    return document(statement(
        f"{service.split('.')[0].capitalize()}AssumesRole", "Allow", ["sts:AssumeRole"], None,
        principal={"Service": service},
        condition={"StringEquals": {"aws:SourceAccount": account},
                   "ArnLike": {"aws:SourceArn": sorted(source_arns)}}))


def start_build_policy(project_arn: str) -> Document:
    """The scheduler role: start builds of the one project, nothing else."""
    return document(statement("StartDeedboxJobs", "Allow", ["codebuild:StartBuild"], [project_arn]))


def due_marker_policy(namespace: str) -> Document:
    """The watch role: write data points into deedbox's namespace only (``PutMetricData`` has no
    resource type; ``cloudwatch:namespace`` is its condition key)."""
    return document(statement("WriteDueMarkers", "Allow", ["cloudwatch:PutMetricData"], "*",
                              condition={"StringEquals": {"cloudwatch:namespace": namespace}}))
