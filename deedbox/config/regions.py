"""The AWS regions backup.yaml may name, as data: ``regions.json`` beside the schema.

The list is botocore's endpoint data (``botocore/data/endpoints.json``) for the partitions the
schema's ARNs allow: ``aws``, ``aws-cn`` and ``aws-us-gov``. A test compares the committed file
with the installed botocore, so a new region is one regeneration away::

    python -m deedbox.config.regions > deedbox/config/regions.json

Reading the list needs no botocore (``validate`` stays fast and offline); only regenerating does.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from importlib import resources
from typing import Any

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


@lru_cache(maxsize=1)
def data() -> dict[str, dict[str, str]]:
    """``partition -> {region: description}`` as committed in ``regions.json``."""
    text = resources.files("deedbox.config").joinpath("regions.json").read_text("utf-8")
    return json.loads(text)["partitions"]


@lru_cache(maxsize=1)
def known() -> dict[str, str]:
    """``region -> partition`` for every known region."""
    return {region: partition for partition, regions in data().items() for region in regions}


def partition(region: str) -> str | None:
    """The partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``), or None if unknown."""
    return known().get(region)


def suggest(region: str) -> list[str]:
    """The known regions closest to a mistyped one, best first (``us-east-99`` -> us-east-1, us-east-2).

    difflib's ratio; every region tied for the best score is offered (at most three), so the
    choice between ``us-east-1`` and ``us-east-2`` is left to the author.
    """
    if len(region) > 64:
        return []
    scored = []
    for name in known():
        matcher = difflib.SequenceMatcher(None, region, name)
        if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF and matcher.ratio() >= CUTOFF:
            scored.append((matcher.ratio(), name))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    return sorted((name for score, name in scored if score == best), key=_natural)[:3]


CUTOFF = 0.6  # difflib.get_close_matches' default


def _natural(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("-")
    return stem, int(number) if number.isdigit() else 0


def from_botocore() -> dict[str, Any]:
    """The document ``regions.json`` should hold, from the installed botocore's endpoint data."""
    from pathlib import Path

    import botocore  # a dev/regeneration dependency only

    endpoints = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text("utf-8"))
    found = {p["partition"]: p for p in endpoints["partitions"]}
    return {
        "description": "AWS regions by partition, from botocore's data/endpoints.json; "
                       "regenerate with `python -m deedbox.config.regions > deedbox/config/regions.json`.",
        "partitions": {name: {region: info.get("description", "")
                              for region, info in sorted(found[name]["regions"].items())}
                       for name in PARTITIONS},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render(from_botocore()), end="")
