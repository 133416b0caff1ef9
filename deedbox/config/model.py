"""The typed, immutable model of ``backup.yaml`` with every default applied.

Everything outside ``deedbox.config`` receives these frozen dataclasses, never raw dicts.
Defaults live here (field defaults) and are mirrored as ``default`` in the JSON Schema; a test
keeps the two in step. ``from_dict`` builds the model from a document that has already passed
the schema, so it does no validation of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class EnvRef:
    """A reference to a secret held in an environment variable; the value never enters config."""

    env: str


@dataclass(frozen=True, slots=True)
class ConvexSource:
    url: str
    deploy_key: EnvRef = EnvRef("CONVEX_DEPLOY_KEY")
    self_hosted: bool = False  # derived: the URL is not a *.convex.cloud deployment

    @property
    def deployment(self) -> str:
        """Deployment name used in bucket keys (``happy-otter-123`` or the self-hosted host)."""
        host = self.url.split("://", 1)[-1].split("/", 1)[0]
        return host.split(".convex.cloud", 1)[0].replace(":", "-")


@dataclass(frozen=True, slots=True)
class MediaClass:
    name: str
    prefix: str


@dataclass(frozen=True, slots=True)
class MediaSource:
    classes: tuple[MediaClass, ...]
    bucket: str | None = None
    endpoint_url: str | None = None  # a non-AWS S3 API (R2, MinIO...): sync mode only
    region: str | None = None  # defaults to the source region
    take_over_replication: bool = False  # replicate mode: deedbox owns the bucket's one replication config
    access_key_id: EnvRef | None = None  # for endpoint_url stores
    secret_access_key: EnvRef | None = None


@dataclass(frozen=True, slots=True)
class Source:
    account: str
    region: str
    convex: ConvexSource
    media: MediaSource | None = None


@dataclass(frozen=True, slots=True)
class Replica:
    region: str
    replication_time_control: bool = True


@dataclass(frozen=True, slots=True)
class Immutability:
    mode: Literal["governance", "compliance"]
    days: int


@dataclass(frozen=True, slots=True)
class Storage:
    archive_after_days: int | None = 30  # None: never transition
    archive_class: str = "GLACIER_IR"
    expire_after_days: int | None = None  # None: keep current versions for ever
    noncurrent_expire_after_days: int | None = None  # None: the lock period


@dataclass(frozen=True, slots=True)
class Destination:
    account: str
    region: str
    immutability: Immutability
    replica: Replica | None = None
    storage: Storage = Storage()
    assume_role_arn: str | None = None
    break_glass_principal: str | None = None  # ARN allowed to delete/unlock in an emergency
    protect: bool = True  # production resources protected; false only for first-time trials


@dataclass(frozen=True, slots=True)
class BackendBackup:
    schedule: str
    rpo_hours: int
    include_file_storage: bool = True


@dataclass(frozen=True, slots=True)
class MediaBackup:
    mode: Literal["replicate", "sync"]
    rpo_hours: int
    schedule: str | None = None  # sync mode: when the runner copies
    classes: tuple[str, ...] | None = None  # None: every class of source.media
    batch_threshold_objects: int = 100_000  # at least this many objects to copy: an S3 Batch Operations job
    batch_threshold_bytes: int = 1024 ** 4  # ... or at least this many bytes (1 TiB)


@dataclass(frozen=True, slots=True)
class SecretKey:
    name: str
    rotation_days: int | None = None
    lives_in: Literal["convex", "external"] = "convex"  # where the live value is


@dataclass(frozen=True, slots=True)
class SecretsBackup:
    keys: tuple[SecretKey, ...]
    recovery_window_days: int = 30
    verify_schedule: str | None = None
    max_verify_age_hours: int = 24


@dataclass(frozen=True, slots=True)
class Backups:
    backend: BackendBackup
    media: MediaBackup | None = None
    secrets: SecretsBackup | None = None


@dataclass(frozen=True, slots=True)
class Runner:
    kind: Literal["github-actions", "aws", "none"]
    repository: str | None = None
    branch: str | None = "main"
    environment: str | None = None
    oidc_provider_arn: str | None = None  # reuse this GitHub OIDC provider (default: the account's, by its ARN)
    create_oidc_provider: bool = False  # create it instead (protected, retained on destroy)
    pip_spec: str | None = None  # aws: the pinned deedbox the CodeBuild jobs install
    secrets: Mapping[str, str] = field(default_factory=dict)  # aws: env var -> Secrets Manager secret ARN
    pulumi_version: str | None = None  # aws with drills: the Pulumi CLI the drill job installs


@dataclass(frozen=True, slots=True)
class Identity:
    issuer: str
    subject: str


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a drill check's result must be. Exactly one of the fields is set."""

    not_null: bool = False
    is_null: bool = False
    min_items: int | None = None
    equals: Any = None
    has_equals: bool = False


