"""Keep the Secrets Manager vault in step with the live environment, without seeing values twice.

Each configured key lives in the secret ``deedbox/<config.name>/<KEY>`` (created, encrypted and
replicated by the topology; deedbox only writes *versions*). Values are compared by keyed
fingerprints: HMAC-SHA256 under a random key made for this run and then dropped, so neither a
value nor a stable hash of it is ever printed, logged or stored. ``push`` writes a new version
only for keys whose value changed; ``verify`` classifies every key as ``in-sync``, ``drift``,
``missing-in-vault``, ``missing-in-env`` or ``not-checked`` (its live source was not read: an
``external`` key when only ``--from convex`` was given).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as pysecrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from deedbox.config.model import Config
from deedbox.errors import EnvironmentProblem

IN_SYNC, DRIFT, MISSING_VAULT, MISSING_ENV = "in-sync", "drift", "missing-in-vault", "missing-in-env"
NOT_PROVISIONED, NOT_CHECKED = "not-provisioned", "not-checked"
PASSING = (IN_SYNC, NOT_CHECKED)  # states that do not fail a verification


def secret_name(config: Config, key: str) -> str:
    return f"deedbox/{config.name}/{key}"


def fingerprinter() -> Callable[[str], bytes]:
    """A keyed fingerprint function valid for this run only."""
    run_key = pysecrets.token_bytes(32)
    return lambda value: hmac.new(run_key, value.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class KeyResult:
    key: str
    secret: str
    state: str  # in-sync | drift | missing-in-vault | missing-in-env | not-provisioned | not-checked
    action: str = "none"  # push: pushed | unchanged | skipped
    replicas: tuple[tuple[str, str], ...] = ()  # (region, InSync | InProgress | Failed | missing)

    @property
    def replicated(self) -> bool:
        """No replica failed or missing (InProgress is a version on its way: fine)."""
        return all(status in ("InSync", "InProgress") for _, status in self.replicas)


def replica_states(described: dict[str, Any], expected: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Pure: each expected replica region's ``ReplicationStatus`` from ``DescribeSecret`` (or missing)."""
    found = {r.get("Region"): r.get("Status", "unknown") for r in described.get("ReplicationStatus", [])}
    return tuple((region, str(found.get(region, "missing"))) for region in expected)


def classify(env_value: str | None, vault_value: str | None, provisioned: bool,
             fp: Callable[[str], bytes]) -> str:
    """Pure: the state of one key from the two values (compared by fingerprint only)."""
    if env_value is None:
        return MISSING_ENV
    if not provisioned:
        return NOT_PROVISIONED
    if vault_value is None:
        return MISSING_VAULT
    return IN_SYNC if hmac.compare_digest(fp(env_value), fp(vault_value)) else DRIFT


class Vault:
    """The secret vault of one config (Secrets Manager in the destination region)."""

    def __init__(self, config: Config, client: Any = None) -> None:
        self.config = config
        self.sm = client or boto3.client("secretsmanager", region_name=config.destination.region)

    def read(self, name: str) -> tuple[bool, str | None]:
        """(provisioned, current value or None). The value stays inside this process."""
        provisioned, value, _ = self.read_versioned(name)
        return provisioned, value

    def read_versioned(self, name: str, version_id: str | None = None) -> tuple[bool, str | None, str | None]:
        """(provisioned, value, version id) of the current version, or of ``version_id``.

        A version Secrets Manager no longer has (it removes versions without a staging label
        once a secret has more than 100) reads as ``(True, None, None)``.
        """
        try:
            kw = {"SecretId": name, **({"VersionId": version_id} if version_id else {})}
            got = self.sm.get_secret_value(**kw)
            return True, got.get("SecretString"), got.get("VersionId")
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise _env_error(err, name) from None
        except BotoCoreError as err:
            raise EnvironmentProblem(f"secret {name}: {type(err).__name__}") from None
        return self._exists(name), None, None

    def _exists(self, name: str) -> bool:
        return self.describe(name) is not None

    def describe(self, name: str) -> dict[str, Any] | None:
        """``DescribeSecret`` (metadata, never the value); None when the secret does not exist."""
        try:
            return dict(self.sm.describe_secret(SecretId=name))
        except ClientError as err:
            if _code(err) == "ResourceNotFoundException":
                return None
            raise _env_error(err, name) from None
        except BotoCoreError as err:
            raise EnvironmentProblem(f"secret {name}: {type(err).__name__}") from None

    def write(self, name: str, value: str) -> None:
        try:
            self.sm.put_secret_value(SecretId=name, SecretString=value)
        except (ClientError, BotoCoreError) as err:
            raise _env_error(err, name) from None


def current_version_id(described: dict[str, Any]) -> str | None:
    """Pure: the version id carrying ``AWSCURRENT`` in a ``DescribeSecret`` answer."""
    stages = described.get("VersionIdsToStages") or {}
    return next((vid for vid, labels in stages.items() if "AWSCURRENT" in labels), None)


def check(config: Config, env: dict[str, str], vault: Vault, *, push: bool,
          covered: set[str] | None = None) -> list[KeyResult]:
    """Classify every configured key; with ``push`` write versions where the env differs.

    ``covered``: the keys whose live source was read (None: all); the others are ``not-checked``.
    """
    fp = fingerprinter()
    expected = [config.destination.replica.region] if config.destination.replica else []
    results = []
    for spec in config.backups.secrets.keys if config.backups.secrets else ():
        name = secret_name(config, spec.name)
        if covered is not None and spec.name not in covered:
            results.append(KeyResult(spec.name, name, NOT_CHECKED, "skipped" if push else "none"))
            continue
        provisioned, current = vault.read(name)
        state = classify(env.get(spec.name), current, provisioned, fp)
        action = "none"
        if push:
            action = "skipped"
            if state in (DRIFT, MISSING_VAULT):
                vault.write(name, env[spec.name])
                action, state = "pushed", IN_SYNC
            elif state == IN_SYNC:
                action = "unchanged"
        replicas: tuple[tuple[str, str], ...] = ()
        if expected and provisioned:
            replicas = replica_states(vault.describe(name) or {}, expected)
        results.append(KeyResult(spec.name, name, state, action, replicas))
    return results


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _env_error(err: Exception, name: str) -> EnvironmentProblem:
    code = _code(err) if isinstance(err, ClientError) else type(err).__name__
    return EnvironmentProblem(f"secret {name}: {code}")
