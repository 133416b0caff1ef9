"""Semantic rules about references between blocks, and the advisory warnings (see ``rules``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from deedbox.config.diagnostics import Diagnostic
from deedbox.config.registry import at, get, rule
from deedbox.config.secretscan import describe
from deedbox.config.yamlread import Document


@rule("reference")
def media_references(doc: Document) -> Iterator[Diagnostic]:
    """`backups.media` needs `source.media`, and the classes it names exist in `source.media.classes`."""
    media = get(doc.data, ("backups", "media"))
    source = get(doc.data, ("source", "media"))
    if media is None:
        return
    if source is None:
        yield at(doc, ("backups", "media"), "reference", "backups.media needs source.media (the bucket to copy from)")
        return
    for i, name in enumerate(media.get("classes", ())):
        if name not in source["classes"]:
            known = ", ".join(describe(k) for k in source["classes"])
            yield at(doc, ("backups", "media", "classes", i), "reference",
                     f"media class {describe(name)} is not defined in source.media.classes (defined: {known})")


@rule("media-mode")
def media_mode(doc: Document) -> Iterator[Diagnostic]:
    """`replicate` needs an AWS bucket (no `endpoint_url`); `sync` needs `backups.media.schedule`."""
    mode = get(doc.data, ("backups", "media", "mode"))
    if mode == "replicate" and get(doc.data, ("source", "media", "endpoint_url")) is not None:
        yield at(doc, ("source", "media", "endpoint_url"), "media-mode",
                 "S3 replication only works from an AWS bucket; use backups.media.mode: sync for an endpoint_url store")
    if mode == "sync" and get(doc.data, ("backups", "media", "schedule")) is None:
        yield at(doc, ("backups", "media", "mode"), "media-mode",
                 "sync mode needs backups.media.schedule (when the runner copies)")


@rule("replication-takeover")
def replication_takeover(doc: Document) -> Iterator[Diagnostic]:
    """`replicate` mode replaces the media bucket's one replication configuration: opt in with `source.media.take_over_replication: true` (the source program refuses otherwise)."""
    if get(doc.data, ("backups", "media", "mode")) == "replicate" \
            and get(doc.data, ("source", "media", "endpoint_url")) is None \
            and not get(doc.data, ("source", "media", "take_over_replication"), False):
        yield at(doc, ("backups", "media", "mode"), "replication-takeover",
                 "replicate mode replaces any replication configuration the media bucket has (a bucket has "
                 "one); set source.media.take_over_replication: true to confirm (`deedbox doctor` shows the "
                 "current one). Until then the source program refuses to apply", "warning")


@rule("media-credentials")
def media_credentials(doc: Document) -> Iterator[Diagnostic]:
    """An `endpoint_url` store needs both credential references; on AWS they are unused (warning)."""
    source = get(doc.data, ("source", "media"))
    if source is None:
        return
    refs = [k for k in ("access_key_id", "secret_access_key") if k in source]
    if "endpoint_url" in source:
        for k in ("access_key_id", "secret_access_key"):
            if k not in source:
                yield at(doc, ("source", "media"), "media-credentials",
                         f"endpoint_url needs source.media.{k}: {{env: NAME}} (the store is not AWS, so no role can be used)")
    elif refs:
        yield at(doc, ("source", "media", refs[0]), "media-credentials",
                 "credential references are only used with endpoint_url; AWS buckets are read through the runner role",
                 "warning", key=True)


@rule("runner")
def runner(doc: Document) -> Iterator[Diagnostic]:
    """A `github-actions` runner needs the `repository` whose workflows may assume its role."""
    if doc.data["runner"]["kind"] == "github-actions" and "repository" not in doc.data["runner"]:
        yield at(doc, ("runner",), "runner", "runner kind github-actions needs repository (owner/name) to trust its workflows")


@rule("drill-target")
def drill_target(doc: Document) -> Iterator[Diagnostic]:
    """A `self-hosted` drill target needs `url` and `admin_key`; on `convex-cloud` they are unused (warning)."""
    target = get(doc.data, ("drills", "target"))
    if target is None:
        return
    if target.get("kind") == "self-hosted":
        for k in ("url", "admin_key"):
            if k not in target:
                yield at(doc, ("drills", "target"), "drill-target",
                         f"a self-hosted drill target needs {k}: {{env: NAME}}")
    else:
        for k in ("url", "admin_key"):
            if k in target:
                yield at(doc, ("drills", "target", k), "drill-target",
                         f"{k} is only used by a self-hosted drill target; it is ignored for convex-cloud", "warning", key=True)


@rule("duplicate-name")
def duplicate_names(doc: Document) -> Iterator[Diagnostic]:
    """Secret key names and drill check names are unique."""
    keys = get(doc.data, ("backups", "secrets", "keys"), [])
    names = [k if isinstance(k, str) else k["name"] for k in keys]
    checks = [c["name"] for c in get(doc.data, ("drills", "checks"), [])]
    for base, values, what in ((("backups", "secrets", "keys"), names, "secret"),
                               (("drills", "checks"), checks, "drill check")):
        seen: Counter[str] = Counter()
        for i, name in enumerate(values):
            seen[name] += 1
            if seen[name] == 2:
                yield at(doc, base + (i,), "duplicate-name", f"{what} {describe(name)} is listed twice")


