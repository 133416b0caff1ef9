"""Set a Convex deployment's environment variables from the vault, and prove they arrived.

Only keys that ``live_in: convex`` are set (an ``external`` key belongs to the web host or CI, not
to a deployment). A *restore point* (the vault's version ids recorded in a snapshot's manifest)
pins each key to the value it had when the snapshot was taken; when Secrets Manager no longer has
that version, the current one is used and the item says so. Values stay inside this process:
items carry them with ``repr=False`` and every rendering (``to_dict``) leaves them out; the
deployment's values are compared with the vault's by keyed fingerprints made for this run.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deedbox.config.model import Config
from deedbox.convex.api import ConvexApi
from deedbox.errors import CheckFailed, UsageError
from deedbox.secrets.live import keys_of
from deedbox.secrets.vault import Vault, current_version_id, fingerprinter, secret_name

SET, UNCHANGED, MISSING_VAULT, EXTERNAL = "set", "unchanged", "missing-in-vault", "external"
FROM_POINT, FROM_CURRENT, FROM_CURRENT_FALLBACK = "restore-point", "current", "current (restore-point version gone)"


@dataclass(frozen=True)
class RestoreItem:
    key: str
    secret: str
    state: str  # set (would change / changed) | unchanged | missing-in-vault | external
    source: str = FROM_CURRENT  # which vault version: restore-point | current | current (… gone)
    version_id: str | None = None
    value: str | None = field(default=None, repr=False, compare=False)
    matches: bool | None = None  # after apply: the deployment's value equals the vault's

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "secret": self.secret, "state": self.state, "source": self.source,
                "version_id": self.version_id, "matches": self.matches}


def plan_restore(config: Config, vault: Vault, target_env: Mapping[str, str], *,
                 keys: Sequence[str] | None = None, versions: Mapping[str, str] | None = None) -> list[RestoreItem]:
    """What setting the vault's values on a deployment whose variables are ``target_env`` would change."""
    specs = keys_of(config)
    if keys:
        unknown = sorted(set(keys) - {s.name for s in specs})
        if unknown:
            raise UsageError(f"--keys: {', '.join(unknown)} not in backups.secrets.keys")
        specs = tuple(s for s in specs if s.name in keys)
    fp = fingerprinter()
    items = []
    for spec in specs:
        name = secret_name(config, spec.name)
        if spec.lives_in != "convex":
            items.append(RestoreItem(spec.name, name, EXTERNAL, source="-"))
            continue
        pinned = (versions or {}).get(spec.name)
        source, value, version = FROM_CURRENT, None, None
        if pinned:
            _, value, version = vault.read_versioned(name, pinned)
            source = FROM_POINT if value is not None else FROM_CURRENT_FALLBACK
        if value is None:
            _, value, version = vault.read_versioned(name)
        if value is None:
            items.append(RestoreItem(spec.name, name, MISSING_VAULT, source=source))
            continue
        current = target_env.get(spec.name)
        same = current is not None and hmac.compare_digest(fp(current), fp(value))
        items.append(RestoreItem(spec.name, name, UNCHANGED if same else SET, source, version, value))
    return items


def apply_restore(client: ConvexApi, items: list[RestoreItem]) -> list[RestoreItem]:
    """Set every ``set`` item in one transaction, read the variables back, and mark each match.

    CheckFailed names the keys whose value did not arrive (never the values).
    """
    changes: dict[str, str | None] = {i.key: i.value for i in items if i.state == SET and i.value is not None}
    if changes:
        client.update_environment_variables(changes)
    after = client.list_environment_variables()
    fp = fingerprinter()
    done = []
    for item in items:
        if item.value is None:
            done.append(item)
            continue
        got = after.get(item.key)
        ok = got is not None and hmac.compare_digest(fp(got), fp(item.value))
        done.append(RestoreItem(item.key, item.secret, item.state, item.source, item.version_id, item.value, ok))
    wrong = [i.key for i in done if i.matches is False]
    if wrong:
        raise CheckFailed(f"environment variables did not arrive as set: {', '.join(wrong)}")
    return done


def restore_point(config: Config, vault: Vault) -> list[dict[str, Any]]:
    """The vault's current version of every key, read from metadata only (no value is read)."""
    out = []
    for spec in keys_of(config):
        name = secret_name(config, spec.name)
        described = vault.describe(name)
        out.append({"key": spec.name, "secret": name, "lives_in": spec.lives_in,
                    "version_id": current_version_id(described) if described else None,
                    "changed_at": _iso(described.get("LastChangedDate")) if described else None})
    return out


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else (str(value) if value else None)


def summary_lines(items: list[RestoreItem], *, applied: bool) -> list[str]:
    verb = {SET: "set" if applied else "would set", UNCHANGED: "unchanged", MISSING_VAULT: "MISSING in the vault",
            EXTERNAL: "not a deployment variable (lives_in: external)"}
    lines = []
    for i in items:
        where = f" [{i.source}{' ' + i.version_id[:8] if i.version_id else ''}]" if i.state in (SET, UNCHANGED) else ""
        check = "" if i.matches is None else (" ✓ fingerprint matches" if i.matches else " ✗ DIFFERS")
        lines.append(f"{i.key:<28} {verb[i.state]}{where}{check}")
    return lines
