"""The checklist in the order it prints: credentials, media bucket, OIDC provider, backup bucket,
Convex, vault, the dead-man's switch alarms. Each step asks ``probe`` for its facts and lets a pure
function decide."""

from __future__ import annotations

import os
from collections.abc import Mapping

from deedbox.config.model import Config
from deedbox.doctor import probe
from deedbox.doctor.buckets import MEDIA_IDS, backup_checks, media_checks, media_skip
from deedbox.doctor.checks import convex_checks, credentials, oidc_arn, oidc_check, secret_check
from deedbox.doctor.deadman import alarm_checks, watched
from deedbox.doctor.report import SKIP, Check
from deedbox.topology.names import secret_name


def diagnose(config: Config, bucket: str | None = None, env: Mapping[str, str] = os.environ) -> list[Check]:
    """Every check; EnvironmentProblem only when AWS cannot be used at all (no credentials)."""
    region = config.destination.region
    checks = [credentials(probe.identity(region), config.destination.account)]
    checks += _media(config)
    checks.append(oidc_check(config, probe.oidc_provider(config, oidc_arn(config))
                             if config.runner.kind == "github-actions" else None))
    name, origin = probe.backup_bucket(config, bucket)
    checks += backup_checks(config, name, origin, probe.backup_facts(config, name))
    checks += convex_checks(probe.convex_facts(config, env))
    checks += _vault(config)
    checks += alarm_checks(config, probe.alarm_states(config, [name for _, name in watched(config)]))
    return checks


def _media(config: Config) -> list[Check]:
    reason = media_skip(config)
    if reason is not None:
        return [Check(MEDIA_IDS[0], SKIP, reason)]
    return media_checks(config, probe.media_facts(config))


def _vault(config: Config) -> list[Check]:
    secrets = config.backups.secrets
    if secrets is None or not secrets.keys:
        return [Check("vault", SKIP, "no backups.secrets configured")]
    names = {k.name: secret_name(config.name, k.name) for k in secrets.keys}
    found = probe.secret_descriptions(config, list(names.values()))
    return [secret_check(config, key, name, found[name]) for key, name in names.items()]
