"""``deedbox secrets push|verify --env-file``: versions only for changed keys; states per key."""

from __future__ import annotations

import sys
from pathlib import Path


def run(*, action: str, config: Path, env_file: Path, format: str, bucket: str | None = None) -> int:
    from deedbox.commands.output import emit, load_config
    from deedbox.secrets.dotenv import parse_env_file
    from deedbox.secrets.vault import IN_SYNC, Vault, check

    cfg = load_config(config)
    env = parse_env_file(env_file)
    results = check(cfg, env, Vault(cfg), push=action == "push")
    ok = all(r.state == IN_SYNC and r.replicated for r in results)
    recorded = _record(cfg, results, ok, bucket) if action == "verify" else None
    doc = {"action": action, "ok": ok, "recorded": recorded,
           "keys": [{"key": r.key, "secret": r.secret, "state": r.state, "action": r.action,
                     "replicas": dict(r.replicas)} for r in results]}
    lines = [f"{r.key:<28} {r.state:<17}" + (f" {r.action}" if action == "push" else "")
             + "".join(f" replica {region}: {status}" for region, status in r.replicas)
             for r in results]
    lines.append(("all keys in sync" if ok else "NOT in sync") + (f"; recorded {recorded}" if recorded else ""))
    emit(format, doc, lines)
    return 0 if ok else 1


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
