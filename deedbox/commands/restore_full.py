"""``deedbox restore full``: verified snapshot → safety export of the target → replaceAll import.

Without ``--yes`` it only shows the plan (exit 0, nothing written). Exit 1 when the snapshot or
the safety export fails verification or counts differ after the import; 2 for environment.
"""

from __future__ import annotations

from pathlib import Path


def run(*, config: Path, snapshot: str, to: str, yes: bool, bucket: str | None, format: str,
        secrets: bool = True) -> int:
    from deedbox.bucket.client import BucketClient
    from deedbox.commands.output import emit, load_config
    from deedbox.restore.full import cutover_steps, restore_full

    cfg = load_config(config)
    store = BucketClient.resolve(cfg, bucket)
    r = restore_full(cfg, store, snapshot=snapshot, to=to, yes=yes, secrets=secrets)
    steps = cutover_steps(to, cfg.source.convex.url) if r.applied else []
    doc = {"snapshot": r.snapshot, "target": to, "applied": r.applied, "tables": r.tables,
           "safety_snapshot": r.safety_snapshot, "written": r.written, "ok": r.ok,
           "count_problems": r.count_problems, "uncounted": r.uncounted, "log": r.log_key,
           "cutover": steps, "secrets": r.secrets, "secrets_problem": r.secrets_problem,
           "restore_point": r.restore_point}
    emit(format, doc, _lines(r, to, steps))
    return 0 if r.ok else 1


def _lines(r, to: str, steps: list[str]) -> list[str]:
    from deedbox.restore.point import describe as describe_point

    total = sum(t["count"] for t in r.tables)
    head = [f"snapshot {r.snapshot}: verified (read-data), {len(r.tables)} tables, {total} documents",
            "restore point:"] + [f"  {line}" for line in describe_point(r.snapshot, r.restore_point)]
    if not r.applied:
        would = [s["key"] for s in r.secrets if s["state"] == "would set"]
        return head + [
            f"would: 1) export {to} into the bucket as a safety snapshot and verify it,",
            f"       2) import the snapshot into {to} with mode replaceAll (every table replaced),",
            "       3) compare per-table counts with the manifest,",
            "       4) " + (f"set {len(would)} environment variables from the vault ({', '.join(would)}), at the "
                          "snapshot's restore point versions where they still exist." if would else
                          "leave environment variables alone (--no-secrets, or no backups.secrets)."),
            "nothing was changed; run again with --yes to do it",
        ]
    lines = head + [f"safety export: {r.safety_snapshot} (verified)",
                    f"imported into {to}: {r.written} documents (replaceAll)"]
    lines += [f"COUNT MISMATCH: {p}" for p in r.count_problems] or ["counts match the manifest"]
    if r.secrets_problem:
        lines.append(f"ENVIRONMENT VARIABLES: {r.secrets_problem}")
    elif r.secrets:
        from deedbox.secrets.restore import RestoreItem, summary_lines

        items = [RestoreItem(s["key"], s["secret"], s["state"], s["source"], s["version_id"], None, s["matches"])
                 for s in r.secrets]
        lines += ["environment variables:"] + [f"  {line}" for line in summary_lines(items, applied=True)]
    if r.uncounted:
        lines.append(f"not counted (component tables): {', '.join(r.uncounted)}")
    lines.append(f"logged: {r.log_key}")
    return lines + ["cutover:"] + [f"  {i}. {s}" for i, s in enumerate(steps, 1)]
