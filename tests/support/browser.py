"""What the browser tests need, and a skip that says how to get it.

The drill's web check runs the system's chromium through the system's chromedriver (Debian's
``chromium`` and ``chromium-driver``) with selenium; the stand-in web app (``webapp/serve.mjs``)
needs node and the npm ``convex`` package's browser bundle. ``.ci/run`` installs all of them.
"""

from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path

import pytest

from deedbox.drill.browser import find_browser
from deedbox.errors import EnvironmentProblem

WEBAPP = Path(__file__).resolve().parent / "webapp"
CONVEX_BUNDLE = Path(__file__).resolve().parent / "npm" / "node_modules" / "convex" / "dist" / "browser.bundle.js"
NEEDS_CHROMIUM = "needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver; .ci/run installs them"


def browser_missing() -> str | None:
    """Why headless Chromium cannot run here (None: it can), as the drill itself finds it."""
    try:
        find_browser(os.environ)
    except EnvironmentProblem as err:
        return f"{NEEDS_CHROMIUM} (here: {err})"
    return None


def webapp_missing() -> str | None:
    """Why the stand-in web app cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "the stand-in web app needs node: apt-get install nodejs npm; .ci/run installs it"
    if not CONVEX_BUNDLE.is_file():
        return (f"the stand-in web app needs the npm convex package ({CONVEX_BUNDLE} missing): "
                "run `npm ci` in tests/support/npm; .ci/run does")
    return None


_REASONS = [r for r in (browser_missing(), webapp_missing()) if r]
needs_browser = pytest.mark.skipif(bool(_REASONS), reason="; ".join(_REASONS))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_facts(data: bytes, rows: int = 120) -> tuple[int, int, int]:
    """``(width, height, distinct pixels in the first rows)`` of an 8-bit, non-interlaced RGB/RGBA PNG.

    A tiny decoder (no Pillow here): chunks walked and CRC-checked, IDAT inflated to exactly the
    size the header promises, and the first ``rows`` scanlines unfiltered (all five filters)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == int.from_bytes(data[pos + 8 + length:pos + 12 + length], "big"), kind
        header, idat = (body, idat) if kind == b"IHDR" else (header, idat + body if kind == b"IDAT" else idat)
        pos += 12 + length
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour, interlace = header[8], header[9], header[12]
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    assert len(raw) == height * (stride + 1), "IDAT does not hold the image the header describes"
    prev, pixels = bytearray(stride), set()
    for y in range(min(rows, height)):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            pred = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            line[i] = (line[i] + pred) & 0xFF
        pixels.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp))
        prev = line
    return width, height, len(pixels)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
