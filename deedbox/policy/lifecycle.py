"""Rules on the vault's secrets and on resource lifetime: drills expire, production is protected."""

from __future__ import annotations

from collections.abc import Iterator

from deedbox.policy.catalog import rule
from deedbox.policy.view import BUCKET_TYPES, TTL_TAG, Res, as_list, peek

SECRET = "aws:secretsmanager/secret:Secret"
KEYS = ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey")
PRODUCTION = (*BUCKET_TYPES, *KEYS, SECRET)


@rule(id="secrets-cmk", severity="high", level="mandatory", scanners=("CKV_AWS_149",),
      scope="resource", types=(SECRET,),
      description="Secrets Manager secrets are encrypted with a customer managed KMS key.",
      fix="set kms_key_id to a customer managed aws.kms.Key (not the default aws/secretsmanager key)")
def secret_cmk(res: Res, settings: dict) -> Iterator[str]:
    key = peek(res.props, "kmsKeyId")  # an unknown key ARN (another resource's output) is set
    if not key or "alias/aws/" in str(key):
        yield f"secret {res.name} uses the default aws/secretsmanager key"


@rule(id="secrets-recovery-window", severity="medium", level="mandatory", scanners=(),
      scope="resource", types=(SECRET,),
      description="A deleted secret stays recoverable for at least minRecoveryDays.",
      fix="set recovery_window_in_days between the minimum and 30 (0 deletes at once)",
      config={"minRecoveryDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": 7,
                                  "description": "Shortest recovery window accepted, in days."}})
def recovery_window(res: Res, settings: dict) -> Iterator[str]:
    days = res.get("recoveryWindowInDays", 30)  # AWS default: 30 days
    if days < settings["minRecoveryDays"]:
        yield f"secret {res.name} is recoverable for {days:g} days only"


@rule(id="secrets-replicas", severity="medium", level="mandatory", scanners=(),
      scope="resource", types=(SECRET,),
      description="Secrets are replicated to another region, each replica under a customer managed key.",
      fix="set replicas=[{region: <replica region>, kms_key_id: <replica key ARN>}]",
      config={"requireReplicas": {"type": "boolean", "default": True,
                                  "description": "Every secret must have at least one replica."}})
def replicas(res: Res, settings: dict) -> Iterator[str]:
    found = [r for r in as_list(res.props.get("replicas")) if isinstance(r, dict)]
    if settings["requireReplicas"] and not found:
        yield f"secret {res.name} has no replica"
    for replica in found:
        if not replica.get("kmsKeyId"):
            yield f"secret {res.name} replica in {replica.get('region')} uses the default key"


@rule(id="drill-ttl-unprotected", severity="medium", level="mandatory", scanners=(),
      scope="resource",
      description="Drill resources (tag deedbox:drill) carry a deedbox:expires TTL tag and are not protected.",
      fix="tag drill resources with deedbox:expires=<UTC timestamp> and never set protect=True on them")
def drill_ttl(res: Res, settings: dict) -> Iterator[str]:
    if not res.is_drill:
        return
    if not res.tags.get(TTL_TAG):
        yield f"drill resource {res.name} has no {TTL_TAG} tag"
    if res.protect:
        yield f"drill resource {res.name} is protected, so the drill cannot tear it down"


@rule(id="production-protected", severity="medium", level="advisory", scanners=(),
      scope="resource", types=PRODUCTION,
      description="Production backup buckets, keys and secrets are protected from deletion by Pulumi.",
      fix="keep destination.protect true (pulumi opts protect=True); turn it off only for a first trial")
def protected(res: Res, settings: dict) -> Iterator[str]:
    if not res.is_drill and not res.protect:
        yield f"{res.name} is not protected"
