"""Restore a whole deployment from a verified snapshot, after a verified safety export of it.

Order, and why:

1. verify the chosen snapshot with ``read_data`` (every byte re-hashed, every table re-counted):
   a restore from a damaged snapshot is worse than none;
2. without ``yes`` stop here and show the plan: nothing is written anywhere;
3. take a *safety export* of the target and verify it (read-data) — if that fails, stop: there
   would be no way back from ``replaceAll``;
4. import with ``replaceAll`` (every table in the snapshot replaced, ``_id``s kept);
5. count every root table with ``_system/cli/tableSize`` and compare with the manifest
   (component tables are listed as not counted: that system query addresses the root app);
6. set the deployment's environment variables from the vault (keys that live in Convex), at the
   versions the snapshot's restore point names where Secrets Manager still has them, and read
   them back (``secrets=False`` skips this: e.g. the target keeps its own keys);
7. log the restore in ``restores/`` and print the cutover steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deedbox.backend.export import export_snapshot
from deedbox.bucket.client import BucketClient
from deedbox.config.model import Config
from deedbox.convex.api import ConvexApi
from deedbox.convex.client import ConvexClient, require_deployment_url
from deedbox.errors import CheckFailed, ConvexError, DeedboxError, EnvironmentProblem
from deedbox.restore.common import VerifiedSnapshot, local_copy, verified_snapshot, with_convex_url, write_log
from deedbox.restore.point import secret_versions
from deedbox.secrets.live import keys_of
from deedbox.secrets.restore import apply_restore, plan_restore
from deedbox.secrets.vault import Vault


@dataclass
class FullRestoreResult:
    snapshot: str
    target: str
    applied: bool
    tables: list[dict[str, Any]]  # manifest tables: component, name, count
    safety_snapshot: str | None = None
    written: int | None = None
    count_problems: list[str] = field(default_factory=list)
    uncounted: list[str] = field(default_factory=list)
    log_key: str | None = None
    secrets: list[dict[str, Any]] = field(default_factory=list)  # RestoreItem.to_dict(): never a value
    restore_point: dict[str, Any] | None = None  # the snapshot manifest's
    secrets_problem: str | None = None

    @property
    def ok(self) -> bool:
        return not self.count_problems and self.secrets_problem is None


def cutover_steps(target: str, source: str) -> list[str]:
    """What the team does next; the restore itself cannot do these (they are outside Convex data)."""
    steps = [
        f"Push the app's functions to {target} (`npx convex deploy`) if it is a new deployment.",
        "Run the drill checks against it, or open the app on a preview pointed at it.",
    ]
    if target.rstrip("/") != source.rstrip("/"):
        steps.append(f"Point the app's CONVEX_URL at {target} and redeploy the frontend.")
    steps.append("Keep the safety export until the restored data is confirmed good.")
    return steps


def count_problems(tables: list[dict[str, Any]], table_size: Callable[[str], int]) -> tuple[list[str], list[str]]:
    """Compare live counts with the manifest's (root tables); returns (problems, uncounted)."""
    problems: list[str] = []
    uncounted: list[str] = []
    for t in tables:
        if t.get("component"):
            uncounted.append(f"{t['component']}/{t['name']}")
            continue
        live = table_size(t["name"])
        if live != t["count"]:
            problems.append(f"{t['name']}: {live} documents after import, snapshot has {t['count']}")
    return problems, uncounted


def plan(store: BucketClient, config: Config, *, snapshot: str, to: str) -> tuple[VerifiedSnapshot, FullRestoreResult]:
    """Steps 1-2: the verified snapshot and what a restore would do (nothing written)."""
    require_deployment_url(to)  # before anything else, so a plan never shows a bogus target
    snap = verified_snapshot(store, config, snapshot, read_data=True)
    tables = [{"component": t.get("component", ""), "name": t["name"], "count": t["count"]} for t in snap.tables]
    return snap, FullRestoreResult(snap.ref.prefix, to, False, tables, restore_point=snap.manifest.restore_point)


def safety_export(config: Config, store: BucketClient, client: ConvexApi, to: str) -> str:
    """Step 3: export the target into the bucket and verify it; refuse to go on otherwise."""
    target_config = with_convex_url(config, to)
    try:
        manifest = export_snapshot(target_config, store, client=client, reason="safety")
    except DeedboxError as err:
        raise EnvironmentProblem(f"refusing to restore: the safety export of {to} failed ({err}); "
                                 "nothing was changed") from None
    prefix = manifest.object.folder
    try:
        verified_snapshot(store, target_config, prefix, read_data=True)
    except CheckFailed as err:
        raise CheckFailed(f"refusing to restore: the safety export is not verified ({err}); "
                          "nothing was changed") from None
    return prefix


def restore_full(config: Config, store: BucketClient, *, snapshot: str, to: str, yes: bool,
                 client_factory: Callable[[str], ConvexApi] | None = None, secrets: bool = True,
                 vault: Vault | None = None) -> FullRestoreResult:
    """Verify, (with ``yes``) safety-export, import ``replaceAll``, count, set variables, log."""
    snap, result = plan(store, config, snapshot=snapshot, to=to)
    restore_vars = secrets and config.backups.secrets is not None
    if not yes:
        if restore_vars:
            result.secrets = [{"key": s.name, "state": "would set" if s.lives_in == "convex" else "external"}
                              for s in keys_of(config)]
        return result
    client = (client_factory or _client_for(config))(to)
    result.safety_snapshot = safety_export(config, store, client, to)
    with local_copy(store, snap) as path:
        try:
            result.written = client.import_zip(path, mode="replaceAll")
        except ConvexError as err:
            raise EnvironmentProblem(f"import into {to} failed ({err}); the safety export "
                                     f"{result.safety_snapshot} holds the state before it") from None
    result.applied = True
    result.count_problems, result.uncounted = count_problems(result.tables, client.table_size)
    if restore_vars:
        _restore_variables(config, vault, client, snap, result)
    try:
        result.log_key = write_log(store, "full", with_convex_url(config, to).source.convex.deployment, {
            "snapshot": snap.ref.prefix, "target": to, "mode": "replaceAll", "written": result.written,
            "safety_snapshot": result.safety_snapshot, "count_problems": result.count_problems,
            "uncounted": result.uncounted, "secrets": result.secrets,
            "secrets_problem": result.secrets_problem, "ok": result.ok})
    except DeedboxError as err:
        raise EnvironmentProblem(f"restored {snap.ref.prefix} into {to} (safety export {result.safety_snapshot}), "
                                 f"but the restore log could not be written: {err}") from None
    return result


def _restore_variables(config: Config, vault: Vault | None, client: ConvexApi, snap: VerifiedSnapshot,
                       result: FullRestoreResult) -> None:
    """Step 6; a failure is recorded (the data restore stands, the result is not ok)."""
    try:
        items = plan_restore(config, vault or Vault(config), client.list_environment_variables(),
                             versions=secret_versions(snap.manifest.restore_point))
        items = apply_restore(client, items)
    except DeedboxError as err:
        result.secrets_problem = f"environment variables not restored: {err}"
        return
    result.secrets = [i.to_dict() for i in items]


def _client_for(config: Config) -> Callable[[str], ConvexApi]:
    """The target's key: the source's deploy key when restoring in place, else the CLI's variables."""
    def make(url: str) -> ConvexApi:
        same = url.rstrip("/") == config.source.convex.url.rstrip("/")
        return ConvexClient.from_env(url, key_env=config.source.convex.deploy_key.env if same else None)
    return make
