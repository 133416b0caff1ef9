"""``deedbox secrets push|verify [--from convex] [--env-file PATH]`` and ``secrets restore --to URL``.

push/verify: versions only for changed keys; a state per key; exit 1 when verify finds drift or a
missing key. restore: a dry run lists each key and whether it would change; ``--yes`` sets the
variables in one transaction and reads them back (exit 1 if a value did not arrive).
"""

from __future__ import annotations

import sys
from pathlib import Path


def run(*, action: str, config: Path, env_file: Path | None, from_: str | None, format: str,
        bucket: str | None = None) -> int:
    from deedbox.commands.output import emit, load_config
    from deedbox.secrets.dotenv import parse_env_file
    from deedbox.secrets.live import live_values
    from deedbox.secrets.vault import NOT_CHECKED, PASSING, Vault, check

    cfg = load_config(config)
    if cfg.backups.secrets is None:
        from deedbox.errors import UsageError
        raise UsageError(f"{cfg.path or 'backup.yaml'} has no backups.secrets: no keys to {action}")
    file_values = parse_env_file(env_file) if env_file is not None else None
    convex_env = _source_env(cfg) if from_ == "convex" else None
    values, covered = live_values(cfg, env_file=file_values, convex_env=convex_env)
    results = check(cfg, values, Vault(cfg), push=action == "push", covered=covered)
    ok = all(r.state in PASSING and r.replicated for r in results)
    recorded = _record(cfg, results, ok, bucket) if action == "verify" else None
    sources = [s for s, given in (("convex", convex_env is not None), ("env-file", file_values is not None)) if given]
    doc = {"action": action, "ok": ok, "recorded": recorded, "sources": sources,
           "keys": [{"key": r.key, "secret": r.secret, "state": r.state, "action": r.action,
                     "replicas": dict(r.replicas)} for r in results]}
    lines = [f"{r.key:<28} {r.state:<17}" + (f" {r.action}" if action == "push" else "")
             + "".join(f" replica {region}: {status}" for region, status in r.replicas)
             for r in results]
    unchecked = [r.key for r in results if r.state == NOT_CHECKED]
    if unchecked:
        lines.append(f"not checked (lives_in: external; pass --env-file): {', '.join(unchecked)}")
    lines.append(("all keys in sync" if ok else "NOT in sync") + (f"; recorded {recorded}" if recorded else ""))
    emit(format, doc, lines)
    return 0 if ok else 1


def restore(*, config: Path, to: str, keys: list[str] | None, key_env: str | None, yes: bool,
            snapshot: str | None, bucket: str | None, format: str) -> int:
    from deedbox.commands.output import emit, load_config
    from deedbox.convex.client import ConvexClient
    from deedbox.secrets.restore import apply_restore, plan_restore, summary_lines
    from deedbox.secrets.vault import Vault

    cfg = load_config(config)
    if cfg.backups.secrets is None:
        from deedbox.errors import UsageError
        raise UsageError(f"{cfg.path or 'backup.yaml'} has no backups.secrets: the vault holds nothing to restore")
    versions, point_of = _versions(cfg, snapshot, bucket)
    client = ConvexClient.from_env(to, key_env=key_env or _key_env_for(cfg, to))
    items = plan_restore(cfg, Vault(cfg), client.list_environment_variables(), keys=keys, versions=versions)
    if yes:
        items = apply_restore(client, items)
    doc = {"target": client.url, "applied": yes, "restore_point": point_of,
           "keys": [i.to_dict() for i in items], "ok": True}
    lines = summary_lines(items, applied=yes)
    if not yes:
        lines.append("nothing was changed; run again with --yes to set them")
    emit(format, doc, lines)
    return 0


def _key_env_for(cfg, url: str) -> str | None:
    """The source's own key variable when restoring into the source deployment."""
    return cfg.source.convex.deploy_key.env if url.rstrip("/") == cfg.source.convex.url else None


def _source_env(cfg) -> dict[str, str]:
    """The production deployment's environment variables (values stay in this process)."""
    from deedbox.convex.client import ConvexClient

    return ConvexClient.from_env(cfg.source.convex.url, key_env=cfg.source.convex.deploy_key.env) \
        .list_environment_variables()


def _versions(cfg, snapshot: str | None, bucket: str | None) -> tuple[dict[str, str] | None, str | None]:
    """The vault versions a snapshot's restore point names (``--snapshot``), else current."""
    if snapshot is None:
        return None, None
    from deedbox.bucket.client import BucketClient
    from deedbox.restore.common import verified_snapshot
    from deedbox.restore.point import secret_versions

    snap = verified_snapshot(BucketClient.resolve(cfg, bucket), cfg, snapshot, read_data=False)
    return secret_versions(snap.manifest.restore_point), snap.ref.prefix


def _record(cfg, results, ok: bool, bucket: str | None) -> str | None:
    """Record the verification in the bucket so ``status`` can judge its age (best effort)."""
    from deedbox.bucket.client import BucketClient
    from deedbox.bucket.records import write_record
    from deedbox.errors import EnvironmentProblem

    try:
        store = BucketClient.resolve(cfg, bucket)
        return write_record(store, "secrets-verify", {
            "ok": ok, "keys": {r.key: r.state for r in results}})
    except EnvironmentProblem as err:
        print(f"deedbox: warning: verification not recorded: {err}", file=sys.stderr)
        return None
