"""deedbox: own your community platform's data, provably.

The platform keeps state in three places (a Convex backend, a media store, and secrets); deedbox
compiles one validated ``backup.yaml`` into an off-platform backup topology (Pulumi), takes and
verifies the backups, restores one record or everything, and runs restore drills that prove the
backups restore.

Subpackages, lowest first (each imports only from itself and the ones before it): ``config``
(the only code that sees YAML), ``bucket`` (the backup bucket as every operation sees it) and
``convex`` (HTTP client and snapshot ZIPs), then one package per store: ``backend`` (export,
verify), ``media``, ``secrets``; ``topology`` (Pulumi components and programs), ``policy``
(CrossGuard rules), ``plan`` (the program under Pulumi's mock engine), ``restore``, ``status``,
``workflows``, ``drill``; ``commands`` (one module per CLI command) and ``cli`` (parsing only).
"""

__version__ = "0.1.0"
