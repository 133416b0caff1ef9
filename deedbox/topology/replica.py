"""Replica: a second BackupStore in another region, fed by S3 replication from the store.

Protects against the loss of a region, and against a mistake confined to one bucket: the replica
has its own lock, its own key (in its own region) and does not replicate delete markers, so a
delete on the store never propagates. Replication Time Control makes lag measurable (15 min).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from deedbox.config.model import Storage
from deedbox.topology.access import replica_key_statement, replication_role_policy, s3_trust_policy
from deedbox.topology.names import bucket_arn, role_arn
from deedbox.topology.store import BackupStore, BackupStoreArgs

RTC_MINUTES = 15


@dataclass
class ReplicaArgs:
    account: str
    region: str  # the replica region (v7 per-resource region, same provider)
    bucket: str  # replica bucket name
    role_name: str  # replication role (its ARN is already in the source key policy)
    source_bucket: str
    source_region: str
    source_key_alias: str  # the store key, by alias (role policies are known at preview)
    key_alias: str  # the replica store key's alias
    source_versioning: pulumi.Resource
    lock_mode: str
    lock_days: int
    storage: Storage
    destroy_exempt: Sequence[str]
    config_exempt: Sequence[str]
    replication_time_control: bool = True
    protect: bool = True


def replication_rule(replica_bucket_arn: pulumi.Input[str], replica_key_arn: pulumi.Input[str],
                     *, rtc: bool) -> aws.s3.BucketReplicationConfigRuleArgsDict:
    """The one rule: everything, SSE-KMS objects included, no delete markers, optional RTC."""
    destination: aws.s3.BucketReplicationConfigRuleDestinationArgsDict = {
        "bucket": replica_bucket_arn, "storage_class": "STANDARD",
        "encryption_configuration": {"replica_kms_key_id": replica_key_arn},
    }
    if rtc:
        destination["replication_time"] = {"status": "Enabled", "time": {"minutes": RTC_MINUTES}}
        destination["metrics"] = {"status": "Enabled", "event_threshold": {"minutes": RTC_MINUTES}}
    return {
        "id": "backup-replica", "status": "Enabled", "priority": 1, "filter": {"prefix": ""},
        "delete_marker_replication": {"status": "Disabled"},
        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
        "destination": destination,
    }


class Replica(pulumi.ComponentResource):
    """Replica store + replication role + replication configuration on the source store."""

    def __init__(self, name: str, args: ReplicaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:replica:Replica", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role", name=args.role_name, description="S3 replication of deedbox backups",
            assume_role_policy=json.dumps(s3_trust_policy()), opts=child)
        self.store = BackupStore(f"{name}-store", BackupStoreArgs(
            bucket=args.bucket, account=args.account, lock_mode=args.lock_mode, lock_days=args.lock_days,
            storage=args.storage, destroy_exempt=args.destroy_exempt, config_exempt=args.config_exempt,
            key_users={args.account: [role_arn(args.account, args.role_name)]},
            region=args.region, protect=args.protect, key_alias=args.key_alias,
        ), child)
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy", role=self.role.id,
            policy=json.dumps(replication_role_policy(
                source_bucket_arn=bucket_arn(args.source_bucket), destination_bucket_arn=bucket_arn(args.bucket),
                source_key_arns=[f"arn:aws:kms:{args.source_region}:{args.account}:key/*"],
                source_key_aliases=[args.source_key_alias],
                destination_key=replica_key_statement(args.account, args.region, args.key_alias))),
            opts=child)
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication", bucket=args.source_bucket, role=self.role.arn,
            rules=[replication_rule(self.store.arn, self.store.key_arn, rtc=args.replication_time_control)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[
                args.source_versioning, self.store.versioning, self.role_policy]))
        self.bucket_name = self.store.bucket_name
        self.arn = self.store.arn
        self.key_arn = self.store.key_arn
        self.register_outputs({"bucket": self.bucket_name, "arn": self.arn, "key_arn": self.key_arn,
                               "role_arn": self.role.arn})
