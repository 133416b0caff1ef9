"""Media and recordings, copied out of the platform account: the two halves of it.

``MediaBackup`` (backup stack, destination account): the read-only policy the media bucket's
owner applies so the runner can list and read the media classes (``media_source_policy``: the
sync copies, replicate mode's reports and ``--backfill`` read). Nothing is created in the
platform account from the backup stack: it runs with destination credentials only.

``SourceReplication`` (the source program, ``infra/source/``, applied by the platform owner with
platform credentials): S3 replication of the media bucket into the backup store, one rule per
class, replicas owned by the destination account and re-encrypted with the store key (named by
its alias ARN, which S3 accepts as ``ReplicaKmsKeyID``), delete markers not replicated. A bucket
has exactly one replication configuration: deedbox's replaces any other, so it is declared only
with ``source.media.take_over_replication: true``, and it is **retained** when the source stack is
destroyed (the backups keep arriving; removing it is a deliberate act). S3 refuses it on an
unversioned bucket (``deedbox doctor`` checks). Replicated objects keep their source key and the
*source* object's lock settings: the media bucket has no object lock, so media replicas are not
locked (an advisory verdict says so; ``mode: sync`` writes them under the store's default
retention instead). Live replication covers new objects only: ``media sync --backfill``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from deedbox.config.model import MediaClass
from deedbox.topology.access import replica_key_statement, replication_role_policy, s3_trust_policy
from deedbox.topology.documents import media_source_read_policy
from deedbox.topology.names import bucket_arn, key_alias_arn


@dataclass
class MediaBackupArgs:
    classes: Sequence[MediaClass]
    source_bucket: str | None
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
    """The media bucket owner's read policy for the runner (both modes), in the backup stack."""

    def __init__(self, name: str, args: MediaBackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:media:MediaBackup", name, None, opts)
        self.source_policy: pulumi.Output[str] | None = None
        if args.source_bucket and not args.endpoint_url and args.runner_role_arn:
            prefixes = [c.prefix for c in args.classes]
            self.source_policy = pulumi.Output.from_input(
                json.dumps(media_source_read_policy(args.source_bucket, prefixes, args.runner_role_arn)))
        self.register_outputs({"source_policy": self.source_policy})


@dataclass
class SourceReplicationArgs:
    classes: Sequence[MediaClass]
    source_account: str
    source_region: str
    source_bucket: str
    destination_account: str
    destination_region: str
    destination_bucket: str
    destination_key_alias: str
    role_name: str


class SourceReplication(pulumi.ComponentResource):
    """Replication role and configuration on the platform's media bucket (the source program)."""

    def __init__(self, name: str, args: SourceReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:media:SourceReplication", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role", name=args.role_name, description="S3 replication of media into deedbox backups",
            assume_role_policy=json.dumps(s3_trust_policy()), opts=child)
        source_arn = bucket_arn(args.source_bucket)
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy", role=self.role.id,
            policy=json.dumps(replication_role_policy(
                source_bucket_arn=source_arn, destination_bucket_arn=bucket_arn(args.destination_bucket),
                source_key_arns=[f"arn:aws:kms:{args.source_region}:{args.source_account}:key/*"],
                destination_key=replica_key_statement(args.destination_account, args.destination_region,
                                                      args.destination_key_alias),
                source_key_condition=f"s3.{args.source_region}.amazonaws.com")),
            opts=child)
        key = key_alias_arn(args.destination_region, args.destination_account, args.destination_key_alias)
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication", bucket=args.source_bucket, role=self.role.arn,
            rules=media_rules(args.classes, args.destination_account, bucket_arn(args.destination_bucket), key),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy], retain_on_delete=True))
        self.role_arn = self.role.arn
        self.register_outputs({"role_arn": self.role_arn})
