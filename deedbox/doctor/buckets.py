"""Pure decisions about the two buckets: the platform's media bucket and the backup store.

Each function takes the config and ``Answer``s (see ``report``) and returns ``Check``s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deedbox.config.model import Config
from deedbox.doctor.report import FAIL, OK, SKIP, WARN, Answer, Check, Refused, unreadable
from deedbox.topology.names import role_name

PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


# --------------------------------------------------------------------------- media bucket

MEDIA_IDS = ("media.bucket", "media.versioning", "media.replication")


def media_skip(config: Config) -> str | None:
    """Why the media bucket is not checked, or None when it is (an AWS bucket that is backed up)."""
    media = config.source.media
    if media is None or config.backups.media is None or not config.media_classes():
        return "no media backed up (source.media / backups.media)"
    if media.endpoint_url:
        return f"source.media.endpoint_url {media.endpoint_url}: another S3 API, sync mode, not checked here"
    if not media.bucket:
        return "source.media.bucket is not set"
    return None


def media_checks(config: Config, facts: Mapping[str, Answer]) -> list[Check]:
    """Media bucket exists; versioning (replication needs it); its current replication configuration."""
    media, mode = config.source.media, config.backups.media
    assert media is not None and media.bucket and mode is not None  # media_skip said so
    head = facts.get("head_bucket")
    if isinstance(head, Refused):
        return [_media_unreachable(media.bucket, head),
                *(Check(i, SKIP, "media bucket not reachable") for i in MEDIA_IDS[1:])]
    region = media.region or config.source.region
    return [Check("media.bucket", OK, f"s3://{media.bucket} exists ({region})"),
            media_versioning(media.bucket, mode.mode, facts.get("get_bucket_versioning")),
            media_replication(config, facts.get("get_bucket_replication"))]


def _media_unreachable(bucket: str, head: Refused) -> Check:
    if head.missing:
        return Check("media.bucket", FAIL, f"s3://{bucket} does not exist",
                     "check source.media.bucket and source.media.region")
    return Check("media.bucket", FAIL, f"s3://{bucket} is not reachable with these credentials ({head.code})",
                 "run with credentials that can read the media bucket (the platform account's): "
                 "s3:ListBucket, s3:GetBucketVersioning, s3:GetReplicationConfiguration")


def media_versioning(bucket: str, mode: str, answer: Answer) -> Check:
    """Replicate mode FAILs without versioning (S3 refuses PutBucketReplication); sync mode warns."""
    if isinstance(answer, Refused):
        return unreadable("media.versioning", f"versioning of s3://{bucket}", answer, "s3:GetBucketVersioning")
    status = (answer or {}).get("Status")
    if status == "Enabled":
        return Check("media.versioning", OK, "versioning Enabled")
    state = f"versioning is {status}" if status else "versioning was never enabled"
    fix = f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled"
    if mode == "replicate":
        return Check("media.versioning", FAIL,
                     f"{state}: S3 refuses PutBucketReplication on a bucket without versioning", fix)
    return Check("media.versioning", WARN,
                 f"{state}: an object overwritten or deleted between two syncs is gone before it is copied", fix)


def describe_replication(rc: Mapping[str, Any]) -> str:
    """``2 rules (media-images: uploads/ -> arn:aws:s3:::b, Enabled; ...), role R``."""
    rules = rc.get("Rules") or []
    parts = []
    for rule in rules:
        filt = rule.get("Filter") or {}
        prefix = filt.get("Prefix", rule.get("Prefix", (filt.get("And") or {}).get("Prefix", "")))
        target = (rule.get("Destination") or {}).get("Bucket", "?")
        parts.append(f"{rule.get('ID', '?')}: {prefix or '(all)'} -> {target}, {rule.get('Status', '?')}")
    noun = "rule" if len(rules) == 1 else "rules"
    return f"{len(rules)} {noun} ({'; '.join(parts)}), role {rc.get('Role', '?')}"


def is_deedboxs(config: Config, rc: Mapping[str, Any]) -> bool:
    """deedbox's own configuration uses its deterministically named role ``<name>-deedbox-media-replication``."""
    return str(rc.get("Role", "")).endswith(f":role/{role_name(config.name, 'media-replication')}")


