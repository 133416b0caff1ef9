"""The recorded policy documents and lifecycle rules, handed to AWS's APIs (moto over real HTTP).

The pure helpers are unit-tested elsewhere; here the documents the real program recorded are
sent, unchanged, through boto3 to moto's IAM, S3, KMS and Secrets Manager, whose validators
reject malformed actions, ARNs, condition operators and lifecycle rules, as AWS would.
"""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

from deedbox.plan.graph import Graph
from tests.support.moto_server import moto_endpoint  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("moto_endpoint")


def _by_name(g: Graph, name: str):
    return next(r for r in g if r.name == name)


def _camel(value):
    """pulumi-aws lifecycle rule shape (camelCase, as recorded) -> the S3 API's PascalCase."""
    special = {"id": "ID", "noncurrentDays": "NoncurrentDays"}
    if isinstance(value, dict):
        return {special.get(k, k[0].upper() + k[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return int(value) if isinstance(value, float) else value


def test_roles_and_their_policies_are_accepted_by_iam(moto_endpoint, reference_graph):
    iam = moto_endpoint.client("iam", "us-east-1")
    g = reference_graph
    for role in g.of_type("aws:iam/role:Role"):
        iam.create_role(RoleName=role.inputs["name"], AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"])
    for policy in g.of_type("aws:iam/rolePolicy:RolePolicy"):
        document = policy.inputs["policy"]
        jobs = re.findall(r"arn:aws:s3:[a-z0-9-]+:\d{12}:job/\*", document)
        if jobs:
            # moto's validator (moto/iam/policy_validation.py, SERVICE_TYPE_REGION_INFORMATION_ERROR_ASSOCIATIONS)
            # lets an S3 ARN carry a Region only for accesspoint/; IAM's Service Authorization Reference
            # for Amazon S3 lists the job resource as arn:${Partition}:s3:${Region}:${Account}:job/${JobId}.
            # So moto must refuse exactly that ARN; everything else in the document it must accept.
            with pytest.raises(ClientError, match=re.escape(jobs[0]) + " can not contain region"):
                iam.put_role_policy(RoleName=policy.inputs["role"], PolicyName=policy.name, PolicyDocument=document)
            document = re.sub(r"arn:aws:s3:[a-z0-9-]+:(\d{12}):job/", r"arn:aws:s3:::\1-job/", document)
        iam.put_role_policy(RoleName=policy.inputs["role"], PolicyName=policy.name, PolicyDocument=document)
        stored = iam.get_role_policy(RoleName=policy.inputs["role"], PolicyName=policy.name)["PolicyDocument"]
        assert stored == json.loads(document)


def test_store_bucket_takes_its_policy_lifecycle_and_lock(moto_endpoint, reference_graph):
    g = reference_graph
    bucket = _by_name(g, "guild-store-bucket").inputs["bucket"]
    s3 = moto_endpoint.client("s3", "eu-west-1")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_policy(Bucket=bucket, Policy=_by_name(g, "guild-store-policy").inputs["policy"])
    rules = _camel(_by_name(g, "guild-store-lifecycle").inputs["rules"])
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    stored = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert stored["abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert stored["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 60
    lock = _by_name(g, "guild-store-object-lock").inputs["rule"]["defaultRetention"]
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": lock["mode"], "Days": int(lock["days"])}}})
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]["Sid"] == "DenyInsecureTransport"


def test_keys_and_secret_policies_are_accepted(moto_endpoint, reference_graph):
    g = reference_graph
    kms = moto_endpoint.client("kms", "eu-west-1")
    for key in g.of_type("aws:kms/key:Key"):
        created = kms.create_key(Policy=key.inputs["policy"], MultiRegion=bool(key.inputs.get("multiRegion")))
        key_id = created["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=key_id)
        assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    sm = moto_endpoint.client("secretsmanager", "eu-west-1")
    for policy in g.of_type("aws:secretsmanager/secretPolicy:SecretPolicy"):
        secret = g.by_urn(next(d for d in policy.dependencies if "secret:Secret" in d))
        arn = sm.create_secret(Name=secret.inputs["name"])["ARN"]
        sm.put_resource_policy(SecretId=arn, ResourcePolicy=policy.inputs["policy"], BlockPublicPolicy=True)
        assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == json.loads(policy.inputs["policy"])
