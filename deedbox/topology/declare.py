"""``declare(cfg)``: every component of the topology, wired together, and the stack outputs."""

from __future__ import annotations

from typing import Any

import pulumi

from deedbox.config.model import Config
from deedbox.topology.layout import Layout, layout
from deedbox.topology.names import PREFIXES
from deedbox.topology.providers import destination_provider, using
from deedbox.topology.store import BackupStore, BackupStoreArgs


def declare(cfg: Config) -> dict[str, Any]:
    """Declare the backup topology of ``cfg``; return the outputs to export (name -> value)."""
    plan = layout(cfg)
    dest = destination_provider(cfg)
    store = _store(cfg, plan, pulumi.ResourceOptions.merge(using(dest), None))
    return _outputs(plan, store)


def _store(cfg: Config, plan: Layout, opts: pulumi.ResourceOptions) -> BackupStore:
    dest = cfg.destination
    return BackupStore(f"{cfg.name}-store", BackupStoreArgs(
        bucket=plan.store_bucket, account=plan.account, lock_mode=dest.immutability.mode,
        lock_days=dest.immutability.days, storage=dest.storage, destroy_exempt=plan.destroy_exempt,
        config_exempt=plan.config_exempt, key_users=plan.key_users(), protect=dest.protect,
    ), opts)


def _outputs(plan: Layout, store: BackupStore) -> dict[str, Any]:
    return {
        "store_bucket": store.bucket_name,
        "store_bucket_arn": store.arn,
        "store_key_arn": store.key_arn,
        "deedbox": {
            "schema": 1, "bucket": plan.store_bucket, "region": plan.region, "prefixes": dict(PREFIXES),
        },
    }
