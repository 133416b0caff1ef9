"""deedbox: own your community platform's data, provably.

The platform keeps state in three places (a Convex backend, a media store, and secrets); deedbox
compiles one validated ``backup.yaml`` into an off-platform backup topology (Pulumi), takes and
verifies the backups, restores one record or everything, and runs restore drills that prove the
backups restore.

Subpackages: ``config`` (the only code that sees YAML), ``topology`` (Pulumi components),
``policy`` (CrossGuard rules), ``plan`` (the program under Pulumi's mock engine), ``convex``
(HTTP client and snapshot reader), ``ops`` (export, media, secrets, status, restore, drill),
``commands`` (one module per CLI command) and ``cli`` (parsing and dispatch only).
"""

__version__ = "0.1.0"