@rule("compliance-trial")
def compliance_trial(doc: Document) -> Iterator[Diagnostic]:
    """Warning: a compliance lock on an unprotected (trial) stack cannot be undone; governance suits trials."""
    dest = doc.data["destination"]
    if dest["immutability"]["mode"] == "compliance" and dest.get("protect") is False:
        yield at(doc, ("destination", "immutability", "mode"), "compliance-trial",
                 f"compliance mode cannot be undone: every object stays undeletable for {dest['immutability']['days']} days, "
                 "even on this unprotected trial stack; use governance for trials", "warning")


@rule("no-drills")
def no_drills(doc: Document) -> Iterator[Diagnostic]:
    """Warning: without drills (or without checks) nothing proves the backups restore."""
    drills = doc.data.get("drills")
    if drills is None:
        yield at(doc, (), "no-drills", "no drills configured: backups are never proven to restore", "warning")
    elif not drills.get("checks"):
        yield at(doc, ("drills",), "no-drills", "drills have no checks: a restore is only proven to import", "warning")


@rule("no-notifications")
def no_notifications(doc: Document) -> Iterator[Diagnostic]:
    """Warning: drills are configured but nobody is notified when they fail."""
    notes = doc.data.get("notifications")
    if "drills" in doc.data and not (notes and (notes.get("email") or notes.get("slack_webhook") or notes.get("sns_topic_arn"))):
        yield at(doc, ("notifications",) if notes else (), "no-notifications",
                 "nobody is notified of failed drills or stale backups; add notifications", "warning")


@rule("drill-web-step")
def drill_web_steps(doc: Document) -> Iterator[Diagnostic]:
    """A browser step does exactly one of `goto`, `fill`, `click`, `expect`; counts in `expect` need a `selector`."""
    for i, step in enumerate(get(doc.data, ("drills", "web", "steps"), [])):
        actions = [k for k in ("goto", "fill", "click", "expect") if k in step]
        if len(actions) != 1:
            what = "none" if not actions else ", ".join(actions)
            yield at(doc, ("drills", "web", "steps", i), "drill-web-step",
                     f"a browser step does exactly one of goto, fill, click, expect (this one: {what})")
            continue
        expect = step.get("expect")
        if expect is None:
            continue
        if not {"text", "selector", "min_count", "count"} & set(expect):
            yield at(doc, ("drills", "web", "steps", i, "expect"), "drill-web-step",
                     "expect needs `text` or `selector`")
        for k in ("min_count", "count"):
            if k in expect and "selector" not in expect:
                yield at(doc, ("drills", "web", "steps", i, "expect", k), "drill-web-step",
                         f"expect.{k} counts elements: it needs a `selector`", key=True)
        if "min_count" in expect and "count" in expect:
            yield at(doc, ("drills", "web", "steps", i, "expect", "count"), "drill-web-step",
                     "give `count` or `min_count`, not both", key=True)


def _value_refs(doc: Document) -> Iterator[tuple[tuple, object]]:
    web = get(doc.data, ("drills", "web"))
    if web is None:
        return
    for name, value in web.get("env", {}).items():
        yield ("drills", "web", "env", name), value
    for i, step in enumerate(web.get("steps", [])):
        if isinstance(step.get("fill"), dict) and "value" in step["fill"]:
            yield ("drills", "web", "steps", i, "fill", "value"), step["fill"]["value"]


@rule("secret-reference")
def secret_references(doc: Document) -> Iterator[Diagnostic]:
    """A `{secret: KEY}` value names a key of `backups.secrets.keys` (the vault holds nothing else)."""
    keys = get(doc.data, ("backups", "secrets", "keys"), [])
    names = {k if isinstance(k, str) else k["name"] for k in keys}
    for path, value in _value_refs(doc):
        if isinstance(value, dict) and "secret" in value and value["secret"] not in names:
            known = ", ".join(sorted(describe(n) for n in names)) or "none"
            yield at(doc, path + ("secret",), "secret-reference",
                     f"{describe(value['secret'])} is not a key of backups.secrets.keys (keys: {known})")


@rule("drill-media")
def drill_media(doc: Document) -> Iterator[Diagnostic]:
    """`drills.media` references name media classes that are backed up (`backups.media`)."""
    refs = get(doc.data, ("drills", "media", "references"), [])
    if not refs:
        return
    if get(doc.data, ("backups", "media")) is None:
        yield at(doc, ("drills", "media"), "drill-media", "drills.media needs backups.media (nothing else backs media up)")
        return
    source = get(doc.data, ("source", "media", "classes"), {}) or {}
    chosen = get(doc.data, ("backups", "media", "classes"))
    backed = [c for c in source if chosen is None or c in chosen]
    for i, ref in enumerate(refs):
        if ref["class"] not in backed:
            known = ", ".join(describe(c) for c in backed) or "none"
            yield at(doc, ("drills", "media", "references", i, "class"), "drill-media",
                     f"media class {describe(ref['class'])} is not backed up (backed-up classes: {known})")
