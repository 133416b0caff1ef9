"""BatchJobRoles: the roles S3 Batch Operations runs deedbox's media jobs as, and the runner's
right to start them (``deedbox.media.batch`` creates the jobs; docs/restore.md).

- ``<name>-deedbox-batch-restore``: an ``S3PutObjectCopy`` job putting backup *versions* back into
  the media bucket. Reads the media prefixes of the backup bucket (versions and their tags) and
  the manifests under ``restores/manifests/``; writes objects under the class prefixes of the
  media bucket, and its completion report under ``restores/jobs/``; decrypts with the store key
  (SSE-KMS media) and generates data keys for the report (by alias: deterministic at preview).
- ``<name>-deedbox-batch-backfill`` (replicate mode): an ``S3ReplicateObject`` job (Batch
  Replication with a generated manifest) on the media bucket: ``s3:InitiateReplication`` on the
  class prefixes, ``s3:GetReplicationConfiguration`` and ``s3:PutInventoryConfiguration`` (the
  generated manifest) on the bucket, its report under ``records/media-backfill/``.
- the runner role gets ``deedbox-batch-jobs``: ``s3:CreateJob`` (no resource-level permission
  exists for it; narrowed by ``s3:RequestJobOperation`` to these two operations),
  ``s3:DescribeJob`` on the account's jobs, and ``iam:PassRole`` of exactly these roles.

Both roles are trusted by ``batchoperations.s3.amazonaws.com`` only, and deny themselves every
delete-class action (as the runner does). The platform account's half is two bucket-policy
documents its owner applies (outputs ``target_policy`` and ``backfill_source_policy``, like
``media_source_policy``): S3 refuses a policy naming a role that does not exist yet, so they
cannot be applied before this stack is up. Sources: AWS S3 User Guide, "Granting permissions for
Amazon S3 Batch Operations" (trust policy, the copy policy), "Configuring IAM policies for Batch
Replication" (the generated-manifest policy).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from deedbox.bucket.layout import PREFIXES
from deedbox.config.model import Config
from deedbox.topology.access import keys_by_alias
from deedbox.topology.documents import Document, Statement, document, statement
from deedbox.topology.layout import Layout
from deedbox.topology.names import bucket_arn, key_alias, role_arn, role_name

RESTORE_PURPOSE = "batch-restore"  # deedbox.media.batch names the same roles by these purposes
BACKFILL_PURPOSE = "batch-backfill"
BATCH_SERVICE = "batchoperations.s3.amazonaws.com"
JOBS_POLICY_NAME = "deedbox-batch-jobs"
MANIFESTS = f"{PREFIXES['restores']}manifests/"
RESTORE_REPORTS = f"{PREFIXES['restores']}jobs/"
BACKFILL_REPORTS = f"{PREFIXES['records']}media-backfill/"
NEVER = ("s3:DeleteObject*", "s3:DeleteBucket*", "s3:BypassGovernanceRetention", "s3:PutObjectRetention",
         "s3:PutObjectLegalHold", "s3:PutBucket*", "s3:PutLifecycleConfiguration",
         "s3:PutReplicationConfiguration", "s3:PutObjectAcl", "s3:PutObjectVersionAcl")


def batch_trust_policy() -> Document:
    """Only S3 Batch Operations may assume the role."""
    return document(statement("S3BatchOperations", "Allow", ["sts:AssumeRole"], None,
                              principal={"Service": BATCH_SERVICE}))


def restore_role_policy(*, store_bucket: str, media_prefixes: Sequence[str], target_bucket: str,
                        target_prefixes: Sequence[str], account: str, region: str, store_key_alias: str,
                        target_key_scope: tuple[str, str] | None = None) -> Document:
    store = bucket_arn(store_bucket)
    statements: list[Statement] = [
        statement("ReadBackupVersions", "Allow",
                  ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"],
                  [f"{store}/{p}*" for p in media_prefixes]),
        statement("ReadManifests", "Allow", ["s3:GetObject", "s3:GetObjectVersion"], [f"{store}/{MANIFESTS}*"]),
        statement("WriteReports", "Allow", ["s3:PutObject"], [f"{store}/{RESTORE_REPORTS}*"]),
        statement("WriteRestoredMedia", "Allow", ["s3:PutObject", "s3:PutObjectTagging"],
                  [f"{bucket_arn(target_bucket)}/{p}*" for p in target_prefixes]),
        keys_by_alias("UseStoreKey", ["kms:Decrypt", "kms:GenerateDataKey"], account, [region], [store_key_alias]),
    ]
    if target_key_scope:
        owner, where = target_key_scope
        statements.append(statement(
            "EncryptRestoredMedia", "Allow", ["kms:GenerateDataKey"], [f"arn:aws:kms:{where}:{owner}:key/*"],
            condition={"StringEquals": {"kms:ViaService": f"s3.{where}.amazonaws.com"}}))
    return document(*statements, statement("NeverDestroy", "Deny", NEVER, "*"))


def backfill_role_policy(*, source_bucket: str, source_prefixes: Sequence[str], store_bucket: str,
                         account: str, region: str, store_key_alias: str) -> Document:
    source = bucket_arn(source_bucket)
    return document(
        statement("InitiateReplication", "Allow", ["s3:InitiateReplication"], [f"{source}/{p}*" for p in source_prefixes]),
        statement("GenerateManifest", "Allow", ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
                  [source]),
        statement("WriteReports", "Allow", ["s3:PutObject"], [f"{bucket_arn(store_bucket)}/{BACKFILL_REPORTS}*"]),
        keys_by_alias("UseStoreKey", ["kms:GenerateDataKey"], account, [region], [store_key_alias]),
        statement("NeverDestroy", "Deny", NEVER, "*"),
    )


def runner_jobs_policy(*, account: str, regions: Sequence[str], roles: Sequence[str]) -> Document:
    """Start and follow the media jobs, passing exactly the batch roles."""
    return document(
        statement("CreateMediaJobs", "Allow", ["s3:CreateJob"], "*",
                  condition={"StringEquals": {"s3:RequestJobOperation": ["S3PutObjectCopy", "S3ReplicateObject"]}}),
        statement("FollowMediaJobs", "Allow", ["s3:DescribeJob"],
                  [f"arn:aws:s3:{r}:{account}:job/*" for r in dict.fromkeys(regions)]),
        statement("PassBatchRoles", "Allow", ["iam:PassRole"], sorted(roles)),
    )


def restore_target_grant(bucket: str, prefixes: Sequence[str], role: str) -> Document:
    """What the media bucket's owner adds to its policy so the restore job can write the classes."""
    return document(statement("DeedboxBatchRestoreWrite", "Allow", ["s3:PutObject", "s3:PutObjectTagging"],
                              [f"{bucket_arn(bucket)}/{p}*" for p in prefixes], principal={"AWS": role}))


