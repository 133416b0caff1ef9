"""``declare(cfg)``: every component of the topology, wired together, and the stack outputs.

Order matters only for readability: every cross-reference between components is either a
deterministic name from ``layout`` (role ARNs inside key and bucket policies) or an Output, so the
engine derives the real creation order from the dependencies.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import pulumi

from deedbox.bucket.layout import PREFIXES
from deedbox.config.jobs import jobs
from deedbox.config.model import Config
from deedbox.errors import ConfigError
from deedbox.topology.access import cross_account_replication_grant, github_subject
from deedbox.topology.alarms import DeadMansSwitch, DeadMansSwitchArgs, TopicArgs
from deedbox.topology.batch import BatchJobRoles, BatchJobRolesArgs, batch_args, batch_role_arns
from deedbox.topology.buildspec import PIP_VARIABLE, PULUMI_VARIABLE, buildspec
from deedbox.topology.documents import exemptions
from deedbox.topology.layout import Layout, layout
from deedbox.topology.media import MediaBackup, MediaBackupArgs, SourceReplication, SourceReplicationArgs
from deedbox.topology.names import (
    bucket_arn,
    codebuild_log_group,
    github_oidc_provider_arn,
    key_alias,
    log_group_arn,
    role_arn,
    role_name,
    secret_name,
    watch_log_group,
)
from deedbox.topology.providers import destination_provider, source_provider, using
from deedbox.topology.replica import Replica, ReplicaArgs
from deedbox.topology.runner import RunnerIdentity, RunnerIdentityArgs
from deedbox.topology.scheduler import JobScheduler, JobSchedulerArgs
from deedbox.topology.store import BackupStore, BackupStoreArgs
from deedbox.topology.vault import SecretVault, SecretVaultArgs
from deedbox.topology.watch import signals


def declare(cfg: Config) -> dict[str, Any]:
    """Declare the backup topology of ``cfg``; return the outputs to export (name -> value)."""
    plan = layout(cfg)
    dest = using(destination_provider(cfg))
    batch = batch_args(cfg, plan)
    store = _store(cfg, plan, dest, batch_role_arns(batch))
    replica = _replica(cfg, plan, store, dest) if plan.replica_bucket else None
    vault = _vault(cfg, plan, dest) if cfg.backups.secrets else None
    runner = _runner(cfg, plan, vault, dest) if plan.runner_role else None
    if plan.codebuild_project and runner is not None:
        _scheduler(cfg, plan, runner, dest)
    watch = _deadman(cfg, plan, store, dest)
    media = _media(cfg, plan, dest) if plan.media_mode else None
    jobs = _batch(cfg, batch, runner, dest) if batch else None
    return {**_outputs(plan, store, replica, vault, runner, media), **_batch_outputs(jobs),
            "alarm_topic_arn": plan.alarm_topic_arn, "deadman_alarms": watch.alarms}


T = TypeVar("T")


def _needed(value: T | None, what: str) -> T:
    """``value``, which ``declare`` only asks for when the config (and so the layout) has it."""
    if value is None:
        raise ConfigError(f"the topology needs {what}, which backup.yaml does not set")
    return value


def _runner_source(cfg: Config, plan: Layout) -> str | None:
    """The AWS media bucket the runner reads, in either mode: ``sync`` copies from it, ``replicate``
    reports replication state and ``--backfill`` copies what replication never saw. None for a
    non-AWS endpoint (its own access keys) or without a runner role."""
    media = cfg.source.media
    if not (plan.media_mode and plan.runner_role and media and media.bucket and not media.endpoint_url):
        return None
    return media.bucket


def _media_role_arn(cfg: Config, plan: Layout) -> str | None:
    return role_arn(cfg.source.account, plan.media_replication_role) if plan.media_replication_role else None


def _store(cfg: Config, plan: Layout, opts: pulumi.ResourceOptions, batch_roles: list[str]) -> BackupStore:
    dest = cfg.destination
    users = plan.key_users(dest.break_glass_principal)
    if batch_roles:  # the media jobs read backup versions and write their reports with the store key
        users[plan.account] = sorted({*users.get(plan.account, []), *batch_roles})
    extra = []
    media_role = _media_role_arn(cfg, plan)
    if media_role:
        users[cfg.source.account] = [media_role]
        extra = cross_account_replication_grant(cfg.source.account, media_role, bucket_arn(plan.store_bucket))
    return BackupStore(f"{cfg.name}-store", BackupStoreArgs(
        bucket=plan.store_bucket, account=plan.account, lock_mode=dest.immutability.mode,
        lock_days=dest.immutability.days, storage=dest.storage, destroy_exempt=plan.destroy_exempt,
        config_exempt=plan.config_exempt, key_users=users, extra_statements=extra, protect=dest.protect,
        key_alias=key_alias(cfg.name, "store"),
        conditional_writers=[plan.runner_role_arn] if plan.runner_role_arn else [],
    ), opts)


def _replica(cfg: Config, plan: Layout, store: BackupStore, opts: pulumi.ResourceOptions) -> Replica:
    dest = cfg.destination
    replica = _needed(dest.replica, "destination.replica")
    return Replica(f"{cfg.name}-replica", ReplicaArgs(
        account=plan.account, region=_needed(plan.replica_region, "destination.replica.region"),
        bucket=_needed(plan.replica_bucket, "a replica bucket"),
        role_name=_needed(plan.replication_role, "a replication role"),
        source_bucket=plan.store_bucket, source_region=plan.region, source_key_alias=key_alias(cfg.name, "store"),
        key_alias=key_alias(cfg.name, "replica"),
        source_versioning=store.versioning, lock_mode=dest.immutability.mode, lock_days=dest.immutability.days,
        storage=dest.storage, destroy_exempt=plan.destroy_exempt, config_exempt=plan.config_exempt,
        replication_time_control=replica.replication_time_control, protect=dest.protect,
    ), opts)


def _vault(cfg: Config, plan: Layout, opts: pulumi.ResourceOptions) -> SecretVault:
    secrets = _needed(cfg.backups.secrets, "backups.secrets")
    runner = [plan.runner_role_arn] if plan.runner_role_arn else []
    return SecretVault(f"{cfg.name}-vault", SecretVaultArgs(
        name=cfg.name, account=plan.account, region=plan.region, keys=secrets.keys,
        recovery_window_days=secrets.recovery_window_days,
        value_users=sorted({*runner, *exemptions(plan.account, cfg.destination.break_glass_principal)}),
        destroy_exempt=plan.destroy_exempt,
        key_users={plan.account: sorted({*runner, *([cfg.destination.break_glass_principal]
                                                    if cfg.destination.break_glass_principal else [])})}
        if runner or cfg.destination.break_glass_principal else {},
        replica_region=plan.replica_region, protect=cfg.destination.protect,
    ), opts)


def _runner(cfg: Config, plan: Layout, vault: SecretVault | None, opts: pulumi.ResourceOptions) -> RunnerIdentity:
    runner = cfg.runner
    source = _runner_source(cfg, plan)
    media = cfg.source.media
    aliases = [key_alias(cfg.name, "store")] + ([key_alias(cfg.name, "replica")] if plan.replica_bucket else []) \
        + ([key_alias(cfg.name, "vault")] if vault else [])
    regions = [plan.region] + ([plan.replica_region] if plan.replica_region else [])
    if plan.alarm_topic_name and plan.publish_topic_arn == plan.alarm_topic_arn:
        aliases.append(key_alias(cfg.name, "notify"))  # publishing to deedbox's own (encrypted) topic
    return RunnerIdentity(f"{cfg.name}-runner", RunnerIdentityArgs(
        role_name=_needed(plan.runner_role, "a runner role"),
        subject=github_subject(runner.repository or "", branch=runner.branch, environment=runner.environment),
        bucket_arn=bucket_arn(plan.store_bucket), prefixes=plan.runner_prefixes,
        account=plan.account, regions=regions, key_aliases=aliases,
        secret_pattern=(f"arn:aws:secretsmanager:*:{plan.account}:secret:{secret_name(cfg.name, '')}*"
                        if vault else None),
        oidc_provider_arn=runner.oidc_provider_arn or github_oidc_provider_arn(plan.account),
        create_oidc_provider=runner.create_oidc_provider,
        source_bucket=source,
        source_prefixes=[c.prefix for c in cfg.media_classes()] if source else [],
        source_key_scope=(cfg.source.account, media.region or cfg.source.region) if source and media else None,
        publish_topics=[plan.publish_topic_arn] if plan.publish_topic_arn else [],
        watch_log_groups=[log_group_arn(plan.partition, plan.region, plan.account, watch_log_group(cfg.name, ""))],
        **_aws_runner(cfg, plan),
    ), opts)


def _aws_runner(cfg: Config, plan: Layout) -> dict[str, Any]:
    """The runner role's part in the aws runner: CodeBuild's trust, its build logs, the job secrets."""
    if not plan.codebuild_project:
        return {}
    logs = log_group_arn(plan.partition, plan.region, plan.account, codebuild_log_group(plan.codebuild_project))
    return {"codebuild_project_arn": plan.codebuild_project_arn, "build_log_group_arn": logs,
            "job_secrets": sorted(cfg.runner.secrets.values())}


def _scheduler(cfg: Config, plan: Layout, runner: RunnerIdentity, opts: pulumi.ResourceOptions) -> JobScheduler:
    scheduled = jobs(cfg)
    plaintext = {PIP_VARIABLE: _needed(cfg.runner.pip_spec, "runner.pip_spec"), "DEEDBOX_BUCKET": plan.store_bucket}
    if cfg.runner.pulumi_version:
        plaintext[PULUMI_VARIABLE] = cfg.runner.pulumi_version
    return JobScheduler(f"{cfg.name}-jobs", JobSchedulerArgs(
        name=cfg.name, account=plan.account, region=plan.region, partition=plan.partition,
        project=_needed(plan.codebuild_project, "a CodeBuild project"),
        project_arn=_needed(plan.codebuild_project_arn, "a CodeBuild project"),
        runner_role_arn=_needed(plan.runner_role_arn, "a runner role"),
        scheduler_role=role_name(cfg.name, "scheduler"), buildspec=buildspec(cfg, scheduled), jobs=scheduled,
        plaintext=plaintext, secrets=dict(cfg.runner.secrets), after=[runner.role, runner.policy],
    ), opts)


def _deadman(cfg: Config, plan: Layout, store: BackupStore, opts: pulumi.ResourceOptions) -> DeadMansSwitch:
    watched = signals(cfg)
    topic = None
    if plan.alarm_topic_name:
        notes = cfg.notifications
        breakglass = cfg.destination.break_glass_principal
        users = sorted({a for a in (plan.runner_role_arn if plan.publish_topic_arn else None, breakglass) if a})
        topic = TopicArgs(name=plan.alarm_topic_name, emails=list(notes.email) if notes else [],
                          key_alias=key_alias(cfg.name, "notify"), key_users={plan.account: users} if users else {},
                          destroy_exempt=plan.destroy_exempt)
    return DeadMansSwitch(f"{cfg.name}-deadman", DeadMansSwitchArgs(
        name=cfg.name, account=plan.account, region=plan.region, partition=plan.partition,
        bucket=plan.store_bucket, bucket_id=store.bucket.id, signals=watched, topic_arn=plan.alarm_topic_arn,
        topic=topic, watch_role=role_name(cfg.name, "watch") if any(s.due_driven for s in watched) else None,
        protect=cfg.destination.protect,
    ), opts)


def _media(cfg: Config, plan: Layout, opts: pulumi.ResourceOptions) -> MediaBackup:
    media = _needed(cfg.source.media, "source.media")
    return MediaBackup(f"{cfg.name}-media", MediaBackupArgs(
        classes=cfg.media_classes(), source_bucket=media.bucket,
        runner_role_arn=plan.runner_role_arn if _runner_source(cfg, plan) else None,
        endpoint_url=media.endpoint_url,
    ), opts)


def _batch(cfg: Config, args: BatchJobRolesArgs, runner: RunnerIdentity | None,
           opts: pulumi.ResourceOptions) -> BatchJobRoles:
    """The S3 Batch Operations roles of the media jobs; the runner (if any) may start them."""
    return BatchJobRoles(f"{cfg.name}-batch", dataclasses.replace(
        args, runner_role=runner.role.name if runner else None), opts)


def _batch_outputs(jobs: BatchJobRoles | None) -> dict[str, Any]:
    return {
        "batch_restore_role_arn": jobs.restore_role_arn if jobs else None,
        "batch_backfill_role_arn": jobs.backfill_role_arn if jobs else None,
        "batch_target_policy": jobs.target_policy if jobs else None,
        "batch_backfill_source_policy": jobs.backfill_source_policy if jobs else None,
    }


def declare_source(cfg: Config) -> dict[str, Any]:
    """The source program: what must live in the platform account (media replication).

    Runs with the platform's credentials (a provider pinned to the source account); nothing here
    touches the destination account. Declares nothing unless media is replicated, and refuses to
    replace the bucket's replication configuration without ``take_over_replication``.
    """
    plan = layout(cfg)
    media = cfg.source.media
    if plan.media_mode != "replicate" or media is None or not media.bucket or not plan.media_replication_role:
        return {"media_replication_role_arn": None}
    if not media.take_over_replication:
        raise ConfigError("the source program would replace the media bucket's replication configuration "
                          "(a bucket has one): set source.media.take_over_replication: true to confirm")
    replication = SourceReplication(f"{cfg.name}-media-replication", SourceReplicationArgs(
        classes=cfg.media_classes(), source_account=cfg.source.account,
        source_region=media.region or cfg.source.region, source_bucket=media.bucket,
        destination_account=plan.account, destination_region=plan.region, destination_bucket=plan.store_bucket,
        destination_key_alias=key_alias(cfg.name, "store"), role_name=plan.media_replication_role,
    ), using(source_provider(cfg)))
    return {"media_replication_role_arn": replication.role_arn}


def _outputs(plan: Layout, store: BackupStore, replica: Replica | None, vault: SecretVault | None,
             runner: RunnerIdentity | None, media: MediaBackup | None) -> dict[str, Any]:
    secrets = vault.secret_arns if vault else {}
    runner_arn = runner.role_arn if runner else None
    return {
        "store_bucket": store.bucket_name,
        "store_bucket_arn": store.arn,
        "store_key_arn": store.key_arn,
        "replica_bucket": replica.bucket_name if replica else None,
        "replica_bucket_arn": replica.arn if replica else None,
        "replica_key_arn": replica.key_arn if replica else None,
        "vault_key_arn": vault.key_arn if vault else None,
        "secret_arns": secrets,
        "runner_role_arn": runner_arn,
        "media_source_policy": media.source_policy if media else None,
        "deedbox": {
            "schema": 1, "bucket": plan.store_bucket, "region": plan.region, "prefixes": dict(PREFIXES),
            "replica_bucket": plan.replica_bucket, "replica_region": plan.replica_region,
            "secrets": secrets, "runner_role_arn": runner_arn,
            "media_mode": plan.media_mode, "media_classes": dict(plan.media_classes),
        },
    }
