"""``report.html``: the drill's evidence as one self-contained page (pure: no I/O).

What a person reads after drill day: the verdict, RPO and RTO, the three stores' verdicts (plus
the web app), the steps on a timeline (an inline SVG), the restored secrets (names, vault versions
and whether the fingerprints matched: never a value), media findings, the checks, and every
browser step with its screenshot inline (``data:`` URIs, so the page needs nothing else and still
renders years later from the bucket). Every text is escaped; nothing is fetched.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

from deedbox.drill.report import FAILED, PASSED, DrillReport, format_duration
from deedbox.restore.point import describe as describe_point

_COLOURS = {PASSED: "#1a7f37", FAILED: "#cf222e"}
_SKIPPED = "#8c959f"
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;
color:#1f2328;background:#fff}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.verdict{display:inline-block;padding:.15rem .6rem;border-radius:1rem;color:#fff;font-weight:600}
.passed{background:#1a7f37}.failed{background:#cf222e}.skipped{background:#8c959f}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.6rem;margin:1rem 0}
.fact{border:1px solid #d0d7de;border-radius:.4rem;padding:.5rem .7rem}.fact b{display:block;font-size:1.3rem}
figure{display:inline-block;margin:.5rem;max-width:30rem;vertical-align:top}
figure img{max-width:100%;border:1px solid #d0d7de}figcaption{font-size:.85rem}
code{background:#f6f8fa;padding:0 .2rem}
"""


def render_html(report: DrillReport, screenshots: Mapping[str, bytes]) -> str:
    """The page for ``report``; ``screenshots`` maps the keys named in ``report.web`` to PNG bytes."""
    status = PASSED if report.passed else FAILED
    verdict = "PASSED" if report.passed else f"FAILED at {report.failed_step}"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>Restore drill {escape(report.drill_id)}: {escape(verdict)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Restore drill <code>{escape(report.drill_id)}</code></h1>",
        f"<p><span class='verdict {status}' id=verdict>{escape(verdict)}</span> "
        f"snapshot <code>{escape(report.snapshot or 'none')}</code> taken {escape(report.snapshot_taken_at or 'n/a')}</p>",
        "<div class=facts>",
        _fact("RPO", format_duration(report.rpo_s), "age of the snapshot when the drill started", "rpo"),
        _fact("RTO", format_duration(report.rto_s), "from start until the restored deployment was verified", "rto"),
    ]
    for name, store_verdict in report.stores().items():
        parts.append(_fact(name, store_verdict, "", f"store-{name.replace(' ', '-')}"))
    parts.append("</div>")
    parts += ["<h2>Steps</h2>", _timeline(report), _steps_table(report)]
    if report.snapshot:
        parts += ["<h2>Restore point</h2>", "<ul id=restore-point>"]
        parts += [f"<li>{escape(line)}</li>" for line in describe_point(report.snapshot, report.restore_point)]
        parts.append("</ul>")
    if report.secrets:
        parts += ["<h2>Secrets</h2>", "<table><tr><th>key</th><th>state</th><th>vault version</th><th>fingerprint</th></tr>"]
        parts += [f"<tr><td>{escape(s['key'])}</td><td>{escape(str(s['state']))}</td>"
                  f"<td>{escape(str(s.get('source', '')))} <code>{escape((s.get('version_id') or '')[:12])}</code></td>"
                  f"<td>{_match(s.get('matches'))}</td></tr>" for s in report.secrets]
        parts.append("</table>")
    if report.media:
        parts += ["<h2>Media</h2>", f"<p>{escape(str(report.media.get('summary', '')))}</p>"]
    if report.checks:
        parts += ["<h2>Checks</h2>", "<table><tr><th>check</th><th>query</th><th>status</th><th>detail</th></tr>"]
        parts += [f"<tr><td>{escape(c.name)}</td><td><code>{escape(c.query)}</code></td><td>{_badge(c.status)}</td>"
                  f"<td>{escape(c.detail)}</td></tr>" for c in report.checks]
        parts.append("</table>")
    if report.web:
        parts.append("<h2>Web app in headless Chromium</h2>")
        for w in report.web:
            img = screenshots.get(w.get("screenshot") or "")
            caption = f"{_badge(w['status'])} <b>{escape(w['name'])}</b>: {escape(w['detail'])}"
            if not img:  # the app's start, and steps skipped after a failure
                parts.append(f"<p class=webstep>{caption}</p>")
                continue
            src = f"data:image/png;base64,{base64.b64encode(img).decode()}"
            parts.append(f"<figure class=shot><img alt='{escape(w['name'])}' src='{src}'>"
                         f"<figcaption>{caption}</figcaption></figure>")
    parts.append(f"<p><small>started {escape(report.started_at)}, finished {escape(report.finished_at or 'n/a')}; "
                 f"deployment {escape(report.deployment_url or 'n/a')}</small></p></body></html>\n")
    return "".join(parts)


def _fact(title: str, value: str, note: str, ident: str) -> str:
    return (f"<div class=fact id={escape(ident)}>{escape(title)}<b>{escape(value)}</b>"
            f"<small>{escape(note)}</small></div>")


def _badge(status: str) -> str:
    cls = status if status in (PASSED, FAILED) else "skipped"
    return f"<span class='verdict {cls}'>{escape(status)}</span>"


def _match(matches: Any) -> str:
    return "n/a" if matches is None else ("matches" if matches else "<b>DIFFERS</b>")


def _steps_table(report: DrillReport) -> str:
    rows = "".join(f"<tr><td>{escape(s.name)}</td><td>{_badge(s.status)}</td><td>{s.duration_s:.1f}s</td>"
                   f"<td>{escape(s.detail)}</td></tr>" for s in report.steps)
    return f"<table id=steps><tr><th>step</th><th>status</th><th>duration</th><th>detail</th></tr>{rows}</table>"


def _timeline(report: DrillReport) -> str:
    """Each step that ran as a bar from its start, its length its duration (an inline SVG)."""
    ran = [s for s in report.steps if s.started_at]
    if not ran:
        return ""
    t0 = datetime.fromisoformat(report.started_at)
    starts = [(datetime.fromisoformat(s.started_at or report.started_at) - t0).total_seconds() for s in ran]
    span = max([st + s.duration_s for st, s in zip(starts, ran, strict=True)] + [1.0])
    width, label, row = 900, 150, 22
    height = row * len(ran) + 24
    out = [f"<svg id=timeline role=img aria-label='drill steps over time' viewBox='0 0 {width} {height}' "
           f"width='100%' xmlns='http://www.w3.org/2000/svg' font-size='12'>"]
    for i, (start, s) in enumerate(zip(starts, ran, strict=True)):
        x = label + (width - label - 10) * start / span
        w = max(2.0, (width - label - 10) * s.duration_s / span)
        y = i * row + 4
        colour = _COLOURS.get(s.status, _SKIPPED)
        out.append(f"<text x='0' y='{y + 13}'>{escape(s.name)}</text>"
                   f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{row - 8}' fill='{colour}'>"
                   f"<title>{escape(s.name)}: {s.duration_s:.1f}s</title></rect>")
    out.append(f"<text x='{label}' y='{height - 4}'>0s</text>"
               f"<text x='{width - 10}' y='{height - 4}' text-anchor='end'>{span:.0f}s</text></svg>")
    return "".join(out)