def backfill_source_grant(bucket: str, prefixes: Sequence[str], role: str) -> Document:
    """What the media bucket's owner adds so Batch Replication can run from the backup account."""
    arn = bucket_arn(bucket)
    return document(
        statement("DeedboxBatchReplicate", "Allow", ["s3:InitiateReplication"], [f"{arn}/{p}*" for p in prefixes],
                  principal={"AWS": role}),
        statement("DeedboxBatchManifest", "Allow", ["s3:GetReplicationConfiguration", "s3:PutInventoryConfiguration"],
                  [arn], principal={"AWS": role}),
    )


@dataclass
class BatchJobRolesArgs:
    account: str  # the destination account: the roles, the jobs, the backup bucket
    region: str  # the backup bucket's (its store key)
    store_bucket: str
    store_key_alias: str
    media_prefixes: Sequence[str]  # where the backed-up classes are in the backup bucket
    source_bucket: str  # the media bucket (AWS): where a restore writes, what a backfill replicates
    source_prefixes: Sequence[str]
    source_region: str  # where the jobs run (copy jobs run in the destination's Region)
    restore_role_name: str
    backfill_role_name: str | None = None  # replicate mode only
    source_key_scope: tuple[str, str] | None = None  # (account, region) of the media bucket's SSE-KMS keys
    runner_role: pulumi.Input[str] | None = None  # the runner role's name: it gets deedbox-batch-jobs


