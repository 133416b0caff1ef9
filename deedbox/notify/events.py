"""What happened, as one ``Event``: derived from an operation's outcome, never from I/O (pure).

``derive(operation, exit_code, document, error)`` reads what the command left behind: its exit
code, the JSON document it emitted (the same one ``--format json`` prints; None when it raised
before emitting) and the one-line error it raised. Exit 0 is ``success``; exit 1 is ``failure``,
or ``stale`` for a ``status`` whose document says not fresh (``stale`` comes from nowhere else);
exit 2 (the job could not run) and 130 (interrupted) are failures too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FAILURE, STALE, SUCCESS = "failure", "stale", "success"
KINDS = (FAILURE, STALE, SUCCESS)
OPERATIONS = ("export", "verify", "media-sync", "secrets-verify", "status", "drill", "test")
MAX_DETAILS = 5

# the command that reruns each operation, named in what-to-do lines
RERUN = {"export": "deedbox export --reason manual", "verify": "deedbox verify --snapshot latest --read-data",
         "media-sync": "deedbox media sync", "secrets-verify": "deedbox secrets verify --from convex",
         "status": "deedbox status", "drill": "deedbox drill run", "test": "deedbox notify test"}
_LABEL = {"media-sync": "media sync", "secrets-verify": "secrets verify", "drill": "drill run"}


@dataclass(frozen=True)
class Event:
    """One notification's content; no secret values (the documents it is derived from hold none).

    ``evidence_key`` is the bucket key to open first (a manifest, a record, a drill report);
    ``next_steps`` are one or two concrete lines; ``details`` at most ``MAX_DETAILS`` lines of
    what went wrong (or, on success, what was done).
    """

    operation: str
    kind: str
    title: str
    exit_code: int
    failed_step: str | None = None
    evidence_key: str | None = None
    next_steps: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    bucket: str | None = None

    @property
    def evidence(self) -> str | None:
        """The evidence as an address: ``s3://bucket/key`` when the bucket is known, else the key."""
        if self.evidence_key is None:
            return None
        return f"s3://{self.bucket}/{self.evidence_key}" if self.bucket else self.evidence_key


def wanted(event: Event, on: Sequence[str]) -> bool:
    """Whether ``notifications.on`` asks for this event (a ``test`` event always goes out)."""
    return event.operation == "test" or event.kind in on


