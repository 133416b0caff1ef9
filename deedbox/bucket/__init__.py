"""The backup bucket as every operation sees it.

- ``client``: ``BucketClient``, write-once puts hashed while streaming, read-back checks;
- ``layout``: the prefixes (``backend/``, ``media/``, ``drills/``, ``records/``, ``restores/``);
- ``snapshots``: snapshot folders (complete = has a manifest), ``latest``, resolving a key;
- ``manifest``: the ``Manifest`` dataclass, its one parser and one serializer;
- ``records``: small JSON evidence under ``records/<kind>/``; ``locate``: where the bucket is.
"""