def media_replication(config: Config, answer: Answer) -> Check:
    """Report the current configuration. In replicate mode the source program replaces it (a bucket
    has exactly one) and refuses to apply at all without ``source.media.take_over_replication``."""
    mode = config.backups.media.mode if config.backups.media else "sync"
    if isinstance(answer, Refused):
        return unreadable("media.replication", "the replication configuration", answer,
                          "s3:GetReplicationConfiguration")
    rc = (answer or {}).get("ReplicationConfiguration") or {}
    summary = describe_replication(rc) if answer is not None else None
    if mode != "replicate":
        return Check("media.replication", OK, f"left as it is (sync mode): {summary}" if summary
                     else "none (sync mode adds none)")
    if not getattr(config.source.media, "take_over_replication", False):
        return _not_taken_over(config, rc, summary)
    if summary is None:
        return Check("media.replication", OK, "no replication configuration yet: `pulumi up` of infra/source "
                     "adds deedbox's")
    if is_deedboxs(config, rc):
        return Check("media.replication", OK, f"deedbox's: {summary}")
    return Check("media.replication", WARN, "not created by deedbox, replaced by deedbox's on `pulumi up` of "
                 f"infra/source (source.media.take_over_replication: true): {summary}")


def _not_taken_over(config: Config, rc: Mapping[str, Any], summary: str | None) -> Check:
    fix = "set source.media.take_over_replication: true to let deedbox own it, or use backups.media.mode: sync"
    if summary is None:
        return Check("media.replication", FAIL, "no replication configuration yet, but the source program "
                     "refuses to apply without source.media.take_over_replication: true", fix)
    if is_deedboxs(config, rc):
        return Check("media.replication", FAIL, f"deedbox's: {summary}; but the source program refuses to "
                     "apply without source.media.take_over_replication: true", fix)
    return Check("media.replication", FAIL, "an existing replication configuration not created by deedbox "
                 f"would be replaced by deedbox's (a bucket has exactly one): {summary}", fix)


# --------------------------------------------------------------------------- backup bucket

BACKUP_IDS = ("backup.bucket", "backup.versioning", "backup.object_lock", "backup.encryption",
              "backup.public_access")


def backup_checks(config: Config, bucket: str, origin: str, facts: Mapping[str, Answer]) -> list[Check]:
    """The store as the topology declares it: versioned, locked as destination.immutability says,
    SSE-KMS with a key of its own, all four public-access-block flags."""
    head = facts.get("head_bucket")
    if isinstance(head, Refused):
        return [_backup_unreachable(bucket, origin, head),
                *(Check(i, SKIP, "backup bucket not reachable") for i in BACKUP_IDS[1:])]
    return [Check("backup.bucket", OK, f"s3://{bucket} exists ({origin})"),
            backup_versioning(bucket, facts.get("get_bucket_versioning")),
            backup_lock(config, bucket, facts.get("get_object_lock_configuration")),
            backup_encryption(bucket, facts.get("get_bucket_encryption")),
            backup_public_access(bucket, facts.get("get_public_access_block"))]


def _backup_unreachable(bucket: str, origin: str, head: Refused) -> Check:
    if head.missing:
        return Check("backup.bucket", FAIL, f"s3://{bucket} ({origin}) does not exist",
                     "run `pulumi up` (the backup stack creates it), or point --bucket / DEEDBOX_BUCKET at it")
    return Check("backup.bucket", FAIL, f"s3://{bucket} ({origin}) is not reachable with these credentials "
                 f"({head.code})", "use credentials of the destination account")


