"""Second line of defence for secret values in plan output.

The recorder already replaces Pulumi secrets with ``[secret]``; a plain input whose key looks
like it holds a secret (``secretString``, ``password``...) is masked here too before anything is
printed, including the before/after values of a diff.
"""

from __future__ import annotations

from typing import Any

from deedbox.plan.graph import SECRET

SECRET_WORDS = ("secretstring", "secretbinary", "password", "privatekey", "secretaccesskey", "token", "apikey")


def secret_key(key: str) -> bool:
    flat = key.lower().replace("_", "").replace("-", "")
    return any(word in flat for word in SECRET_WORDS)


def scrub(value: Any, key: str = "") -> Any:
    """A copy with values under secret-looking keys replaced by the secret marker."""
    if secret_key(key) and value not in (None, "", SECRET):
        return SECRET
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, key) for v in value]
    return value
