"""BackupStore: an S3 bucket that keeps what is written to it, encrypted with its own key.

Protects against: deletion or overwrite of backups (versioning + object lock default retention +
a bucket policy denying delete-class and reconfiguration actions), disclosure (SSE-KMS with a
rotating customer managed key, public access blocked, ACLs disabled, TLS only) and cost drift
(lifecycle: abort stale multipart uploads, archive, expire old versions no sooner than the lock).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypedDict, cast

import pulumi
import pulumi_aws as aws

from deedbox.config.model import Storage
from deedbox.topology.documents import Statement, bucket_policy, key_policy, lifecycle_rules
from deedbox.topology.names import bucket_arn


class _Where(TypedDict, total=False):
    """The per-resource ``region`` keyword, given only when the store is not in the provider's."""

    region: str


@dataclass
class BackupStoreArgs:
    bucket: str  # physical bucket name (deterministic, see names.bucket_name)
    account: str
    lock_mode: str  # "governance" | "compliance"
    lock_days: int
    storage: Storage
    destroy_exempt: Sequence[str]
    config_exempt: Sequence[str]
    key_users: Mapping[str, Sequence[str]] = field(default_factory=dict)
    extra_statements: Sequence[Statement] = ()
    region: str | None = None  # None: the provider's region (v7 per-resource region otherwise)
    protect: bool = True
    key_alias: str | None = None  # alias/deedbox/<name>/<purpose>: how roles' policies name the key
    conditional_writers: Sequence[str] = ()  # principals (the runner) that may only create new keys


class BackupStore(pulumi.ComponentResource):
    """Bucket, key and every bucket-level protection; the bucket policy is applied last."""

    bucket: aws.s3.Bucket
    key: aws.kms.Key
    versioning: aws.s3.BucketVersioning

    def __init__(self, name: str, args: BackupStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:store:BackupStore", name, None, opts)
        where: _Where = {"region": args.region} if args.region else {}
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        # The key policy denies PutKeyPolicy to all but break-glass, which KMS's lockout safety check
        # would refuse for the deployer creating it: the bypass is the point, not an accident.
        self.key = aws.kms.Key(
            f"{name}-key", description=f"deedbox backup store {args.bucket}", enable_key_rotation=True,
            deletion_window_in_days=30, bypass_policy_lockout_safety_check=True,
            policy=json.dumps(key_policy(args.account, users=args.key_users, destroy_exempt=args.destroy_exempt)),
            opts=kept, **where)
        if args.key_alias:
            self.alias = aws.kms.Alias(f"{name}-key-alias", name=args.key_alias, target_key_id=self.key.key_id,
                                       opts=kept, **where)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket", bucket=args.bucket, object_lock_enabled=True, force_destroy=False,
            opts=kept, **where)
        self._configure(name, args, where, kept)
        self.bucket_name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.key_arn = self.key.arn
        self.register_outputs({"bucket": self.bucket_name, "arn": self.arn, "key_arn": self.key_arn})

    def _configure(self, name: str, args: BackupStoreArgs, where: _Where, kept: pulumi.ResourceOptions) -> None:
        bucket = self.bucket.id
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket, versioning_configuration={"status": "Enabled"}, opts=kept, **where)
        after_versioning = pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=[self.versioning]))
        self.object_lock = aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock", bucket=bucket, object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": args.lock_mode.upper(), "days": args.lock_days}},
            opts=after_versioning, **where)
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                "kms_master_key_id": self.key.arn},
                    "bucket_key_enabled": True}],
            opts=kept, **where)
        self.public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=kept, **where)
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket, rule={"object_ownership": "BucketOwnerEnforced"}, opts=kept, **where)
        # documents.lifecycle_rules stays pulumi-free: plain dicts in the RuleArgsDict shape
        rules = cast("list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]",
                     lifecycle_rules(args.storage, args.lock_days))
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket, rules=rules,
            opts=after_versioning, **where)
        document = bucket_policy(bucket_arn(args.bucket), destroy_exempt=args.destroy_exempt,
                                 config_exempt=args.config_exempt, extra=args.extra_statements,
                                 conditional_writers=args.conditional_writers)
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket, policy=json.dumps(document),
            opts=pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=[
                self.versioning, self.object_lock, self.encryption, self.public_access, self.ownership,
                self.lifecycle])),
            **where)
