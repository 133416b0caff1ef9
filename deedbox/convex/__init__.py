"""deedbox.convex: everything that speaks Convex.

- ``ids``: document ids (table number + internal id + checksum, base32).
- ``snapshot``: streaming reader of export ZIPs -> per-table counts and digests, one-record lookup.
- ``canonical`` / ``shapes``: the typed canonical form behind the digests (uniform and legacy).
- ``writer``: writes real-format snapshot ZIPs (one-record restore).
- ``client``: the deployment HTTP API (export, download, import, queries, act-as-user).
"""
