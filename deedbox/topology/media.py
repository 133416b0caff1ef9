"""MediaBackup: uploaded images, course video and recordings, copied out of the platform account.

Protects against losing media with the platform account (deleted bucket, compromised account,
ransomware): copies land in the locked, versioned backup store of another account.

``replicate``: S3 replication in the *source* account (the only place a bucket's replication can
be configured; its own pinned provider), one rule per media class, replicas owned by the
destination account, re-encrypted with the store key, delete markers not replicated. S3 cannot
rewrite key prefixes, so replicated objects keep their source key (``uploads/a.png``); the
class -> prefix map is published in the ``deedbox`` output (``media_classes``). Live replication
covers new objects only: ``deedbox media sync --backfill`` copies the older ones.

``sync``: nothing is created in the source account. The runner copies objects under
``media/<class>/``.

In both modes the runner reads the media bucket (sync copies; replicate reports replication state
and backfills), so the component outputs the read-only bucket policy the media bucket's owner
applies (``media_source_policy``; not for non-AWS endpoints, which use their own access keys).
Deedbox cannot apply it itself: in sync mode it creates nothing in the source account, and a
bucket policy belongs to the bucket's owner, who may already have one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from deedbox.config.model import MediaClass
from deedbox.topology.access import replication_role_policy, s3_trust_policy
from deedbox.topology.documents import media_source_read_policy
from deedbox.topology.names import bucket_arn


@dataclass
class MediaBackupArgs:
    mode: str  # "replicate" | "sync"
    classes: Sequence[MediaClass]
    source_account: str
    source_region: str
    source_bucket: str | None
    destination_account: str
    destination_bucket: str
    destination_key_arn: pulumi.Input[str]
    destination_versioning: pulumi.Resource
    role_name: str | None = None  # replicate mode
    runner_role_arn: str | None = None  # who the source policy lets read (either mode)
    endpoint_url: str | None = None


def media_rules(classes: Sequence[MediaClass], destination_account: str, destination_bucket_arn: str,
                destination_key_arn: pulumi.Input[str]) -> list[aws.s3.BucketReplicationConfigRuleArgsDict]:
    """One replication rule per class: its prefix, owner translated, store key, no delete markers."""
    return [{
        "id": f"media-{c.name}", "status": "Enabled", "priority": i + 1, "filter": {"prefix": c.prefix},
        "delete_marker_replication": {"status": "Disabled"},
        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
        "destination": {
            "bucket": destination_bucket_arn, "account": destination_account,
            "access_control_translation": {"owner": "Destination"},
            "encryption_configuration": {"replica_kms_key_id": destination_key_arn},
        },
    } for i, c in enumerate(classes)]


class MediaBackup(pulumi.ComponentResource):
    """Replication from the media bucket (replicate) or the source read policy (sync)."""

    def __init__(self, name: str, args: MediaBackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:media:MediaBackup", name, None, opts)
        self.source_policy: pulumi.Output[str] | None = None
        self.role_arn: pulumi.Output[str] | None = None
        if args.mode == "replicate":
            self._replicate(name, args)
        if args.source_bucket and not args.endpoint_url and args.runner_role_arn:
            prefixes = [c.prefix for c in args.classes]
            self.source_policy = pulumi.Output.from_input(
                json.dumps(media_source_read_policy(args.source_bucket, prefixes, args.runner_role_arn)))
        self.register_outputs({"source_policy": self.source_policy, "role_arn": self.role_arn})

    def _replicate(self, name: str, args: MediaBackupArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role", name=args.role_name, description="S3 replication of media into deedbox backups",
            assume_role_policy=json.dumps(s3_trust_policy()), opts=child)
        source_arn = bucket_arn(args.source_bucket or "")
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy", role=self.role.id,
            policy=pulumi.Output.from_input(args.destination_key_arn).apply(
                lambda key: json.dumps(replication_role_policy(
                    source_bucket_arn=source_arn, destination_bucket_arn=bucket_arn(args.destination_bucket),
                    source_key_arns=[f"arn:aws:kms:{args.source_region}:{args.source_account}:key/*"],
                    destination_key_arn=key, source_key_condition=f"s3.{args.source_region}.amazonaws.com"))),
            opts=child)
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication", bucket=args.source_bucket, role=self.role.arn,
            rules=media_rules(args.classes, args.destination_account, bucket_arn(args.destination_bucket),
                              args.destination_key_arn),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.destination_versioning, self.role_policy]))
        self.role_arn = self.role.arn

