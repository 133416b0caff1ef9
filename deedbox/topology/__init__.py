"""The backup topology as Pulumi components, compiled from the typed config.

``program(model)`` is the whole backup program (``infra/__main__.py`` calls it; ``deedbox plan``
records it), ``source_program`` what must live in the platform account (``infra/source/``, applied
with platform credentials) and ``drill_program`` one drill stack. Components (``deedbox:<module>:<Type>``):

- ``BackupStore`` (store): locked, versioned, KMS-encrypted bucket; used for the store and replica.
- ``Replica`` (replica): the replica store in a second region and the replication into it.
- ``MediaBackup`` (media): S3 replication from the platform's media bucket, or the read policy
  the runner's sync needs.
- ``SecretVault`` (vault): a multi-region key and one replicated secret per configured key.
- ``RunnerIdentity`` (runner): the role the jobs run as (GitHub OIDC, or CodeBuild for the ``aws``
  runner) that can write backups and never delete them.
- ``DeadMansSwitch`` (deadman): alarms that fire when backups stop arriving (``watch``: what it counts).
- ``JobScheduler`` (scheduler): the ``aws`` runner: EventBridge Scheduler starting a CodeBuild project
  (``buildspec``), the jobs of ``deedbox.config.jobs``.
- ``DrillStack`` (drill): one ephemeral drill: a fresh Convex deployment and a read-only role.

Names, ARNs and policy documents come from pure modules (``names``, ``layout``, ``documents``,
``access``); components only wire them into resources; ``backup.declare`` wires the components.

The pure modules do not import Pulumi (``deedbox workflows`` reads ``layout``), so the programs
are bound on first use (PEP 562) rather than imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deedbox.topology.programs import drill_program, load_model, program, source_program

__all__ = ["drill_program", "load_model", "program", "source_program"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from deedbox.topology import programs

        return getattr(programs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
