"""The backup topology as Pulumi components, compiled from the typed config.

``declare(cfg)`` declares everything and returns the stack outputs; ``infra/__main__.py`` only
loads the config and exports them. Components (``deedbox:<module>:<Type>``):

- ``BackupStore`` (store): locked, versioned, KMS-encrypted bucket; used for the store and replica.
- ``Replica`` (replica): the replica store in a second region and the replication into it.
- ``MediaBackup`` (media): S3 replication from the platform's media bucket, or the read policy
  the runner's sync needs.
- ``SecretVault`` (vault): a multi-region key and one replicated secret per configured key.
- ``RunnerIdentity`` (runner): GitHub OIDC role that can write backups and never delete them.

Names, ARNs and policy documents come from pure modules (``names``, ``layout``, ``documents``,
``access``); components only wire them into resources.

``declare`` is imported on first use, so the pure modules (``names.PREFIXES``, which operations
read) do not pay for importing Pulumi.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["declare"]


def __getattr__(name: str) -> Any:
    if name == "declare":
        from deedbox.topology.declare import declare

        return declare
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """Keeps ``deedbox.topology.declare`` the function: importing the submodule of that name binds
    the module here (the import system does), which would shadow ``__getattr__``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "declare" and isinstance(value, types.ModuleType):
            value = value.declare
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