@dataclass(frozen=True, slots=True)
class DrillCheck:
    name: str
    query: str
    expect: Expectation
    args: Mapping[str, Any] = field(default_factory=dict)
    as_user: Identity | None = None


@dataclass(frozen=True, slots=True)
class DrillTarget:
    """Where drill deployments come from: Convex Cloud (Management API) or a self-hosted backend."""

    kind: Literal["convex-cloud", "self-hosted"] = "convex-cloud"
    team_token: EnvRef = EnvRef("CONVEX_TEAM_TOKEN")
    project: EnvRef | None = EnvRef("CONVEX_PROJECT_ID")
    url: EnvRef | None = None  # self-hosted
    admin_key: EnvRef | None = None  # self-hosted


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A literal, an environment variable of the runner, or the vault's value of a secret key."""

    kind: Literal["literal", "env", "secret"]
    name: str  # the literal text, the variable name, or the secret key


@dataclass(frozen=True, slots=True)
class WebFill:
    selector: str
    value: ValueRef


@dataclass(frozen=True, slots=True)
class WebExpect:
    text: str | None = None
    selector: str | None = None
    min_count: int | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class WebStep:
    """One browser action; exactly one of goto / fill / click / expect is set (a rule checks it)."""

    name: str
    goto: str | None = None
    fill: WebFill | None = None
    click: str | None = None
    expect: WebExpect | None = None
    timeout_s: int | None = None

    @property
    def action(self) -> str:
        if self.goto is not None:
            return "goto"
        if self.fill is not None:
            return "fill"
        if self.click is not None:
            return "click"
        return "expect"


@dataclass(frozen=True, slots=True)
class DrillWeb:
    command: str
    url: str
    steps: tuple[WebStep, ...]
    cwd: str = "."
    convex_url_env: str = "VITE_CONVEX_URL"
    env: Mapping[str, ValueRef] = field(default_factory=dict)
    start_timeout_s: int = 120
    step_timeout_s: int = 15


@dataclass(frozen=True, slots=True)
class MediaReference:
    table: str
    field: str  # dotted path
    media_class: str


@dataclass(frozen=True, slots=True)
class DrillMedia:
    references: tuple[MediaReference, ...]
    sample: int = 20


@dataclass(frozen=True, slots=True)
class Drills:
    schedule: str
    ttl_hours: int = 4
    target: DrillTarget = DrillTarget()
    code_push: str | None = None  # e.g. "npx convex deploy"
    checks: tuple[DrillCheck, ...] = ()
    secrets: bool = True  # restore the vault's keys into the drill deployment's environment
    web: DrillWeb | None = None
    media: DrillMedia | None = None


@dataclass(frozen=True, slots=True)
class Notifications:
    email: tuple[str, ...] = ()
    slack_webhook: EnvRef | None = None
    sns_topic_arn: str | None = None
    on: tuple[str, ...] = ("failure", "stale")


@dataclass(frozen=True, slots=True)
class Config:
    version: int
    name: str
    source: Source
    destination: Destination
    backups: Backups
    runner: Runner
    drills: Drills | None = None
    notifications: Notifications | None = None
    path: str | None = None  # where it was loaded from (not part of the document)
    text: str | None = field(default=None, compare=False, repr=False)  # the file as read (the aws runner's jobs get it)

    def media_classes(self) -> tuple[MediaClass, ...]:
        """The media classes that are backed up (``backups.media.classes`` or all)."""
        if self.source.media is None or self.backups.media is None:
            return ()
        chosen = self.backups.media.classes
        return tuple(c for c in self.source.media.classes if chosen is None or c.name in chosen)


# --------------------------------------------------------------------------- from_dict

def _ref(d: Mapping[str, Any] | None) -> EnvRef | None:
    return None if d is None else EnvRef(d["env"])


def _opt(cls, d: Mapping[str, Any] | None, build):
    return None if d is None else build(d)


def _expectation(raw: Any) -> Expectation:
    if raw == "not_null":
        return Expectation(not_null=True)
    if raw == "null":
        return Expectation(is_null=True)
    if "min_items" in raw:
        return Expectation(min_items=raw["min_items"])
    return Expectation(equals=raw["equals"], has_equals=True)


def _convex(d: Mapping[str, Any]) -> ConvexSource:
    url = d["url"].rstrip("/")
    kw = {"url": url, "self_hosted": not url.endswith(".convex.cloud")}
    if "deploy_key" in d:
        kw["deploy_key"] = _ref(d["deploy_key"])
    return ConvexSource(**kw)


def _media_source(d: Mapping[str, Any]) -> MediaSource:
    return MediaSource(
        classes=tuple(MediaClass(n, c["prefix"]) for n, c in d["classes"].items()),
        bucket=d.get("bucket"), endpoint_url=d.get("endpoint_url"), region=d.get("region"),
        take_over_replication=bool(d.get("take_over_replication", False)),
        access_key_id=_ref(d.get("access_key_id")), secret_access_key=_ref(d.get("secret_access_key")),
    )


