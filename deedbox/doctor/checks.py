"""Pure decisions about the credentials, the GitHub OIDC provider, Convex and the vault.

Each function takes the config and the facts (``Answer``s, see ``report``; ``ConvexFacts``) and
returns ``Check``s; none makes a call, so each decision has a test without a server. The bucket
decisions are in ``buckets``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from deedbox.config.model import Config
from deedbox.doctor.report import FAIL, OK, SKIP, WARN, Answer, Check, Refused, unreadable
from deedbox.topology.names import GITHUB_OIDC_URL, STS_AUDIENCE, github_oidc_provider_arn

# --------------------------------------------------------------------------- credentials

def credentials(identity: Mapping[str, Any], destination_account: str) -> Check:
    """``sts:GetCallerIdentity``: whose account the destination checks below actually read."""
    account, arn = str(identity.get("Account", "")), identity.get("Arn", "")
    if account != destination_account:
        return Check("aws.credentials", WARN,
                     f"credentials are for account {account} ({arn}), destination.account is "
                     f"{destination_account}: the OIDC, backup bucket and vault checks read account {account}",
                     "use credentials of the destination account (e.g. assume destination.assume_role_arn)")
    return Check("aws.credentials", OK, f"account {account} ({arn})")


# --------------------------------------------------------------------------- GitHub OIDC provider

def oidc_arn(config: Config) -> str:
    """runner.oidc_provider_arn, else the one ARN IAM allows for GitHub's URL in the destination account."""
    return config.runner.oidc_provider_arn or github_oidc_provider_arn(config.destination.account)


def oidc_check(config: Config, provider: Answer) -> Check:
    """The runner role trusts the account's provider by its ARN (IAM allows one per URL), so it must
    exist, with the ``sts.amazonaws.com`` client id; with runner.create_oidc_provider it must not
    exist yet (a second CreateOpenIDConnectProvider for the URL is EntityAlreadyExists)."""
    if config.runner.kind != "github-actions":
        return Check("oidc.provider", SKIP, f"runner.kind is {config.runner.kind}: no OIDC provider needed")
    arn, create = oidc_arn(config), bool(getattr(config.runner, "create_oidc_provider", False))
    if isinstance(provider, Refused) and not provider.missing:
        return unreadable("oidc.provider", arn, provider, "iam:GetOpenIDConnectProvider")
    if provider is None or isinstance(provider, Refused):
        return _oidc_missing(config, arn, create)
    if create:
        return Check("oidc.provider", FAIL,
                     f"{arn} already exists and runner.create_oidc_provider is true: `pulumi up` would create "
                     "a second provider for the same URL, which IAM refuses (EntityAlreadyExists)",
                     "remove runner.create_oidc_provider: deedbox reuses the existing provider")
    ids = list(provider.get("ClientIDList") or [])
    if STS_AUDIENCE not in ids:
        return Check("oidc.provider", FAIL,
                     f"{arn} exists but its client ids ({', '.join(ids) or 'none'}) lack {STS_AUDIENCE}: "
                     "GitHub's token is refused by sts:AssumeRoleWithWebIdentity",
                     f"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn {arn} "
                     f"--client-id {STS_AUDIENCE}")
    return Check("oidc.provider", OK, f"{arn} exists (client ids: {', '.join(ids)}); the runner role reuses it")


def _oidc_missing(config: Config, arn: str, create: bool) -> Check:
    if create:
        return Check("oidc.provider", OK, f"no GitHub OIDC provider yet: `pulumi up` creates {arn} "
                     "(runner.create_oidc_provider)")
    named = " (runner.oidc_provider_arn)" if config.runner.oidc_provider_arn else ""
    return Check("oidc.provider", FAIL, f"{arn}{named} does not exist: the runner role trusts it and "
                 "`pulumi up` does not create it",
                 f"create it (aws iam create-open-id-connect-provider --url {GITHUB_OIDC_URL} "
                 f"--client-id-list {STS_AUDIENCE}), or set runner.create_oidc_provider: true")


# --------------------------------------------------------------------------- Convex

