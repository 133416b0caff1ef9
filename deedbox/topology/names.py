"""Deterministic physical names and ARNs of everything the topology creates.

Names are derived from the config, never auto-suffixed: plans stay readable, operations find the
bucket without asking Pulumi, and the policies can name a role before it exists (ARNs of roles
are known in advance, which lets key and bucket policies refer to them without a creation-order
cycle). Every function is pure and raises ``ConfigError`` for a name AWS would refuse.
"""

from __future__ import annotations

import re

from deedbox.bucket.layout import PREFIXES
from deedbox.errors import ConfigError

BUCKET_MAX = 63  # S3 bucket names: 3-63 characters, lowercase letters, digits, hyphens, dots
ROLE_MAX = 64  # IAM role names
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"


def bucket_name(name: str, role: str, account: str, region: str) -> str:
    """``<name>-<role>-<account>-<region>``, e.g. ``guild-backup-222222222222-eu-west-1``."""
    candidate = f"{name}-{role}-{account}-{region}".lower()
    if len(candidate) > BUCKET_MAX:
        raise ConfigError(
            f"bucket name {candidate!r} is {len(candidate)} characters, S3 allows {BUCKET_MAX}: "
            f"shorten `name` ({name!r}) by {len(candidate) - BUCKET_MAX}"
        )
    if not _BUCKET_RE.match(candidate) or ".." in candidate:
        raise ConfigError(f"bucket name {candidate!r} is not a valid S3 bucket name: check `name` ({name!r})")
    return candidate


def store_bucket(name: str, account: str, region: str) -> str:
    return bucket_name(name, "backup", account, region)


def replica_bucket(name: str, account: str, region: str) -> str:
    return bucket_name(name, "replica", account, region)


def role_name(name: str, purpose: str) -> str:
    """``<name>-deedbox-<purpose>``, checked against IAM's 64-character limit."""
    candidate = f"{name}-deedbox-{purpose}"
    if len(candidate) > ROLE_MAX:
        raise ConfigError(f"role name {candidate!r} is longer than {ROLE_MAX} characters: shorten `name`")
    return candidate


def role_arn(account: str, role: str) -> str:
    return f"arn:aws:iam::{account}:role/{role}"


def root_arn(account: str) -> str:
    """The account principal; as ``aws:PrincipalArn`` it matches only the root user."""
    return f"arn:aws:iam::{account}:root"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def key_alias(name: str, purpose: str) -> str:
    """``alias/deedbox/<name>/<purpose>``: the deterministic handle of a key (its id is random)."""
    return f"alias/deedbox/{name}/{purpose}"


def key_alias_arn(region: str, account: str, alias: str) -> str:
    """An alias ARN: S3 replication accepts it as ``replica_kms_key_id`` (AWS S3 API reference,
    ``EncryptionConfiguration.ReplicaKmsKeyID``: "Key ARN or Alias ARN")."""
    return f"arn:aws:kms:{region}:{account}:{alias}"


def github_oidc_provider_arn(account: str) -> str:
    """The account's GitHub OIDC provider: IAM allows one per URL, so its ARN is known."""
    return f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"


def secret_name(name: str, key: str) -> str:
    """``deedbox/<name>/<KEY>``: one Secrets Manager secret per configured environment key."""
    return f"deedbox/{name}/{key}"


def media_destination_prefix(mode: str, cls: str, source_prefix: str) -> str:
    """Where a media class lands in the backup bucket.

    S3 replication cannot rewrite key prefixes, so replicated objects keep their source key
    (``uploads/a.png`` stays ``uploads/a.png``); the runner's sync copies under ``media/<class>/``.
    The map of class to prefix is part of the ``deedbox`` stack output so operations never guess.
    """
    if mode == "replicate":
        clash = [p for p in PREFIXES.values() if source_prefix.startswith(p) or p.startswith(source_prefix)]
        if clash:
            raise ConfigError(
                f"media class {cls!r}: prefix {source_prefix!r} overlaps the backup prefix {clash[0]!r}; "
                "replicated objects keep their source key, so use `mode: sync` or another prefix"
            )
        return source_prefix
    return f"{PREFIXES['media']}{cls}/"
