"""Rules on S3 replication (v7 ``BucketReplicationConfig``), joined with the buckets it links.

Pulumi's own AWS packs still read the v6 inline ``replicationConfigurations`` and so miss these.
A replication destination is named by ARN (``arn:aws:s3:::name``); it is resolved to a declared
bucket when it is one, else (in a recorded graph) through the config's dependencies.
"""

from __future__ import annotations

from collections.abc import Iterator

from deedbox.policy.buckets import is_versioned, lock_enabled, lock_retention
from deedbox.policy.catalog import rule
from deedbox.policy.view import UNKNOWN, Res, Stack, as_list, dig

REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


def replication_rules(config: Res) -> list[dict]:
    rules = [r for r in as_list(config.props.get("rules")) if isinstance(r, dict)]
    return [r for r in rules if r.get("status", "Enabled") == "Enabled"]


def destination_of(stack: Stack, config: Res, rule_: dict) -> Res | None:
    """The declared bucket a replication rule writes to, if it is declared in this stack."""
    found = stack.bucket_for(dig(rule_, "destination", "bucket"))
    if found is not None:
        return found
    source = stack.bucket_for(config.props.get("bucket"), config)
    others = [u for u in config.dependencies if (b := stack.by_urn(u)) is not None
              and b in stack.buckets(drills=True) and b != source]
    return stack.by_urn(others[0]) if len(others) == 1 else None


def replicas(stack: Stack) -> set[str]:
    """Buckets that replicate a declared bucket (a media bucket outside the stack does not count:
    receiving its objects does not make the backup store anyone's replica)."""
    return {d.urn for c in stack.of_type(REPLICATION) if stack.bucket_for(c.props.get("bucket"), c)
            for r in replication_rules(c) if (d := destination_of(stack, c, r)) is not None}


def _same_region(stack: Stack, a: Res, b: Res) -> bool:
    """True only when both regions are known and equal, or both come from one provider."""
    ra, rb = stack.region_of(a), stack.region_of(b)
    if ra and rb:
        return ra == rb
    return not ra and not rb and a.provider == b.provider


@rule(id="s3-replication-cross-region", severity="high", level="mandatory", scanners=("CKV_AWS_144",),
      description="Each backup bucket replicates to a bucket in another region.",
      fix="add aws.s3.BucketReplicationConfig to a replica bucket created with region= another region",
      config={"requireReplica": {"type": "boolean", "default": True,
                                 "description": "Every primary backup bucket must replicate."}})
def cross_region(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    configs = stack.of_type(REPLICATION)
    covered = replicas(stack) | {s.urn for c in configs if (s := stack.bucket_for(c.props.get("bucket"), c))}
    for bucket in stack.buckets():
        if settings["requireReplica"] and bucket.urn not in covered:
            yield bucket.urn, f"bucket {bucket.name} is not replicated to another region"
    for config in configs:
        source = stack.bucket_for(config.props.get("bucket"), config) or config
        for rule_ in replication_rules(config):
            dest = destination_of(stack, config, rule_)
            if dest is not None and _same_region(stack, source, dest):
                yield config.urn, f"replication {config.name} copies into the same region ({stack.region_of(dest)})"


@rule(id="s3-replication-replica-key", severity="high", level="mandatory", scanners=("CKV_AWS_144",),
      description="Replication re-encrypts with a KMS key in the destination region and copies SSE-KMS objects.",
      fix="set destination.encryption_configuration.replica_kms_key_id to a key ARN in the destination "
          "region and source_selection_criteria.sse_kms_encrypted_objects.status 'Enabled'")
def replica_key(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for config in stack.of_type(REPLICATION):
        for rule_ in replication_rules(config):
            label = f"replication {config.name} rule {rule_.get('id', '')}".rstrip()
            if not dig(rule_, "destination", "encryptionConfiguration", "replicaKmsKeyId", unknown=UNKNOWN):
                yield config.urn, f"{label} sets no replica KMS key"
            elif dig(rule_, "sourceSelectionCriteria", "sseKmsEncryptedObjects", "status") != "Enabled":
                yield config.urn, f"{label} skips SSE-KMS encrypted objects"


@rule(id="s3-replication-no-delete-markers", severity="high", level="mandatory", scanners=(),
      description="Replication does not carry delete markers to the replica.",
      fix="set delete_marker_replication.status 'Disabled' on every replication rule")
def delete_markers_off(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for config in stack.of_type(REPLICATION):
        for rule_ in replication_rules(config):
            if dig(rule_, "deleteMarkerReplication", "status") == "Enabled":
                yield config.urn, f"replication {config.name} replicates delete markers"


@rule(id="s3-replication-destination-locked", severity="high", level="mandatory", scanners=("CKV_AWS_143",),
      description="A replication destination is a declared bucket with versioning and object lock.",
      fix="replicate into a bucket of this stack created with object_lock_enabled=True, "
          "a BucketVersioning 'Enabled' and a BucketObjectLockConfiguration")
def destination_locked(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for config in stack.of_type(REPLICATION):
        for rule_ in replication_rules(config):
            dest = destination_of(stack, config, rule_)
            target = dig(rule_, "destination", "bucket")
            if dest is None:
                yield config.urn, f"replication {config.name} writes to {target or 'a bucket'} not declared here"
                continue
            if not is_versioned(stack, dest):
                yield config.urn, f"replication destination {dest.name} is not versioned"
            if not lock_enabled(dest) or lock_retention(stack, dest)[1] is None:
                yield config.urn, f"replication destination {dest.name} has no object lock retention"


@rule(id="media-replicas-unlocked", severity="medium", level="advisory", scanners=(),
      description="Replicas of a bucket outside the stack (the platform's media) take the source objects' "
                  "lock settings, so they are not locked by the store's default retention.",
      fix="accept it knowingly, or use backups.media.mode: sync (the runner writes media under the store's "
          "default retention), or enable object lock with a default retention on the media bucket")
def media_replicas_unlocked(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    """Read, not run: S3 replicates an object's own retention; a source object without one (the media
    bucket has no object lock) arrives without one (AWS S3 user guide, "Object Lock and replication")."""
    for config in stack.of_type(REPLICATION):
        if stack.bucket_for(config.props.get("bucket"), config) is None:
            source = config.get("bucket") or "a bucket outside the stack"
            yield config.urn, (f"media replicated from {source} lands without object lock retention (replicas "
                               "keep the source objects' retention, and they have none)")
