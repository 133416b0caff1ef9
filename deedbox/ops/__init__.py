"""Backup operations against the real services: the backup bucket, Convex, Secrets Manager.

- ``store``: the backup bucket; write-once puts hashed while streaming, read-back checks.
- ``snapshots``: snapshot folders (complete = has a manifest), ``latest``, manifests; the one
  module restore and drill code import (``export_snapshot``/``verify_snapshot`` re-exported).
- ``export`` / ``checking``: take and store a snapshot (data, verify, manifest last); verify one.
- ``media`` / ``media_plan``: media sync and replication reports; ``secrets`` / ``dotenv``: vault.
- ``records``: small JSON evidence under ``records/<kind>/``; ``status``: freshness vs RPO.
- ``workflows``: the scheduled GitHub Actions; ``stack``: where the bucket is.
- ``restore*`` / ``drill*``: restores and restore drills (built on the modules above).
"""
