"""Rules on backup buckets (every bucket not tagged ``deedbox:drill``).

pulumi-aws 7 splits a bucket's settings over sibling resources (``BucketVersioning``,
``BucketObjectLockConfiguration``...), so these are stack rules that join a bucket with the
resources pointing at it. The deprecated inline fields of ``Bucket`` are accepted too, so an
older program is judged on what it declares rather than on how.
"""

from __future__ import annotations

from collections.abc import Iterator

from deedbox.policy import iam
from deedbox.policy.catalog import rule
from deedbox.policy.view import Res, Stack, as_list, dig, is_marker

VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LOCK_V2 = "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LIFECYCLE_V2 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
KMS_KEY = "aws:kms/key:Key"
AWS_MANAGED_KEYS = ("alias/aws/s3", "alias/aws/", ":alias/aws/")
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def subs(stack: Stack, bucket: Res, *types: str) -> list[Res]:
    return [r for t in types for r in stack.sub_resources(bucket, t)]


def is_versioned(stack: Stack, bucket: Res) -> bool:
    if dig(bucket.props, "versioning", "enabled") is True:
        return True
    configs = subs(stack, bucket, VERSIONING, VERSIONING_V2)
    return any(dig(v.props, "versioningConfiguration", "status") == "Enabled" for v in configs)


def lock_enabled(bucket: Res) -> bool:
    inline = dig(bucket.props, "objectLockConfiguration", "objectLockEnabled")
    return bucket.get("objectLockEnabled") is True or inline == "Enabled"


def lock_retention(stack: Stack, bucket: Res) -> tuple[str | None, float | None]:
    """(mode, days) of the bucket's default retention; years count as 365 days."""
    rules = [dig(c.props, "rule", "defaultRetention") for c in subs(stack, bucket, LOCK, LOCK_V2)]
    rules.append(dig(bucket.props, "objectLockConfiguration", "rule", "defaultRetention"))
    for retention in filter(None, rules):
        days = retention.get("days") or (retention.get("years") or 0) * 365 or None
        return retention.get("mode"), days
    return None, None


def encryption(stack: Stack, bucket: Res) -> list[dict]:
    """Every default-encryption block declared for the bucket (split or inline)."""
    blocks = [
        dig(rule_, "applyServerSideEncryptionByDefault")
        for cfg in subs(stack, bucket, SSE, SSE_V2)
        for rule_ in as_list(cfg.props.get("rules"))
    ]
    blocks.append(dig(bucket.props, "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault"))
    return [b for b in blocks if isinstance(b, dict)]


def lifecycle_rules(stack: Stack, bucket: Res) -> list[dict]:
    configs = subs(stack, bucket, LIFECYCLE, LIFECYCLE_V2)
    rules = [r for c in configs for r in as_list(c.props.get("rules")) if isinstance(r, dict)]
    return [r for r in rules if r.get("status", "Enabled") == "Enabled"]


@rule(id="s3-versioning", severity="high", level="mandatory", scanners=("CKV_AWS_21", "AVD-AWS-0090"),
      description="Backup buckets keep every version of every object.",
      fix="add aws.s3.BucketVersioning(bucket=..., versioning_configuration={'status': 'Enabled'})")