def derive(operation: str, exit_code: int, document: Mapping[str, Any] | None, error: str | None) -> Event:
    """The event of one run of ``operation`` (see the module docstring for the mapping)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    build = _FROM_DOCUMENT.get(operation)
    if document is None or build is None:
        return not_run(operation, exit_code, error)
    return build(exit_code, document)


def probe_event() -> Event:
    """What ``deedbox notify test`` sends."""
    return Event("test", SUCCESS, "test notification", 0, details=("sent by `deedbox notify test`",),
                 next_steps=("nothing to do: this message shows that deedbox's notifications reach this channel",))


def not_run(operation: str, exit_code: int, error: str | None) -> Event:
    """An operation that raised before it had a result (or succeeded without a document)."""
    label = _LABEL.get(operation, operation)
    rerun = RERUN[operation]
    if exit_code == 0:
        return Event(operation, SUCCESS, f"{label} succeeded", 0)
    if exit_code == 130:
        title, step = f"{label} was interrupted", f"rerun `{rerun}`; the job was cancelled or killed before it ended"
    elif exit_code == 1:
        title, step = f"{label} failed", f"read the error, fix what it names, then rerun `{rerun}`"
    else:
        title = f"{label} could not run"
        step = f"fix what the error names (credentials, network, the bucket, a key), then rerun `{rerun}`"
    return Event(operation, FAILURE, title, exit_code, failed_step=label,
                 details=(error,) if error else (), next_steps=(step,))


# ------------------------------------------------------------------------------- per operation

def _export(code: int, doc: Mapping[str, Any]) -> Event:
    if code != 0:
        return not_run("export", code, None)
    size = doc.get("size")
    detail = (f"{doc.get('tables')} tables, {doc.get('documents')} documents, "
              f"{doc.get('storage_files')} storage files, {size} bytes, reason {doc.get('reason')}")
    return Event("export", SUCCESS, f"export stored {doc.get('key')}", 0, evidence_key=doc.get("manifest"),
                 details=(detail,), bucket=doc.get("bucket"))


def _verify(code: int, doc: Mapping[str, Any]) -> Event:
    folder, mode = str(doc.get("snapshot", "")), doc.get("mode", "structure")
    manifest, bucket = (folder + "manifest.json" if folder else None), doc.get("bucket")
    if code == 0 and doc.get("ok"):
        return Event("verify", SUCCESS, f"snapshot verified ({mode})", 0, evidence_key=manifest, bucket=bucket,
                     details=(folder,))
    problems = [str(p) for p in doc.get("problems", ())]
    return Event("verify", FAILURE, f"snapshot failed verification ({mode})", code,
                 failed_step=f"verify ({mode})", details=_capped(problems), evidence_key=manifest, bucket=bucket,
                 next_steps=(
                     "take a new export (`deedbox export --reason manual`) and check it with "
                     "`deedbox verify --snapshot latest --read-data`",
                     f"do not restore from {folder}: it differs from its manifest"))


def _media(code: int, doc: Mapping[str, Any]) -> Event:
    mode, classes = doc.get("mode", "sync"), doc.get("classes") or {}
    record, bucket = doc.get("record_key"), doc.get("bucket")
    if code == 0 and doc.get("ok"):
        return Event("media-sync", SUCCESS, f"media {mode}: {len(classes)} classes up to date", 0,
                     evidence_key=record, bucket=bucket)
    bad = {name: c for name, c in classes.items() if c.get("missing") or c.get("failed")}
    lines = [f"{name}: " + ", ".join(f"{c[k]} {k}" for k in ("missing", "lagging", "failed") if c.get(k))
             for name, c in bad.items()]
    lines += [str(e) for e in doc.get("errors", ())]
    if mode == "replicate" and any(c.get("missing") for c in bad.values()):
        todo = ("copy what replication missed: `deedbox media sync --backfill`",
                "then check the replication rule and its role in the source account (docs/topology.md)")
    else:
        todo = ("rerun `deedbox media sync` (it copies only what is missing)",
                "if objects fail again, check the source credentials and the errors in the record")
    return Event("media-sync", FAILURE, f"media {mode} NOT ok: {', '.join(bad) or 'errors'}", code,
                 failed_step="media sync" + (f": {', '.join(bad)}" if bad else ""),
                 details=_capped(lines, doc.get("error_count", 0) - len(doc.get("errors", ()))),
                 next_steps=todo, evidence_key=record, bucket=bucket)


_PASSING = ("in-sync", "not-checked")
_REPLICA_OK = ("InSync", "InProgress")
_SECRET_TODO = {  # most serious first; the first two states found give the what-to-do lines
    "not-provisioned": "the vault has no secret for {keys}: run `pulumi up` (the topology creates it), "
                       "then `deedbox secrets push --from convex`",
    "missing-in-env": "the live environment lost {keys}: put it back with "
                      "`deedbox secrets restore --to <deployment URL> --keys <KEY> --yes`",
    "drift": "{keys} changed live: if intended, store it with `deedbox secrets push --from convex` "
             "(`--env-file` for external keys); if not, find out who changed it",
    "missing-in-vault": "store {keys}: `deedbox secrets push --from convex`",
    "replica": "a vault replica of {keys} is not in sync: check Secrets Manager replication in that region",
}


def _secrets(code: int, doc: Mapping[str, Any]) -> Event:
    keys, record = list(doc.get("keys") or ()), doc.get("recorded")
    if code == 0 and doc.get("ok"):
        return Event("secrets-verify", SUCCESS, f"secrets in sync ({len(keys)} keys)", 0, evidence_key=record)
    states: dict[str, list[str]] = {}
    lines = []
    for k in keys:
        for state, line in _secret_problems(k):
            states.setdefault(state, []).append(str(k.get("key")))
            lines.append(line)
    names = sorted({n for found in states.values() for n in found})
    todo = tuple(text.format(keys=", ".join(states[s])) for s, text in _SECRET_TODO.items() if s in states)[:2]
    return Event("secrets-verify", FAILURE, f"secrets NOT in sync: {', '.join(names) or 'see details'}", code,
                 failed_step="secrets verify" + (f": {', '.join(names)}" if names else ""),
                 details=_capped(lines), next_steps=todo or (f"rerun `{RERUN['secrets-verify']}`",), evidence_key=record)


def _secret_problems(key: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    if key.get("state") not in _PASSING:
        found.append((str(key.get("state")), f"{key.get('key')}: {key.get('state')}"))
    found += [("replica", f"{key.get('key')}: replica {region} {status}")
              for region, status in (key.get("replicas") or {}).items() if status not in _REPLICA_OK]
    return found


_FRESHEN = {"backend": ("deedbox export --reason manual", "deedbox-export.yml"),
            "media": ("deedbox media sync", "deedbox-media-sync.yml"),
            "secrets": ("deedbox secrets verify --from convex", "deedbox-secrets-verify.yml")}


def _status(code: int, doc: Mapping[str, Any]) -> Event:
    classes = list(doc.get("classes") or ())
    stale = [c for c in classes if not c.get("fresh")]
    if code == 0 and not stale:
        return Event("status", SUCCESS, "all backups fresh", 0, bucket=doc.get("bucket"),
                     details=tuple(_age(c) for c in classes))
    names = [str(c.get("data_class")) for c in stale]
    todo = [_FRESHEN[n] for n in names if n in _FRESHEN]
    return Event("status", STALE if code == 1 and stale else FAILURE, f"backups STALE: {', '.join(names)}", code,
                 failed_step="freshness: " + ", ".join(names), evidence_key=_status_evidence(stale),
                 details=_capped([_age(c) + (f" ({c['detail']})" if c.get("detail") else "") for c in stale]),
                 bucket=doc.get("bucket"), next_steps=(
                     "take fresh backups now: " + ", ".join(f"`{cmd}`" for cmd, _ in todo),
                     "then find out why the scheduled job did not: the Actions runs of "
                     + ", ".join(wf for _, wf in todo)) if todo else ())


def _age(c: Mapping[str, Any]) -> str:
    age = c.get("age_hours")
    shown = "no backup" if age is None else f"{age:.1f}h old"
    return f"{c.get('data_class')}: {shown}, limit {c.get('limit_hours')}h"


def _status_evidence(stale: Sequence[Mapping[str, Any]]) -> str | None:
    """Where the first stale class's newest evidence lives: a snapshot's manifest or a records folder."""
    if not stale:
        return None
    first = str(stale[0].get("detail") or "").split(";", 1)[0].strip()
    if first.startswith("backend/") and first.endswith("/"):
        return first + "manifest.json"
    words = [w for w in first.split() if w.startswith("records/")]
    return words[0] if words else None


_DRILL_TODO = {
    "verify snapshot": "the newest snapshot does not verify: take a new export (`deedbox export --reason manual`) "
                       "and run `deedbox verify --snapshot latest --read-data`",
    "stack up": "the drill environment could not be created: check the drill credentials and `drills.target` "
                "(docs/drill.md), then rerun `deedbox drill run`",
    "code push": "the app code did not deploy to the drill deployment: run `drills.code_push` by hand to see why",
    "restore secrets": "the vault's keys did not reach the drill deployment: run "
                       "`deedbox secrets verify --from convex`, then rerun `deedbox drill run`",
    "import snapshot": "the snapshot does not restore: do not rely on it; take a new export and rerun "
                       "`deedbox drill run`",
    "round trip": "the restored data differs from the snapshot: do not rely on it; take a new export and rerun "
                  "`deedbox drill run`",
    "media": "restored documents point at media the backup lacks: run `deedbox media sync` (`--backfill` in "
             "replicate mode)",
    "checks": "the restored app does not answer as expected: open the report to see which check failed and why",
    "web app": "the restored web app does not work: open the report's browser steps and screenshots",
    "teardown": "the drill stack was not destroyed: run `deedbox drill reap`",
    "report upload": "the drill report was not stored: check the runner's write access to drills/ in the bucket",
}


def _drill(code: int, doc: Mapping[str, Any]) -> Event:
    drill_id, keys = doc.get("drill_id"), [str(k) for k in doc.get("report_keys") or ()]
    evidence = next((k for suffix in ("report.html", "report.md", "report.json") for k in keys
                     if k.endswith(suffix)), None)
    if code == 0 and doc.get("status") == "passed":
        return Event("drill", SUCCESS, f"drill {drill_id} passed", 0, evidence_key=evidence,
                     details=(f"snapshot {doc.get('snapshot')}, RPO {doc.get('rpo_s')}s, RTO {doc.get('rto_s')}s",))
    steps = {s.get("name"): s for s in doc.get("steps") or ()}
    failed = doc.get("failed_step")
    lines = [f"{failed}: {steps[failed].get('detail')}"] if failed in steps else []
    lines += [f"check {c.get('name')}: {c.get('detail')}" for c in doc.get("checks") or () if c.get("status") == "failed"]
    todo = [_DRILL_TODO.get(str(failed), "open the report, fix the failed step, then rerun `deedbox drill run`")]
    if failed != "teardown" and steps.get("teardown", {}).get("status") == "failed":
        todo.append(_DRILL_TODO["teardown"])
    if not keys:
        lines.append("the report was not uploaded (see the job's log)")
    title = f"drill {drill_id} " + (f"FAILED at `{failed}`" if failed else
                                    "interrupted" if code == 130 else "FAILED")
    return Event("drill", FAILURE, title, code, failed_step=failed, evidence_key=evidence,
                 details=_capped(lines), next_steps=tuple(todo[:2]))


def _capped(lines: Sequence[str], hidden: int = 0) -> tuple[str, ...]:
    more = max(len(lines) - MAX_DETAILS, 0) + max(hidden, 0)
    shown = list(lines[:MAX_DETAILS])
    return tuple(shown + ([f"… and {more} more"] if more > 0 else []))


_FROM_DOCUMENT: dict[str, Callable[[int, Mapping[str, Any]], Event]] = {
    "export": _export, "verify": _verify, "media-sync": _media, "secrets-verify": _secrets,
    "status": _status, "drill": _drill,
}
