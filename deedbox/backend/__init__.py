"""The backend store: take a Convex export into the bucket (``export``) and check it (``verify``).

Writes follow restic's order (data, verify, manifest last); reads go the other way.
"""
