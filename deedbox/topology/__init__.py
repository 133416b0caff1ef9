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
"""

from deedbox.topology.declare import declare

__all__ = ["declare"]