def versioning(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for bucket in stack.buckets():
        if not is_versioned(stack, bucket):
            yield bucket.urn, f"bucket {bucket.name} has no versioning with status Enabled"


@rule(id="s3-object-lock", severity="critical", level="mandatory", scanners=("CKV_AWS_143",),
      description="Backup buckets have object lock with a default retention of at least minRetentionDays.",
      fix="create the bucket with object_lock_enabled=True and add aws.s3.BucketObjectLockConfiguration "
          "with rule.default_retention {mode: COMPLIANCE|GOVERNANCE, days: >= the minimum}",
      config={"minRetentionDays": {"type": "integer", "minimum": 1, "default": 30,
                                   "description": "Shortest default retention accepted, in days."}})
def object_lock(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    minimum = settings["minRetentionDays"]
    for bucket in stack.buckets():
        mode, days = lock_retention(stack, bucket)
        if not lock_enabled(bucket):
            yield bucket.urn, f"bucket {bucket.name} is created without object lock (objectLockEnabled)"
        elif days is None:
            yield bucket.urn, f"bucket {bucket.name} has no default object-lock retention"
        elif days < minimum:
            yield bucket.urn, f"bucket {bucket.name} locks objects for {days:g} days, less than {minimum} ({mode})"


@rule(id="s3-sse-kms-cmk", severity="high", level="mandatory",
      scanners=("CKV_AWS_145", "AVD-AWS-0132", "AVD-AWS-0088"),
      description="Backup buckets encrypt by default with SSE-KMS under a customer managed key.",
      fix="add aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm 'aws:kms' and "
          "kms_master_key_id set to a customer managed aws.kms.Key (not AES256, not alias/aws/s3)")
def sse_kms(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for bucket in stack.buckets():
        blocks = encryption(stack, bucket)
        if not blocks:
            yield bucket.urn, f"bucket {bucket.name} has no default encryption configuration"
        for block in blocks:
            algorithm, key = block.get("sseAlgorithm"), block.get("kmsMasterKeyId")
            if algorithm not in ("aws:kms", "aws:kms:dsse"):
                yield bucket.urn, f"bucket {bucket.name} encrypts with {algorithm}, not SSE-KMS"
            elif not key or any(m in str(key) for m in AWS_MANAGED_KEYS):
                yield bucket.urn, f"bucket {bucket.name} uses the AWS managed key, not a customer managed key"


@rule(id="kms-key-rotation", severity="medium", level="mandatory", scanners=("CKV2_AWS_67",),
      scope="resource", types=(KMS_KEY,),
      description="Customer managed KMS keys rotate their key material.",
      fix="set enable_key_rotation=True on the aws.kms.Key")
def key_rotation(res: Res, settings: dict) -> Iterator[str]:
    symmetric = res.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    if symmetric and res.get("enableKeyRotation") is not True:
        yield f"key {res.name} does not rotate (enableKeyRotation is not true)"


@rule(id="s3-public-access-block", severity="critical", level="mandatory", scanners=("CKV2_AWS_6", "AVD-AWS-0094"),
      description="Backup buckets block every form of public access.",
      fix="add aws.s3.BucketPublicAccessBlock with block_public_acls, block_public_policy, "
          "ignore_public_acls and restrict_public_buckets all True")
def public_access_block(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for bucket in stack.buckets():
        blocks = subs(stack, bucket, PAB)
        if not blocks:
            yield bucket.urn, f"bucket {bucket.name} has no public access block"
        for block in blocks:
            off = [f for f in PAB_FLAGS if block.get(f) is not True]
            if off:
                yield block.urn, f"public access block {block.name} leaves {', '.join(off)} off"


@rule(id="s3-acls-disabled", severity="medium", level="mandatory", scanners=("CKV2_AWS_65",),
      description="Backup buckets disable ACLs (object ownership BucketOwnerEnforced).",
      fix="add aws.s3.BucketOwnershipControls with rule.object_ownership 'BucketOwnerEnforced'")
def acls_disabled(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for bucket in stack.buckets():
        owners = [dig(c.props, "rule", "objectOwnership") for c in subs(stack, bucket, OWNERSHIP)]
        if "BucketOwnerEnforced" not in owners:
            found = ", ".join(str(o) for o in owners) or "no ownership controls"
            yield bucket.urn, f"bucket {bucket.name} keeps ACLs enabled ({found})"


@rule(id="s3-tls-only", severity="high", level="mandatory", scanners=("CIS-AWS-2.1.1", "CT.S3.PR.8"),
      description="Backup bucket policies deny every request made without TLS.",
      fix="add a bucket policy statement: Effect Deny, Principal '*', Action 's3:*', "
          "Condition {Bool: {aws:SecureTransport: 'false'}}")
def tls_only(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for bucket in stack.buckets():
        documents = [p.props.get("policy") for p in subs(stack, bucket, POLICY)] + [bucket.get("policy")]
        if any(is_marker(d) for d in documents):
            continue  # a policy built from outputs not known yet (preview): judged at update time
        if not any(iam.denies_insecure_transport(d) for d in documents):
            yield bucket.urn, f"bucket {bucket.name} has no policy denying aws:SecureTransport false"


@rule(id="s3-lifecycle-abort-multipart", severity="low", level="mandatory", scanners=("CKV_AWS_300", "CKV2_AWS_61"),
      description="Backup buckets abort incomplete multipart uploads.",
      fix="add an enabled aws.s3.BucketLifecycleConfiguration rule with "
          "abort_incomplete_multipart_upload {days_after_initiation: 7}")
def abort_multipart(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for bucket in stack.buckets():
        rules = lifecycle_rules(stack, bucket)
        if not any(dig(r, "abortIncompleteMultipartUpload", "daysAfterInitiation") for r in rules):
            yield bucket.urn, f"bucket {bucket.name} never aborts incomplete multipart uploads"


@rule(id="s3-noncurrent-expiry", severity="medium", level="mandatory", scanners=("CKV2_AWS_61",),
      description="Backup buckets expire noncurrent versions, never sooner than the object lock retention.",
      fix="add an enabled lifecycle rule with noncurrent_version_expiration.noncurrent_days >= the lock days")
def noncurrent_expiry(stack: Stack, settings: dict) -> Iterator[tuple[str, str]]:
    for bucket in stack.buckets():
        days = [dig(r, "noncurrentVersionExpiration", "noncurrentDays") for r in lifecycle_rules(stack, bucket)]
        days = [d for d in days if isinstance(d, (int, float))]
        _, lock = lock_retention(stack, bucket)
        if not days:
            yield bucket.urn, f"bucket {bucket.name} has no lifecycle rule expiring noncurrent versions"
        elif lock and min(days) < lock:
            yield bucket.urn, f"bucket {bucket.name} expires noncurrent versions after {min(days):g} days, " \
                              f"before its {lock:g}-day lock ends"
