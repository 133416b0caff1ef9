"""Find secret values written into backup.yaml, and describe values without ever echoing secrets.

backup.yaml is committed and reviewed in pull requests, so a secret in it is already leaked. The
scan looks at every string value *and* key. Findings name the kind of secret and the place, never
the value or any part of it. ``describe`` is what other layers use to mention a value in a
message: short harmless strings are quoted, anything that might be a secret is only measured.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from deedbox.config.paths import PathT

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Stripe secret key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{8,}")),
    ("a Stripe webhook signing secret", re.compile(r"\bwhsec_[0-9A-Za-z+/=]{8,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("a JSON Web Token", re.compile(r"\beyJ[0-9A-Za-z_-]{4,}\.eyJ[0-9A-Za-z_-]{4,}\.[0-9A-Za-z_-]{4,}")),
    ("a Convex deploy key", re.compile(r"\b(?:prod|dev|preview|project):[0-9A-Za-z_.-]+\|[0-9A-Za-z+/=_-]{16,}")),
)
_AWS_SECRET = re.compile(r"(?<![0-9A-Za-z/+=])[0-9A-Za-z/+=]{40}(?![0-9A-Za-z/+=])")
_TOKEN = re.compile(r"[^\s\"'`,;()\[\]{}<>]+")
_NOT_SECRET = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|arn:)"                         # URLs, ARNs
    # lower-case paths only: base64 secrets also contain and may start with "/" (found by hypothesis)
    r"|^(?:/|\./|\.\./|~/)?[a-z0-9._-]+(?:/[a-z0-9._-]+)*/?$"
    r"|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"  # UUIDs
)
MIN_ENTROPY_LENGTH = 32
HEX_ENTROPY = 3.0  # bits per character; hex tops out at 4
TEXT_ENTROPY = 4.0


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _mixed(token: str) -> bool:
    return any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)


def _high_entropy(token: str) -> bool:
    if len(token) < MIN_ENTROPY_LENGTH or _NOT_SECRET.search(token):
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", token):
        return entropy(token) >= HEX_ENTROPY
    return entropy(token) >= TEXT_ENTROPY and sum(c.isdigit() for c in token) >= 2


def secret_kind(text: str) -> str | None:
    """The kind of secret ``text`` looks like, or None. Cheap enough to run on every string."""
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    for token in _TOKEN.findall(text):
        if _AWS_SECRET.fullmatch(token) and _mixed(token) and not _NOT_SECRET.search(token):
            return "an AWS secret access key"
        if _high_entropy(token):
            return "a long high-entropy string (a key or token)"
    return None


def describe(value: Any, *, max_len: int = 32) -> str:
    """How a message may mention ``value``: quoted when short and harmless, else only its size."""
    if isinstance(value, str):
        if len(value) > max_len or secret_kind(value) or "\n" in value:
            return f"a {len(value)}-character string"
        return repr(value)
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def walk_strings(value: Any, path: PathT = ()) -> Iterator[tuple[PathT, str, bool]]:
    """Every string in the document as ``(path, text, is_key)``."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), str(key), True
            yield from walk_strings(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk_strings(item, path + (i,))


def scan(document: Any) -> Iterator[tuple[PathT, bool, str]]:
    """``(path, is_key, kind)`` for every string that looks like a secret."""
    for path, text, is_key in walk_strings(document):
        kind = secret_kind(text)
        if kind:
            yield path, is_key, kind
