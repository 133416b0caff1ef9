"""Where the live value of each configured secret is read from (pure).

A key ``lives_in: convex`` (the default) is an environment variable of the production Convex
deployment: ``--from convex`` reads it with ``GET /api/list_environment_variables``. A key
``lives_in: external`` lives elsewhere (the web host, CI): only ``--env-file`` can supply it.
Given only ``--env-file`` (the original contract), every key is read from the file.
"""

from __future__ import annotations

from collections.abc import Mapping

from deedbox.config.model import Config, SecretKey
from deedbox.errors import UsageError


def keys_of(config: Config) -> tuple[SecretKey, ...]:
    return config.backups.secrets.keys if config.backups.secrets else ()


def live_values(config: Config, *, env_file: Mapping[str, str] | None,
                convex_env: Mapping[str, str] | None) -> tuple[dict[str, str], set[str]]:
    """(values by key, keys whose source was read). Values absent from a read source are missing."""
    if env_file is None and convex_env is None:
        raise UsageError("say where the live values are: --from convex, --env-file PATH, or both")
    values: dict[str, str] = {}
    covered: set[str] = set()
    for spec in keys_of(config):
        source = env_file if convex_env is None else (convex_env if spec.lives_in == "convex" else env_file)
        if source is None:
            continue
        covered.add(spec.name)
        if spec.name in source:
            values[spec.name] = source[spec.name]
    return values, covered
