"""SecretVault: one Secrets Manager secret per platform secret, replicated, under its own key.

Protects against losing the values the platform cannot regenerate (a lost session-signing
secret signs everyone out; a lost webhook secret breaks payments): each secret is encrypted with a
multi-region customer managed key, replicated to the replica region under that key's replica,
deletable only after a recovery window, and its value is readable and writable only by the
runner and the break-glass principal. The program declares containers only: no ``SecretVersion``
and no value ever enters Pulumi; ``deedbox secrets push`` writes versions. Rotation periods are
recorded as a tag (``deedbox:rotation-days``): there is no rotation Lambda, rotation stays a
platform procedure and ``deedbox secrets verify`` reports stale values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from deedbox.config.model import SecretKey
from deedbox.topology.documents import key_policy, secret_policy
from deedbox.topology.names import key_alias, secret_name


@dataclass
class SecretVaultArgs:
    name: str  # config name: secrets are deedbox/<name>/<KEY>
    account: str
    region: str
    keys: Sequence[SecretKey]
    recovery_window_days: int
    value_users: Sequence[str]  # principals allowed to read/write values (runner, break-glass)
    destroy_exempt: Sequence[str]
    key_users: Mapping[str, Sequence[str]] = field(default_factory=dict)
    replica_region: str | None = None
    protect: bool = True


def _vault_key_policy(args: SecretVaultArgs, region: str) -> str:
    return json.dumps(key_policy(args.account, users=args.key_users, destroy_exempt=args.destroy_exempt,
                                 service=f"secretsmanager.{region}.amazonaws.com"))


def secret_tags(key: SecretKey) -> dict[str, str]:
    tags = {"deedbox:secret": key.name}
    if key.rotation_days:
        tags["deedbox:rotation-days"] = str(key.rotation_days)
    return tags


class SecretVault(pulumi.ComponentResource):
    """Multi-region key (+ replica key) and one replicated, policy-guarded secret per key."""

    def __init__(self, name: str, args: SecretVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("deedbox:vault:SecretVault", name, None, opts)
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.key = aws.kms.Key(
            f"{name}-key", description=f"deedbox secret vault {args.name}", multi_region=True,
            enable_key_rotation=True, deletion_window_in_days=30, bypass_policy_lockout_safety_check=True,
            policy=_vault_key_policy(args, args.region), opts=kept)
        alias = key_alias(args.name, "vault")
        aws.kms.Alias(f"{name}-key-alias", name=alias, target_key_id=self.key.key_id, opts=kept)
        self.replica_key = None
        replicas: list[aws.secretsmanager.SecretReplicaArgsDict] = []
        if args.replica_region:
            self.replica_key = aws.kms.ReplicaKey(
                f"{name}-replica-key", primary_key_arn=self.key.arn, region=args.replica_region,
                description=f"deedbox secret vault {args.name} (replica)", deletion_window_in_days=30,
                bypass_policy_lockout_safety_check=True,
                policy=_vault_key_policy(args, args.replica_region), opts=kept)
            # the same alias in the replica region: the runner's key statement covers both
            aws.kms.Alias(f"{name}-replica-key-alias", name=alias, target_key_id=self.replica_key.key_id,
                          region=args.replica_region, opts=kept)
            replicas = [{"region": args.replica_region, "kms_key_id": self.replica_key.arn}]
        self.secrets: dict[str, aws.secretsmanager.Secret] = {}
        for key in args.keys:
            self.secrets[key.name] = self._secret(name, args, key, replicas, kept)
        self.key_arn = self.key.arn
        self.secret_arns = {k: s.arn for k, s in self.secrets.items()}
        self.register_outputs({"key_arn": self.key_arn, "secret_arns": self.secret_arns})

    def _secret(self, name: str, args: SecretVaultArgs, key: SecretKey,
                replicas: list[aws.secretsmanager.SecretReplicaArgsDict],
                kept: pulumi.ResourceOptions) -> aws.secretsmanager.Secret:
        secret = aws.secretsmanager.Secret(
            f"{name}-{key.name}", name=secret_name(args.name, key.name), kms_key_id=self.key.arn,
            description=f"{key.name} of {args.name}, backed up by deedbox (value written by `deedbox secrets push`)",
            recovery_window_in_days=args.recovery_window_days, replicas=replicas or None,
            tags=secret_tags(key), opts=kept)
        aws.secretsmanager.SecretPolicy(
            f"{name}-{key.name}-policy", secret_arn=secret.arn, block_public_policy=True,
            policy=json.dumps(secret_policy(value_users=args.value_users)),
            opts=pulumi.ResourceOptions(parent=self))
        return secret
