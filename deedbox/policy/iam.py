"""Pure IAM policy-document analysis: which dangerous actions does a document allow?

An action is effectively allowed when an ``Allow`` statement matches it (``Action`` globs such as
``s3:*``, ``s3:Delete*``, ``*``, or a ``NotAction`` that does not exclude it) and no
unconditional ``Deny`` statement matches it. Conditional denies are not counted: they may not
apply to every request, so they do not make a grant safe.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from typing import Any

# What the backup runner must never be able to do: destroy or unlock what it wrote.
# s3:ReplicateDelete is not here: the S3 replication role needs it, and it only replicates
# delete markers (which deedbox turns off), never deletes versions.
DELETE_CLASS = (
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:PutReplicationConfiguration",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "secretsmanager:DeleteSecret",
)


def parse(document: Any) -> dict | None:
    """A policy document from a JSON string or a dict; None when it cannot be read."""
    if isinstance(document, dict):
        return document
    if not isinstance(document, str):
        return None
    try:
        value = json.loads(document)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def statements(document: Any) -> list[dict]:
    doc = parse(document) or {}
    stmts = doc.get("Statement", [])
    stmts = stmts if isinstance(stmts, list) else [stmts]
    return [s for s in stmts if isinstance(s, dict)]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else []


def _matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def statement_covers(stmt: dict, action: str) -> bool:
    """Does this statement's Action/NotAction cover ``action``?"""
    if "NotAction" in stmt:
        return not any(_matches(p, action) for p in _strings(stmt["NotAction"]))
    return any(_matches(p, action) for p in _strings(stmt.get("Action")))


def allowed_actions(documents: Iterable[Any], candidates: Iterable[str] = DELETE_CLASS) -> list[str]:
    """The ``candidates`` that the documents together effectively allow."""
    stmts = [s for d in documents for s in statements(d)]
    allows = [s for s in stmts if s.get("Effect") == "Allow"]
    denies = [s for s in stmts if s.get("Effect") == "Deny" and not s.get("Condition")]
    return [
        a for a in candidates
        if any(statement_covers(s, a) for s in allows) and not any(statement_covers(s, a) for s in denies)
    ]


def denies_insecure_transport(document: Any) -> bool:
    """True when a Deny statement for every principal refuses requests without TLS."""
    return any(_is_tls_deny(s) for s in statements(document))


def _is_tls_deny(stmt: dict) -> bool:
    if stmt.get("Effect") != "Deny" or not _everyone(stmt.get("Principal")):
        return False
    if not (statement_covers(stmt, "s3:GetObject") and statement_covers(stmt, "s3:PutObject")):
        return False
    condition = stmt.get("Condition") or {}
    values = (condition.get("Bool") or {}) if isinstance(condition, dict) else {}
    secure = {k.lower(): v for k, v in values.items()}.get("aws:securetransport")
    return any(str(v).lower() == "false" for v in (secure if isinstance(secure, list) else [secure]))


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _strings(principal.get("AWS"))
