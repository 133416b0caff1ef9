"""Everything about the topology that follows from the config alone: names, ARNs, who is exempt.

``layout(cfg)`` is pure and runs before any resource is declared, so a name AWS would refuse
is a ``ConfigError`` at plan time, and the components receive plain strings, not config.
"""

from __future__ import annotations

from dataclasses import dataclass

from deedbox.config.model import Config
from deedbox.config.regions import partition
from deedbox.notify.topic import topic_arn, topic_name
from deedbox.topology import names
from deedbox.topology.documents import exemptions

RUNNER_KINDS = ("github-actions", "aws")  # the kinds whose jobs deedbox gives a role


@dataclass(frozen=True)
class Layout:
    """The deterministic facts of one topology (see ``layout``)."""

    name: str
    account: str
    region: str
    store_bucket: str
    replica_bucket: str | None
    replica_region: str | None
    replication_role: str | None  # destination-side role: store -> replica
    media_replication_role: str | None  # source-side role: media bucket -> store
    runner_role: str | None
    destroy_exempt: tuple[str, ...]  # may delete objects, change retention, schedule key deletion
    config_exempt: tuple[str, ...]  # may change bucket policy, lifecycle, lock, replication
    media_mode: str | None
    media_classes: dict[str, str]  # class -> prefix in the backup bucket
    partition: str = "aws"
    runner_kind: str = "none"
    alarm_topic_arn: str = ""  # where the dead-man's switch notifies: sns_topic_arn, else deedbox's own topic
    alarm_topic_name: str | None = None  # deedbox's own topic, when it declares one (no sns_topic_arn)
    publish_topic_arn: str | None = None  # where `deedbox --notify` publishes (deedbox.notify.topic.topic_arn)
    codebuild_project: str | None = None  # the aws runner's project

    def arn(self, role: str | None, account: str | None = None) -> str | None:
        return None if role is None else names.role_arn(account or self.account, role)

    @property
    def runner_role_arn(self) -> str | None:
        return self.arn(self.runner_role)

    @property
    def replication_role_arn(self) -> str | None:
        return self.arn(self.replication_role)

    @property
    def runner_prefixes(self) -> list[str]:
        """Where the runner puts and reads: the backup prefixes plus replicated media prefixes
        (``status`` lists them, ``media sync --backfill`` copies pre-replication objects there)."""
        base = list(names.PREFIXES.values())
        return base + [p for p in dict.fromkeys(self.media_classes.values()) if not p.startswith(tuple(base))]

    @property
    def codebuild_project_arn(self) -> str | None:
        if self.codebuild_project is None:
            return None
        return names.codebuild_project_arn(self.partition, self.region, self.account, self.codebuild_project)

    def key_users(self, *extra: str | None) -> dict[str, list[str]]:
        """Destination-account roles that use the store keys (runner, replication)."""
        arns = [a for a in (self.runner_role_arn, self.replication_role_arn, *extra) if a]
        return {self.account: sorted(set(arns))} if arns else {}


def layout(cfg: Config) -> Layout:
    """Compute the names and principals of ``cfg``'s topology; ``ConfigError`` if AWS would refuse."""
    dest = cfg.destination
    replica = dest.replica
    media = cfg.backups.media if cfg.media_classes() else None
    return Layout(
        name=cfg.name, account=dest.account, region=dest.region,
        store_bucket=names.store_bucket(cfg.name, dest.account, dest.region),
        replica_bucket=names.replica_bucket(cfg.name, dest.account, replica.region) if replica else None,
        replica_region=replica.region if replica else None,
        replication_role=names.role_name(cfg.name, "replication") if replica else None,
        media_replication_role=(
            names.role_name(cfg.name, "media-replication") if media and media.mode == "replicate" else None
        ),
        runner_role=names.role_name(cfg.name, "runner") if cfg.runner.kind in RUNNER_KINDS else None,
        destroy_exempt=tuple(exemptions(dest.account, dest.break_glass_principal)),
        config_exempt=tuple(exemptions(dest.account, dest.break_glass_principal, dest.assume_role_arn)),
        media_mode=media.mode if media else None,
        media_classes={
            c.name: names.media_destination_prefix(media.mode, c.name, c.prefix) for c in cfg.media_classes()
        } if media else {},
        **_watch(cfg),
    )


def _watch(cfg: Config) -> dict:
    """Who hears the dead-man's switch, and the aws runner's project (see ``Layout``)."""
    dest = cfg.destination
    where = partition(dest.region) or "aws"
    given = cfg.notifications.sns_topic_arn if cfg.notifications else None
    own = None if given else topic_name(cfg)
    return {
        "partition": where, "runner_kind": cfg.runner.kind,
        "alarm_topic_arn": given or f"arn:{where}:sns:{dest.region}:{dest.account}:{own}",
        "alarm_topic_name": own, "publish_topic_arn": topic_arn(cfg),
        "codebuild_project": names.codebuild_project(cfg.name) if cfg.runner.kind == "aws" else None,
    }
