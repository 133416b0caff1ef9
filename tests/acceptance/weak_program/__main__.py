"""A deliberately weak backup program, written for the acceptance suite without looking at deedbox's
own fixtures. Every resource below breaks at least one DESIGN.md security invariant."""

import json

import pulumi
import pulumi_aws as aws

# A provider that pins no account: a wrong credential could touch any account.
loose = aws.Provider("loose", region="us-east-1")
on_loose = pulumi.ResourceOptions(provider=loose)

# A bucket with no versioning, no object lock, no encryption, nothing.
naked = aws.s3.Bucket("naked", bucket="weak-naked", opts=on_loose)

# A deprecated BucketV2 whose public access block leaves one flag off, encrypted with AES256 only.
legacy = aws.s3.BucketV2("legacy", bucket="weak-legacy", opts=on_loose)
aws.s3.BucketPublicAccessBlock(
    "legacy-pab", bucket=legacy.id, block_public_acls=True, block_public_policy=True,
    ignore_public_acls=True, restrict_public_buckets=False, opts=on_loose)
aws.s3.BucketServerSideEncryptionConfiguration(
    "legacy-sse", bucket=legacy.id,
    rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}], opts=on_loose)
aws.s3.BucketVersioning("legacy-versioning", bucket=legacy.id,
                        versioning_configuration={"status": "Enabled"}, opts=on_loose)

# Replication from the legacy bucket into the naked one: same region, no replica key, delete markers
# replicated (a malicious delete propagates), destination without object lock.
replication_role = aws.iam.Role(
    "replication-role",
    assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "s3.amazonaws.com"}}]}),
    opts=on_loose)
aws.s3.BucketReplicationConfig(
    "legacy-replication", bucket=legacy.id, role=replication_role.arn,
    rules=[{
        "id": "all", "status": "Enabled", "filter": {"prefix": ""},
        "delete_marker_replication": {"status": "Enabled"},
        "destination": {"bucket": naked.arn, "storage_class": "STANDARD"},
    }],
    opts=on_loose)

# A runner role that may do anything to S3, deletes included.
runner = aws.iam.Role(
    "runner",
    assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}}]}),
    opts=on_loose)
aws.iam.RolePolicy(
    "runner-policy", role=runner.id,
    policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    opts=on_loose)

# A secret with the AWS managed key, deletable at once, no replica.
aws.secretsmanager.Secret("session-secret", name="weak/SESSION_SECRET", recovery_window_in_days=0,
                          opts=on_loose)

# A customer managed key that never rotates and is not protected.
aws.kms.Key("stale-key", description="never rotated", enable_key_rotation=False, opts=on_loose)

# A drill resource (tag deedbox:drill) that is protected and carries no expiry.
aws.s3.Bucket("drill-scratch", bucket="weak-drill-scratch", tags={"deedbox:drill": "20261127T000000Z"},
              opts=pulumi.ResourceOptions(provider=loose, protect=True))