def backup_versioning(bucket: str, answer: Answer) -> Check:
    if isinstance(answer, Refused):
        return unreadable("backup.versioning", f"versioning of s3://{bucket}", answer, "s3:GetBucketVersioning")
    status = (answer or {}).get("Status")
    if status == "Enabled":
        return Check("backup.versioning", OK, "versioning Enabled")
    return Check("backup.versioning", FAIL,
                 f"versioning is {status or 'not enabled'}: a stored snapshot could be replaced or deleted",
                 f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled")


def _retention(default: Mapping[str, Any]) -> tuple[str, int | None, str]:
    """(MODE, days or None, how S3 states it) of a DefaultRetention (a year counts 365 days)."""
    mode = str(default.get("Mode", "?"))
    if "Days" in default:
        return mode, int(default["Days"]), f"{mode} {default['Days']} days"
    if "Years" in default:
        return mode, int(default["Years"]) * 365, f"{mode} {default['Years']} years"
    return mode, None, mode


def backup_lock(config: Config, bucket: str, answer: Answer) -> Check:
    """Object lock on, default retention equal to destination.immutability (mode and days)."""
    if isinstance(answer, Refused):
        return unreadable("backup.object_lock", f"the object lock configuration of s3://{bucket}", answer,
                           "s3:GetBucketObjectLockConfiguration")
    want = config.destination.immutability
    wanted = f"{want.mode.upper()} {want.days} days"
    fix = (f"aws s3api put-object-lock-configuration --bucket {bucket} --object-lock-configuration "
           f"'ObjectLockEnabled=Enabled,Rule={{DefaultRetention={{Mode={want.mode.upper()},Days={want.days}}}}}'"
           " (versioning must be on)")
    lock = (answer or {}).get("ObjectLockConfiguration") or {}
    if lock.get("ObjectLockEnabled") != "Enabled":
        return Check("backup.object_lock", FAIL, "object lock is not enabled: whoever can write a backup can "
                     "delete it", fix)
    default = (lock.get("Rule") or {}).get("DefaultRetention")
    if not default:
        return Check("backup.object_lock", FAIL, "object lock has no default retention: new snapshots are not "
                     f"locked (destination.immutability: {wanted})", fix)
    mode, days, stated = _retention(default)
    if mode != want.mode.upper() or days != want.days:
        return Check("backup.object_lock", FAIL,
                     f"default retention is {stated}, destination.immutability is {wanted}", fix)
    return Check("backup.object_lock", OK, f"object lock, default retention {stated}")


def backup_encryption(bucket: str, answer: Answer) -> Check:
    """Default encryption SSE-KMS with a named key (no key id: the AWS managed aws/s3 key)."""
    if isinstance(answer, Refused):
        return unreadable("backup.encryption", f"the default encryption of s3://{bucket}", answer,
                           "s3:GetEncryptionConfiguration")
    rules = ((answer or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    algorithm, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
    fix = (f"aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration "
           "'{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\","
           "\"KMSMasterKeyID\":\"<the store key>\"},\"BucketKeyEnabled\":true}]}' (`pulumi up` sets it)")
    if algorithm not in ("aws:kms", "aws:kms:dsse"):
        return Check("backup.encryption", FAIL,
                     f"default encryption is {algorithm or 'not configured'}, not SSE-KMS", fix)
    if not key or str(key).endswith("alias/aws/s3"):
        return Check("backup.encryption", FAIL, "SSE-KMS with the AWS managed key aws/s3, not a customer managed "
                     "key", fix)
    return Check("backup.encryption", OK, f"SSE-KMS ({algorithm}) with key {key}")


def backup_public_access(bucket: str, answer: Answer) -> Check:
    if isinstance(answer, Refused):
        return unreadable("backup.public_access", f"the public access block of s3://{bucket}", answer,
                           "s3:GetBucketPublicAccessBlock")
    flags = (answer or {}).get("PublicAccessBlockConfiguration") or {}
    off = [f for f in PUBLIC_ACCESS_FLAGS if flags.get(f) is not True]
    if off:
        return Check("backup.public_access", FAIL, f"public access block: {', '.join(off)} not on",
                     f"aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration "
                     + ",".join(f"{f}=true" for f in PUBLIC_ACCESS_FLAGS))
    return Check("backup.public_access", OK, "all four public-access-block flags on")