def _destination(d: Mapping[str, Any]) -> Destination:
    return Destination(
        account=d["account"], region=d["region"],
        immutability=Immutability(**d["immutability"]),
        replica=_opt(Replica, d.get("replica"), lambda r: Replica(**r)),
        storage=Storage(**d.get("storage", {})),
        **{k: d[k] for k in ("assume_role_arn", "break_glass_principal", "protect") if k in d},
    )


def _secrets(d: Mapping[str, Any]) -> SecretsBackup:
    keys = tuple(SecretKey(k) if isinstance(k, str) else SecretKey(**k) for k in d["keys"])
    return SecretsBackup(keys=keys, **{k: v for k, v in d.items() if k != "keys"})


def _backups(d: Mapping[str, Any]) -> Backups:
    media = d.get("media")
    if media is not None and "classes" in media:
        media = {**media, "classes": tuple(media["classes"])}
    return Backups(
        backend=BackendBackup(**d["backend"]),
        media=None if media is None else MediaBackup(**media),
        secrets=_opt(SecretsBackup, d.get("secrets"), _secrets),
    )


def _drill_target(d: Mapping[str, Any]) -> DrillTarget:
    kw: dict[str, Any] = {"kind": d.get("kind", "convex-cloud")}
    for k in ("team_token", "project", "url", "admin_key"):
        if k in d:
            kw[k] = _ref(d[k])
    if kw["kind"] == "self-hosted":
        kw.setdefault("project", None)
    return DrillTarget(**kw)


def _drills(d: Mapping[str, Any]) -> Drills:
    checks = tuple(
        DrillCheck(
            name=c["name"], query=c["query"], expect=_expectation(c["expect"]),
            args=dict(c.get("args", {})),
            as_user=_opt(Identity, c.get("as_user"), lambda i: Identity(**i)),
        )
        for c in d.get("checks", ())
    )
    kw: dict[str, Any] = {k: d[k] for k in ("schedule", "ttl_hours", "code_push", "secrets") if k in d}
    if "target" in d:
        kw["target"] = _drill_target(d["target"])
    if "web" in d:
        kw["web"] = _web(d["web"])
    if "media" in d:
        m = d["media"]
        kw["media"] = DrillMedia(
            references=tuple(MediaReference(r["table"], r["field"], r["class"]) for r in m["references"]),
            **({"sample": m["sample"]} if "sample" in m else {}))
    return Drills(checks=checks, **kw)


def value_ref(raw: Any) -> ValueRef:
    if isinstance(raw, str):
        return ValueRef("literal", raw)
    if "env" in raw:
        return ValueRef("env", raw["env"])
    return ValueRef("secret", raw["secret"])


def _step(s: Mapping[str, Any]) -> WebStep:
    fill, expect = s.get("fill"), s.get("expect")
    return WebStep(
        name=s["name"], goto=s.get("goto"), click=s.get("click"), timeout_s=s.get("timeout_s"),
        fill=None if fill is None else WebFill(fill["selector"], value_ref(fill["value"])),
        expect=None if expect is None else WebExpect(**expect),
    )


def _web(d: Mapping[str, Any]) -> DrillWeb:
    kw = {k: d[k] for k in ("cwd", "convex_url_env", "start_timeout_s", "step_timeout_s") if k in d}
    return DrillWeb(command=d["command"], url=d["url"].rstrip("/"), steps=tuple(_step(s) for s in d["steps"]),
                    env={k: value_ref(v) for k, v in d.get("env", {}).items()}, **kw)


def _runner(d: Mapping[str, Any]) -> Runner:
    return Runner(**{**d, **({"secrets": dict(d["secrets"])} if "secrets" in d else {})})


def _notifications(d: Mapping[str, Any]) -> Notifications:
    kw: dict[str, Any] = {}
    if "email" in d:
        kw["email"] = tuple(d["email"])
    if "on" in d:
        kw["on"] = tuple(d["on"])
    if "slack_webhook" in d:
        kw["slack_webhook"] = _ref(d["slack_webhook"])
    if "sns_topic_arn" in d:
        kw["sns_topic_arn"] = d["sns_topic_arn"]
    return Notifications(**kw)


def from_dict(doc: Mapping[str, Any], *, path: str | None = None, text: str | None = None) -> Config:
    """Build the model from a schema-valid document, applying defaults (``text``: the file it came from)."""
    src = doc["source"]
    return Config(
        version=doc["version"], name=doc["name"],
        source=Source(
            account=src["account"], region=src["region"], convex=_convex(src["convex"]),
            media=_opt(MediaSource, src.get("media"), _media_source),
        ),
        destination=_destination(doc["destination"]),
        backups=_backups(doc["backups"]),
        runner=_runner(doc["runner"]),
        drills=_opt(Drills, doc.get("drills"), _drills),
        notifications=_opt(Notifications, doc.get("notifications"), _notifications),
        path=path, text=text,
    )
