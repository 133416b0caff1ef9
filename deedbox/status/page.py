"""``status --format html``: one self-contained page from a ``StatusReport`` (pure).

Top to bottom: the verdict banner (all fresh, or STALE and which classes), one card per class
(state, age, RPO, newest evidence, events in the window), the timeline (``timeline.render_svg``),
the drill history with RPO and RTO per drill, and the open findings. Inline CSS and SVG only: no
script, no external fetch (a Content-Security-Policy of ``default-src 'none'`` says so to the
browser too). Every text is escaped: keys, details and drill reports come from the bucket and
are never trusted as HTML.

Every number shown is also in an element's ``data-value`` (``""`` for none), printed as the JSON
document prints it, so a reader (or a test) can hold the page against ``status --format json``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from deedbox import __version__
from deedbox.bucket.drills import DrillRecord
from deedbox.bucket.snapshots import format_ts, parse_ts
from deedbox.status.freshness import ClassStatus
from deedbox.status.history import Lane
from deedbox.status.report import Finding, StatusReport
from deedbox.status.timeline import render_svg

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --ink: #1f2328; --mute: #59636e;
        --line: #d1d9e0; --bg: #f6f8fa; --rpo: #dafbe1; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
main { max-width: 1000px; margin: 0 auto; padding: 0 16px 32px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
#verdict { padding: 18px 24px; color: #fff; font-size: 22px; font-weight: 600; }
#verdict.fresh { background: var(--ok); } #verdict.stale { background: var(--bad); }
#verdict small { display: block; font-size: 14px; font-weight: 400; opacity: .9; }
.meta { color: var(--mute); margin: 12px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-left: 6px solid var(--ok); border-radius: 6px; padding: 12px 14px; }
.card.stale { border-left-color: var(--bad); }
.card h3 { margin: 0; font-size: 17px; } .card .state { font-weight: 700; color: var(--ok); }
.card.stale .state { color: var(--bad); }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 8px 0; }
.card dt { color: var(--mute); } .card dd { margin: 0; }
.detail { color: var(--mute); font-size: 13px; overflow-wrap: anywhere; margin: 0; }
#timeline svg { border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.lane-bg { fill: var(--bg); } .rpo-window { fill: var(--rpo); }
.lane-label { font-size: 13px; fill: var(--ink); }
.mark.ok { fill: var(--ok); } .mark.failed { fill: #fff; stroke: var(--bad); stroke-width: 2; }
.axis line { stroke: var(--mute); } .axis .tick { stroke: var(--line); stroke-dasharray: 2 3; }
.tick-label, .axis-label { font-size: 11px; fill: var(--mute); }
.legend { color: var(--mute); font-size: 13px; }
.legend .ok { color: var(--ok); } .legend .failed { color: var(--bad); }
.legend .rpo { background: var(--rpo); padding: 0 6px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); } td.num-cell, td.started { white-space: nowrap; } td code { font-size: 12px; }
.passed { color: var(--ok); font-weight: 600; } .failed, .unreadable { color: var(--bad); font-weight: 600; }
.skipped { color: var(--mute); } .human { color: var(--mute); }
#findings ul { padding: 0; list-style: none; }
.finding { border-left: 4px solid var(--warn); background: var(--bg); padding: 8px 12px; margin: 0 0 8px; }
.finding.stale, .finding.drill-failed, .finding.vault-drift { border-left-color: var(--bad); }
.finding .kind { font-weight: 700; margin-right: 6px; }
.none { color: var(--ok); }
footer { color: var(--mute); font-size: 12px; margin-top: 32px; }
"""


def render_html(report: StatusReport) -> str:
    lanes = {lane.data_class: lane for lane in report.timeline}
    body = [_verdict(report), "<main>", _meta(report),
            '<section id="classes"><h2>Data classes</h2><div class="cards">',
            *(_card(c, lanes.get(c.data_class)) for c in report.classes), "</div></section>",
            _timeline(report), _drills(report), _findings(report.findings),
            f"<footer>deedbox {escape(__version__)} · <code>deedbox status --format html</code></footer>",
            "</main>"]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{'fresh' if report.fresh else 'STALE'} · deedbox status · {escape(report.bucket)}</title>"
            f"<style>{CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")


def num(value: float | int | None) -> str:
    """A number as the JSON document prints it (``""`` for none)."""
    return "" if value is None else repr(value)


def _value(cls: str, value: float | int | None, unit: str = "", tag: str = "span", after: str = "") -> str:
    shown = "–" if value is None else f'<span class="num">{num(value)}</span>{unit}'
    return f'<{tag} class="{cls}" data-value="{num(value)}">{shown}{after}</{tag}>'


