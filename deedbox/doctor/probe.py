"""The doctor's read-only calls: each returns the facts ``checks`` and ``buckets`` decide on.

AWS clients come from boto3's standard chain with no explicit endpoint, so ``AWS_ENDPOINT_URL``
(moto, LocalStack) applies unchanged. A failed call becomes ``Refused(code)`` and the checklist goes
on; only an environment that cannot be used at all raises ``EnvironmentProblem`` (exit 2): no
credentials, credentials AWS rejects, or no AWS endpoint to talk to. Nothing here reads a secret
value: secrets are described, never fetched; the Convex key goes to its deployment and nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from deedbox.bucket.locate import BUCKET_KEYS, pick, stack_output
from deedbox.config.model import Config
from deedbox.convex.client import EXPORTS_LATEST, ConvexClient
from deedbox.doctor.checks import ConvexFacts
from deedbox.doctor.report import Answer, Refused
from deedbox.errors import ConvexAuthError, ConvexError, ConvexNotFound, EnvironmentProblem, UsageError
from deedbox.topology.names import store_bucket

# each call's own code for "this setting does not exist" (not an error: the answer is None)
ABSENT = {
    "get_bucket_replication": "ReplicationConfigurationNotFoundError",
    "get_object_lock_configuration": "ObjectLockConfigurationNotFoundError",
    "get_bucket_encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "get_public_access_block": "NoSuchPublicAccessBlockConfiguration",
}
HTTP_CODES = {"404": "NotFound", "403": "AccessDenied", "301": "PermanentRedirect", "400": "BadRequest"}
MEDIA_CALLS = ("get_bucket_versioning", "get_bucket_replication")
BACKUP_CALLS = ("get_bucket_versioning", "get_object_lock_configuration", "get_bucket_encryption",
                "get_public_access_block")
NO_CREDENTIALS = ("no AWS credentials: configure boto3's standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, "
                  "an instance or OIDC role) to run doctor")


def _client(service: str, region: str) -> Any:
    cfg = BotoConfig(retries={"mode": "standard", "max_attempts": 3})
    return boto3.client(service, region_name=region, config=cfg)  # type: ignore[call-overload]


def ask(call: Callable[..., Any], absent: str | None = None, **kw: Any) -> Answer:
    """One call: its response, None for ``absent`` (not configured), else ``Refused(code)``.

    Missing or partial credentials are not one check's failure: EnvironmentProblem (exit 2)."""
    try:
        return call(**kw)
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code", "")) or "Error"
        return None if code == absent else Refused(HTTP_CODES.get(code, code))
    except (NoCredentialsError, PartialCredentialsError):
        raise EnvironmentProblem(NO_CREDENTIALS) from None
    except BotoCoreError as err:
        return Refused(type(err).__name__)


def identity(region: str) -> Mapping[str, Any]:
    """``sts:GetCallerIdentity``, or EnvironmentProblem: without usable credentials nothing can be checked."""
    try:
        return _client("sts", region).get_caller_identity()
    except (NoCredentialsError, PartialCredentialsError):
        raise EnvironmentProblem(NO_CREDENTIALS) from None
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "Error")
        raise EnvironmentProblem(f"AWS refused the credentials ({code}): renew them to run doctor") from None
    except EndpointConnectionError as err:
        raise EnvironmentProblem(f"cannot reach AWS ({err.kwargs.get('endpoint_url', 'STS')})") from None
    except BotoCoreError as err:
        raise EnvironmentProblem(f"cannot ask AWS who these credentials are ({type(err).__name__})") from None


def bucket_facts(bucket: str, region: str, calls: tuple[str, ...]) -> dict[str, Answer]:
    """``HeadBucket``, then (only if it answered) each of ``calls`` on the bucket."""
    s3 = _client("s3", region)
    facts = {"head_bucket": ask(s3.head_bucket, Bucket=bucket)}
    if not isinstance(facts["head_bucket"], Refused):
        facts.update({name: ask(getattr(s3, name), ABSENT.get(name), Bucket=bucket) for name in calls})
    return facts


def media_facts(config: Config) -> dict[str, Answer]:
    media = config.source.media
    assert media is not None and media.bucket  # buckets.media_skip said so
    return bucket_facts(media.bucket, media.region or config.source.region, MEDIA_CALLS)


def backup_bucket(config: Config, bucket: str | None) -> tuple[str, str]:
    """(name, where it came from): --bucket / DEEDBOX_BUCKET, the stack output, else the name the
    topology gives it (``names.store_bucket``: a first ``pulumi up`` has no stack output yet)."""
    bucket = bucket or os.environ.get("DEEDBOX_BUCKET")
    if bucket:
        return bucket, "--bucket / DEEDBOX_BUCKET"
    found = pick(stack_output(), BUCKET_KEYS)
    if found:
        return found, "the stack's deedbox output"
    dest = config.destination
    return store_bucket(config.name, dest.account, dest.region), "the name the topology gives it"


def backup_facts(config: Config, bucket: str) -> dict[str, Answer]:
    return bucket_facts(bucket, config.destination.region, BACKUP_CALLS)


def oidc_provider(config: Config, arn: str) -> Answer:
    iam = _client("iam", config.destination.region)
    return ask(iam.get_open_id_connect_provider, "NoSuchEntity", OpenIDConnectProviderArn=arn)


def secret_descriptions(config: Config, names: list[str]) -> dict[str, Answer]:
    """``DescribeSecret`` of each name (metadata and replication status only, never a value)."""
    sm = _client("secretsmanager", config.destination.region)
    return {name: ask(sm.describe_secret, "ResourceNotFoundException", SecretId=name) for name in names}


def alarm_states(config: Config, names: list[str]) -> Answer:
    """``DescribeAlarms`` of the dead-man's switch alarms (metric and composite), by name."""
    cloudwatch = _client("cloudwatch", config.destination.region)
    return ask(cloudwatch.describe_alarms, AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])


def convex_facts(config: Config, env: Mapping[str, str] = os.environ) -> ConvexFacts:
    """One read-only query, ``exports:getLatest``, with the key from ``source.convex.deploy_key``."""
    var, url = config.source.convex.deploy_key.env, config.source.convex.url
    if not env.get(var):
        return ConvexFacts(var, url, key_set=False)
    try:
        client = ConvexClient.from_env(url, env=env, key_env=var)
        latest = client.query(EXPORTS_LATEST)
    except ConvexAuthError as err:
        return ConvexFacts(var, url, True, error_kind="auth", error=str(err))
    except ConvexNotFound as err:
        return ConvexFacts(var, url, True, error_kind="not_found", error=str(err))
    except ConvexError as err:
        return ConvexFacts(var, url, True, error_kind="failed", error=str(err))
    except (EnvironmentProblem, UsageError) as err:  # a key of another deployment, a URL that is none
        return ConvexFacts(var, url, True, error_kind="environment", error=str(err))
    return ConvexFacts(var, url, True, latest=latest if isinstance(latest, Mapping) else None)
