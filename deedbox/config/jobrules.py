"""Semantic rules about who runs the scheduled jobs (``runner.kind: aws``) and who hears the
dead-man's switch (see ``rules`` for the conventions: one function per rule id, its docstring is
its documentation, it points at the node to change)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from deedbox.config.diagnostics import Diagnostic
from deedbox.config.jobs import jobs
from deedbox.config.model import from_dict
from deedbox.config.registry import at, get, rule
from deedbox.config.secretscan import describe
from deedbox.config.yamlread import Document

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?"
PINNED = (
    re.compile(rf"^{_NAME}===?[A-Za-z0-9.+!_-]+$"),  # deedbox==0.1.0
    re.compile(rf"^({_NAME}@)?git\+https://[^@#?]+@[0-9a-f]{{40}}(#[A-Za-z0-9=&._-]*)?$"),  # a full commit sha
    re.compile(rf"^({_NAME}@)?https://\S+\.(whl|tar\.gz|zip)#sha256=[0-9a-f]{{64}}$"),  # an archive, its digest
)
PINNED_HELP = ("deedbox==<version>, a VCS URL at a full commit (git+https://…@<40-hex sha>) or an archive URL "
               "with #sha256=<digest>")


def _kind(doc: Document) -> str:
    return str(get(doc.data, ("runner", "kind")))


@rule("runner-pip-spec")
def pip_spec(doc: Document) -> Iterator[Diagnostic]:
    """`runner.kind: aws` installs deedbox in every build: `runner.pip_spec` is required and pinned (`deedbox==<version>`, `git+https://…@<40-hex commit>` or an archive URL with `#sha256=`), since a job holding the runner role must never install whatever a bare name resolves to today. With another kind it is unused (warning: the GitHub workflows read the `DEEDBOX_PIP_SPEC` repository variable)."""
    spec = get(doc.data, ("runner", "pip_spec"))
    if _kind(doc) != "aws":
        if spec is not None:
            yield at(doc, ("runner", "pip_spec"), "runner-pip-spec",
                     "pip_spec is only read by runner kind aws; the GitHub workflows install the "
                     "DEEDBOX_PIP_SPEC repository variable", "warning", key=True)
        return
    if spec is None:
        yield at(doc, ("runner",), "runner-pip-spec",
                 f"runner kind aws needs pip_spec, the pinned deedbox its jobs install: {PINNED_HELP}")
    elif not any(p.match(spec) for p in PINNED):
        yield at(doc, ("runner", "pip_spec"), "runner-pip-spec",
                 f"pip_spec {describe(spec)} is not pinned: use {PINNED_HELP}")


@rule("runner-secrets")
def job_secrets(doc: Document) -> Iterator[Diagnostic]:
    """`runner.kind: aws`: every environment variable a scheduled job reads (the deploy key, the Slack webhook, media credentials, external secret keys, the drill's token and Pulumi passphrase, …) is mapped in `runner.secrets` to the Secrets Manager secret that holds it; CodeBuild reads it into the build, and no value is ever a Pulumi input. A mapped variable no job reads is a warning."""
    if _kind(doc) != "aws":
        return
    mapped = get(doc.data, ("runner", "secrets"), {}) or {}
    readers: dict[str, list[str]] = {}
    optional: set[str] = set()
    for job in jobs(from_dict(doc.data)):
        for name in job.env:
            readers.setdefault(name, []).append(job.id)
        optional |= set(job.optional_env)
    where = ("runner", "secrets") if "secrets" in doc.data["runner"] else ("runner",)
    for name, ids in readers.items():
        if name not in mapped:
            what = f"the {ids[0]} job reads it" if len(ids) == 1 else f"the {', '.join(ids)} jobs read it"
            yield at(doc, where, "runner-secrets",
                     f"runner.secrets has no {name}: {what}; map it to the ARN of the Secrets Manager secret "
                     "that holds it")
    for name in mapped:
        if name not in readers and name not in optional:
            yield at(doc, ("runner", "secrets", name), "runner-secrets",
                     f"no scheduled job reads {name}; remove it from runner.secrets", "warning", key=True)


@rule("runner-pulumi-version")
def pulumi_version(doc: Document) -> Iterator[Diagnostic]:
    """`runner.kind: aws` with `drills`: the drill job drives the Pulumi CLI, which the build installs at exactly `runner.pulumi_version`."""
    if _kind(doc) == "aws" and "drills" in doc.data and get(doc.data, ("runner", "pulumi_version")) is None:
        yield at(doc, ("runner",), "runner-pulumi-version",
                 "runner kind aws runs drills, which need the Pulumi CLI: set pulumi_version to the exact release "
                 "the build installs (e.g. 3.272.0)")


@rule("runner-aws-checkout")
def no_checkout(doc: Document) -> Iterator[Diagnostic]:
    """Warning: `runner.kind: aws` builds have no checkout of this repository (only what `deedbox init` writes and backup.yaml), so `drills.code_push` and `drills.web` run without your app's code unless their commands fetch it."""
    if _kind(doc) != "aws":
        return
    for key in ("code_push", "web"):
        if get(doc.data, ("drills", key)) is not None:
            yield at(doc, ("drills", key), "runner-aws-checkout",
                     f"runner kind aws runs the drill without a checkout of this repository: drills.{key} finds "
                     "no app code there unless its command fetches it", "warning", key=True)


@rule("deadman-unheard")
def deadman_unheard(doc: Document) -> Iterator[Diagnostic]:
    """Warning: the dead-man's switch alarms publish to SNS, and nobody subscribes: give `notifications.email` (deedbox's topic mails them) or `notifications.sns_topic_arn`; CloudWatch alarms cannot post to a Slack webhook. Not repeated when `no-notifications` already warns."""
    notes = doc.data.get("notifications")
    if notes is None and "drills" in doc.data:
        return  # no-notifications says it
    if not (notes and (notes.get("email") or notes.get("sns_topic_arn"))):
        yield at(doc, ("notifications",) if notes else (), "deadman-unheard",
                 "the dead-man's switch alarms (no backup, media record or drill report in time) notify an SNS "
                 "topic nobody subscribes to; add notifications.email or notifications.sns_topic_arn", "warning")