def batch_args(cfg: Config, plan: Layout, runner_role: pulumi.Input[str] | None = None) -> BatchJobRolesArgs | None:
    """The component's arguments for ``cfg`` (None: no AWS media bucket, so no job can help)."""
    media = cfg.source.media
    if not plan.media_mode or media is None or not media.bucket or media.endpoint_url:
        return None
    region = media.region or cfg.source.region
    return BatchJobRolesArgs(
        account=plan.account, region=plan.region, store_bucket=plan.store_bucket,
        store_key_alias=key_alias(cfg.name, "store"), media_prefixes=list(dict.fromkeys(plan.media_classes.values())),
        source_bucket=media.bucket, source_prefixes=[c.prefix for c in cfg.media_classes()], source_region=region,
        restore_role_name=role_name(cfg.name, RESTORE_PURPOSE),
        backfill_role_name=role_name(cfg.name, BACKFILL_PURPOSE) if plan.media_mode == "replicate" else None,
        source_key_scope=(cfg.source.account, region), runner_role=runner_role)


def batch_role_arns(args: BatchJobRolesArgs | None) -> list[str]:
    """The roles' ARNs (deterministic): the store key's policy must let them use the key."""
    if args is None:
        return []
    names = [args.restore_role_name] + ([args.backfill_role_name] if args.backfill_role_name else [])
    return [role_arn(args.account, n) for n in names]


class BatchJobRoles(pulumi.ComponentResource):
    """The batch roles and their inline policies, plus the runner's ``deedbox-batch-jobs`` policy."""

    def __init__(self, name: str, args: BatchJobRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:batch:BatchJobRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        trust = json.dumps(batch_trust_policy())
        self.restore_role = aws.iam.Role(
            f"{name}-restore-role", name=args.restore_role_name, assume_role_policy=trust, opts=child,
            description="deedbox: S3 Batch Operations copies media versions back from the backup")
        self.restore_policy = aws.iam.RolePolicy(
            f"{name}-restore-policy", role=self.restore_role.id, name="deedbox-batch-restore", opts=child,
            policy=json.dumps(restore_role_policy(
                store_bucket=args.store_bucket, media_prefixes=args.media_prefixes, target_bucket=args.source_bucket,
                target_prefixes=args.source_prefixes, account=args.account, region=args.region,
                store_key_alias=args.store_key_alias, target_key_scope=args.source_key_scope)))
        arns = [role_arn(args.account, args.restore_role_name)]
        self.backfill_role: aws.iam.Role | None = None
        backfill_policy: str | None = None
        if args.backfill_role_name:
            self.backfill_role = aws.iam.Role(
                f"{name}-backfill-role", name=args.backfill_role_name, assume_role_policy=trust, opts=child,
                description="deedbox: S3 Batch Replication of media that live replication never copied")
            aws.iam.RolePolicy(
                f"{name}-backfill-policy", role=self.backfill_role.id, name="deedbox-batch-backfill", opts=child,
                policy=json.dumps(backfill_role_policy(
                    source_bucket=args.source_bucket, source_prefixes=args.source_prefixes,
                    store_bucket=args.store_bucket, account=args.account, region=args.region,
                    store_key_alias=args.store_key_alias)))
            arns.append(role_arn(args.account, args.backfill_role_name))
            backfill_policy = json.dumps(backfill_source_grant(args.source_bucket, args.source_prefixes, arns[1]))
        if args.runner_role is not None:
            aws.iam.RolePolicy(
                f"{name}-runner-jobs", role=args.runner_role, name=JOBS_POLICY_NAME, opts=child,
                policy=json.dumps(runner_jobs_policy(account=args.account, regions=[args.source_region], roles=arns)))
        self.restore_role_arn = self.restore_role.arn
        self.backfill_role_arn = self.backfill_role.arn if self.backfill_role else None
        self.target_policy = json.dumps(restore_target_grant(args.source_bucket, args.source_prefixes, arns[0]))
        self.backfill_source_policy = backfill_policy
        self.register_outputs({"restore_role_arn": self.restore_role_arn, "backfill_role_arn": self.backfill_role_arn,
                               "target_policy": self.target_policy,
                               "backfill_source_policy": self.backfill_source_policy})
