"""Paths into a document: ``("drills", "checks", 1, "expect")``, the key every layer reports by."""

from __future__ import annotations

PathT = tuple[str | int, ...]