def duration(seconds: float | None) -> str:
    """Pure: ``1h 02m 03s`` / ``2m 03s`` / ``45s`` / ``3d 04h`` (whole seconds)."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d {h:02d}h"
    return f"{h}h {m:02d}m {s:02d}s" if h else (f"{m}m {s:02d}s" if m else f"{s}s")


def when(ts: str | None) -> str:
    """``20261127T120000Z`` as ``2026-11-27 12:00 UTC`` (anything else as it is)."""
    if not ts:
        return "–"
    try:
        return parse_ts(ts).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return ts


def _iso_when(text: str | None) -> str:
    """An ISO 8601 moment (a drill's ``started_at``) as ``2026-11-27 12:00 UTC`` (else as it is)."""
    if not text:
        return "–"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _verdict(report: StatusReport) -> str:
    opened = len(report.findings)
    note = f"<small>{opened} open finding{'s' if opened != 1 else ''} below</small>" if opened else \
        "<small>no open findings</small>"
    if report.fresh:
        return f'<header id="verdict" class="fresh" data-fresh="true">All backups fresh{note}</header>'
    stale = ", ".join(f"{escape(c.data_class)} ({'no good evidence' if c.age_hours is None else f'{num(c.age_hours)} h old'}"
                      f", RPO {c.limit_hours} h)" for c in report.stale)
    return f'<header id="verdict" class="stale" data-fresh="false">STALE: {stale}{note}</header>'


def _meta(report: StatusReport) -> str:
    w = report.window
    return (f'<p class="meta">bucket <code id="bucket">{escape(report.bucket)}</code> · generated '
            f'<time id="generated-at" data-ts="{format_ts(w.end)}">{escape(when(format_ts(w.end)))}</time>'
            f" · window {_value('window-days', w.days, tag='span')} days "
            f"(<code>{escape(w.basis)}</code>: what is still locked)</p>")


def _card(c: ClassStatus, lane: Lane | None) -> str:
    state = "fresh" if c.fresh else ("missing" if c.newest is None else "STALE")
    counts = "" if lane is None else (
        f"<dt>in window</dt><dd>{_value('count-ok', lane.ok_count)} good · "
        f"{_value('count-failed', lane.failed_count)} failed</dd>")
    return (f'<article class="card {"fresh" if c.fresh else "stale"}" id="class-{escape(c.data_class)}" '
            f'data-class="{escape(c.data_class)}" data-fresh="{str(c.fresh).lower()}">'
            f'<h3>{escape(c.data_class)} <span class="state">{state}</span></h3><dl>'
            f"<dt>age</dt><dd>{_value('age', c.age_hours, ' h')}</dd>"
            f"<dt>RPO</dt><dd>{_value('rpo', c.limit_hours, ' h')}</dd>"
            f'<dt>newest</dt><dd class="newest" data-ts="{escape(c.newest or "")}">{escape(when(c.newest))}</dd>'
            f'{counts}</dl><p class="detail">{escape(c.detail)}</p></article>')


def _timeline(report: StatusReport) -> str:
    return (f'<section id="timeline"><h2>Timeline: the last {_value("window-days", report.window.days)} days</h2>'
            + render_svg(report.window, report.timeline)
            + '<p class="legend"><span class="ok">●</span> good snapshot / record / check · '
              '<span class="failed">◆</span> incomplete or failed · <span class="rpo">shaded</span>: '
              "each class's RPO window (a good mark inside it makes the class fresh)</p></section>")


def _drills(report: StatusReport) -> str:
    s = report.drill_summary
    head = (f'<section id="drills"><h2>Restore drills</h2><p id="drill-summary">'
            f"{_value('drill-count', s.count)} drill{'' if s.count == 1 else 's'}: {_value('drill-passed', s.passed)} passed, "
            f"{_value('drill-failed', s.failed)} failed. RTO of passed drills: newest "
            f"{_value('rto-newest', s.rto_newest_s, ' s')}, worst {_value('rto-worst', s.rto_worst_s, ' s')}, "
            f"best {_value('rto-best', s.rto_best_s, ' s')}</p>")
    if not report.drills:
        return head + '<p class="none">no drill report in the bucket yet: run <code>deedbox drill run</code></p></section>'
    rows = "\n".join(_drill_row(d) for d in report.drills)
    return (head + "<table><thead><tr><th>started</th><th>status</th><th>failed step</th>"
            "<th>RPO</th><th>RTO</th><th>stores</th><th>report</th></tr></thead><tbody>\n"
            + rows + "\n</tbody></table></section>")


def _drill_row(d: DrillRecord) -> str:
    failed = "" if not d.failed_step else escape(d.failed_step) + (
        f'<div class="detail">{escape(d.failed_detail)}</div>' if d.failed_detail else "")
    if d.detail:
        failed += f'<div class="detail">{escape(d.detail)}</div>'
    stores = " · ".join(f'{escape(k)} <span class="{escape(v)}">{escape(v)}</span>' for k, v in d.stores.items())
    return (f'<tr class="drill" data-key="{escape(d.key)}" data-status="{escape(d.status)}">'
            f'<td class="started" title="{escape(d.drill_id or "")}">{escape(_iso_when(d.started_at))}</td>'
            f'<td class="status {escape(d.status)}">{escape(d.status)}</td><td class="failed-step">{failed}</td>'
            f"{_seconds('rpo', d.rpo_s)}{_seconds('rto', d.rto_s)}<td>{stores}</td>"
            f"<td><code>{escape(d.html or d.key)}</code></td></tr>")


def _seconds(cls: str, value: float | None) -> str:
    human = f' <span class="human">({duration(value)})</span>' if value is not None else ""
    return _value(f"{cls} num-cell", value, " s", tag="td", after=human)


def _findings(found: tuple[Finding, ...]) -> str:
    head = f'<section id="findings"><h2>Open findings ({_value("findings-count", len(found))})</h2>'
    if not found:
        return head + '<p class="none">nothing open</p></section>'
    items = "\n".join(
        f'<li class="finding {escape(f.kind)}" data-kind="{escape(f.kind)}"><span class="kind">{escape(f.kind)}</span>'
        f'<span class="subject">{escape(f.subject)}</span>: {escape(f.detail)}'
        + (f' <code class="key">{escape(f.key)}</code>' if f.key else "") + "</li>" for f in found)
    return head + f"<ul>\n{items}\n</ul></section>"