@dataclass(frozen=True)
class ConvexFacts:
    """What one read-only call (``exports:getLatest``) to the deployment gave."""

    variable: str  # the environment variable that holds the key (its value never enters here)
    url: str
    key_set: bool
    latest: Mapping[str, Any] | None = None  # the latest export row; None: no export yet
    error_kind: str | None = None  # auth | not_found | environment | failed
    error: str | None = None  # the one-line, key-masked message


def convex_checks(facts: ConvexFacts) -> list[Check]:
    var, url = facts.variable, facts.url
    if not facts.key_set:
        return [Check("convex.key", FAIL, f"environment variable {var} is not set (source.convex.deploy_key)",
                      f"set {var} to a deploy key of {url} (dashboard: Settings, Deploy keys)"),
                Check("convex.deployment", SKIP, f"no key in {var}")]
    return [Check("convex.key", OK, f"{var} is set"), _convex_reach(facts)]


def _convex_reach(facts: ConvexFacts) -> Check:
    var, url = facts.variable, facts.url
    fixes = {"auth": f"set {var} to a deploy (or admin) key of {url}, with permission to export",
             "not_found": "check source.convex.url (the deployment's URL, regional for EU deployments)",
             "environment": f"set {var} to the key of {url}, or source.convex.url to the key's deployment"}
    if facts.error_kind == "auth":
        return Check("convex.deployment", FAIL, f"{url} refused the key in {var}: {facts.error}", fixes["auth"])
    if facts.error_kind is not None:
        return Check("convex.deployment", FAIL, str(facts.error),
                     fixes.get(facts.error_kind, f"check that {url} is up and reachable from here"))
    latest = facts.latest
    state = f"latest export {latest.get('state', '?')}" if latest else "no export yet"
    return Check("convex.deployment", OK, f"{url} answers with the key in {var} ({state})")


# --------------------------------------------------------------------------- vault

def secret_check(config: Config, key: str, name: str, answer: Answer) -> Check:
    """The secret exists, is not being deleted, has a value, and is InSync in the replica region."""
    check_id = f"vault.{key}"
    if isinstance(answer, Refused) and not answer.missing:
        return unreadable(check_id, name, answer, "secretsmanager:DescribeSecret")
    if answer is None or isinstance(answer, Refused):
        return Check(check_id, FAIL, f"{name} does not exist",
                     "run `pulumi up` (the vault declares it), then `deedbox secrets push --env-file FILE`")
    if answer.get("DeletedDate"):
        return Check(check_id, FAIL, f"{name} is scheduled for deletion",
                     f"aws secretsmanager restore-secret --secret-id {name}")
    replica = config.destination.replica
    problem = replication_problem(name, replica.region if replica else None, answer.get("ReplicationStatus") or [])
    if problem is not None:
        return Check(check_id, problem[0], problem[1], problem[2])
    if not answer.get("VersionIdsToStages"):
        return Check(check_id, WARN, f"{name} exists but has no value yet",
                     "deedbox secrets push --env-file FILE")
    where = f"; replica {replica.region} InSync" if replica else ""
    return Check(check_id, OK, f"{name} exists{where}")


def replication_problem(name: str, region: str | None,
                        statuses: Iterable[Mapping[str, Any]]) -> tuple[str, str, str | None] | None:
    """(status, message, fix) for a missing replica region, a Failed or InProgress replica; else None."""
    by_region = {s.get("Region"): s for s in statuses}
    failed = [s for s in by_region.values() if s.get("Status") == "Failed"]
    if failed:
        detail = "; ".join(f"{s.get('Region')}: {str(s.get('StatusMessage', ''))[:200]}" for s in failed)
        return FAIL, f"{name}: replication Failed ({detail})", \
            f"fix the cause, then aws secretsmanager replicate-secret-to-regions --secret-id {name} " \
            f"--add-replica-regions Region={failed[0].get('Region')} --force-overwrite-replica-secret"
    if region is not None and region not in by_region:
        return FAIL, f"{name} has no replica in {region} (destination.replica.region)", \
            f"`pulumi up` (the vault replicates every secret), or aws secretsmanager replicate-secret-to-regions " \
            f"--secret-id {name} --add-replica-regions Region={region}"
    pending = [str(r) for r, s in by_region.items() if s.get("Status") == "InProgress"]
    if pending:
        return WARN, f"{name}: replication to {', '.join(pending)} still InProgress", None
    return None
