"""The explicit AWS providers: every resource names one, none uses the ambient default.

The destination provider pins ``allowed_account_ids`` to the destination account, so a plan run
with the platform's own credentials fails instead of writing "off-platform" backups on-platform.
The source provider belongs to the source program only (``infra/source/``: media replication),
which the platform owner runs with platform credentials; it is pinned the same way. The backup
stack never holds platform credentials.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from deedbox.config.model import Config


def destination_provider(cfg: Config) -> aws.Provider:
    dest = cfg.destination
    # Typed args: a plain dict keeps its snake_case keys when the provider JSON-encodes its config,
    # and the provider then never assumes the role (pulumi/pulumi-aws#5271).
    assume = ([aws.ProviderAssumeRoleArgs(role_arn=dest.assume_role_arn, session_name="deedbox")]
              if dest.assume_role_arn else None)
    return aws.Provider(
        f"{cfg.name}-destination", region=dest.region, allowed_account_ids=[dest.account], assume_roles=assume,
        default_tags={"tags": {"deedbox": cfg.name, "deedbox:side": "destination"}},
    )


def source_provider(cfg: Config) -> aws.Provider:
    src = cfg.source
    region = (src.media.region if src.media else None) or src.region
    return aws.Provider(
        f"{cfg.name}-source", region=region, allowed_account_ids=[src.account],
        default_tags={"tags": {"deedbox": cfg.name, "deedbox:side": "source"}},
    )


def using(provider: aws.Provider) -> pulumi.ResourceOptions:
    """Options for a component: its children inherit ``provider`` (and the request carries it)."""
    return pulumi.ResourceOptions(providers={"aws": provider})
