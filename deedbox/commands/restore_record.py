"""``deedbox restore record``: print one document from a verified snapshot; ``--apply`` puts it back.

stdout carries only the document (one JSONL line, in the snapshot's encoding) so it can be piped;
what happened goes to stderr. Exit 0 found (and applied), 1 not found / refused / unverified,
2 usage or environment.
"""

from __future__ import annotations

import sys
from pathlib import Path


def run(*, config: Path, table: str, id: str, snapshot: str, component: str | None, apply: bool,
        bucket: str | None, format: str) -> int:
    from deedbox.bucket.client import BucketClient
    from deedbox.commands.output import emit, load_config
    from deedbox.restore.record import restore_record

    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    comp = (component or "").strip("/")
    result = restore_record(cfg, store, table=table, doc_id=id, snapshot=snapshot, component=comp, apply=apply)
    line = result.line.decode("utf-8").rstrip("\n")
    if format == "json":
        emit("json", {"snapshot": result.snapshot, "table": table, "id": id, "component": comp,
                      "encoding": result.encoding, "line": line, "applied": result.applied,
                      "safety_snapshot": result.safety_snapshot, "log": result.log_key,
                      "written": result.written}, [])
        return 0
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    sys.stderr.write(f"found in {result.snapshot} ({result.encoding} encoding)\n")
    if result.applied:
        sys.stderr.write(f"restored into {cfg.source.convex.url} with its original _id "
                         f"(safety export {result.safety_snapshot}; logged at {result.log_key})\n")
    else:
        sys.stderr.write("not applied: add --apply to put it back into the live deployment\n")
    return 0
