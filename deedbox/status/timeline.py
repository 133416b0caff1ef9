"""The timeline as an inline SVG (pure): one lane per class, one mark per event, the RPO shaded.

Each lane's shaded band is its RPO window, ``[end - limit, end]``: a good mark inside it is what
makes the class fresh. Good marks are filled circles, failed ones hollow red diamonds drawn on top; each mark
carries ``data-at``/``data-key``/``data-ok`` and a ``<title>`` (the tooltip). The time axis is
in UTC with ticks at round hours or days, whichever gives at most ``MAX_TICKS``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

from deedbox.bucket.snapshots import format_ts
from deedbox.status.history import Event, Lane, Window

WIDTH, LEFT, RIGHT, TOP, LANE_H, AXIS_H = 960, 92, 16, 10, 44, 34
MAX_TICKS = 10
_STEPS = [timedelta(hours=h) for h in (1, 3, 6, 12)] + [timedelta(days=d) for d in (1, 2, 7, 14, 30, 61, 91, 182)]


def render_svg(window: Window, lanes: tuple[Lane, ...]) -> str:
    height = TOP + LANE_H * max(len(lanes), 1) + AXIS_H
    parts = [f'<svg id="timeline-svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" role="img" aria-label="backups over the last {window.days} days">']
    for row, lane in enumerate(lanes):
        parts.append(_lane(window, lane, TOP + row * LANE_H))
    parts.append(_axis(window, TOP + LANE_H * len(lanes)))
    parts.append("</svg>")
    return "\n".join(parts)


def x_of(window: Window, moment: datetime) -> float:
    """The x coordinate of ``moment`` (clamped to the plot)."""
    span = (window.end - window.start).total_seconds() or 1.0
    share = min(max((moment - window.start).total_seconds() / span, 0.0), 1.0)
    return round(LEFT + share * (WIDTH - LEFT - RIGHT), 2)


def _lane(window: Window, lane: Lane, y: int) -> str:
    mid = y + LANE_H / 2
    rpo_x = x_of(window, window.end - timedelta(hours=lane.limit_hours))
    name = escape(lane.data_class)
    out = [f'<g class="lane" data-class="{name}">',
           f'<rect class="lane-bg" x="{LEFT}" y="{y + 4}" width="{WIDTH - LEFT - RIGHT}" height="{LANE_H - 8}"/>',
           f'<rect class="rpo-window" data-hours="{lane.limit_hours}" x="{rpo_x}" y="{y + 4}" '
           f'width="{round(x_of(window, window.end) - rpo_x, 2)}" height="{LANE_H - 8}">'
           f'<title>RPO window: the last {lane.limit_hours} h</title></rect>',
           f'<text class="lane-label" x="{LEFT - 8}" y="{mid + 4}" text-anchor="end">{name}</text>']
    # failed marks last, so a dense lane never hides one under its neighbours; good marks shrink
    # (to 2.5) when a lane holds more than fit side by side
    radius = round(min(5.0, max(2.5, (WIDTH - LEFT - RIGHT) / (2.4 * max(len(lane.events), 1)))), 2)
    out += [_mark(window, e, mid, radius) for e in sorted(lane.events, key=lambda e: e.ok, reverse=True)]
    out.append("</g>")
    return "\n".join(out)


def _mark(window: Window, event: Event, mid: float, radius: float) -> str:
    x = x_of(window, event.at)
    attrs = (f'data-at="{format_ts(event.at)}" data-key="{escape(event.key)}" data-ok="{str(event.ok).lower()}"')
    title = f"<title>{escape(_when(event.at))} {escape(event.key)}: {escape(event.detail)}</title>"
    if event.ok:
        return f'<circle class="mark ok" {attrs} cx="{x}" cy="{mid}" r="{radius}">{title}</circle>'
    points = f"{x},{mid - 7} {x + 6},{mid} {x},{mid + 7} {x - 6},{mid}"
    return f'<polygon class="mark failed" {attrs} points="{points}">{title}</polygon>'


def ticks(window: Window) -> list[datetime]:
    """Round UTC moments inside the window, at most ``MAX_TICKS`` of them."""
    span = window.end - window.start
    step = next((s for s in _STEPS if span / s <= MAX_TICKS), _STEPS[-1])
    hourly = step < timedelta(days=1)
    unit = timedelta(hours=1) if hourly else timedelta(days=1)
    moment = window.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if not hourly:
        moment = moment.replace(hour=0)
    while moment < window.start or (hourly and moment.hour % (step // unit)):
        moment += unit
    out = []
    while moment <= window.end:
        out.append(moment)
        moment += step
    return out


def _axis(window: Window, y: int) -> str:
    daily = (window.end - window.start) > timedelta(days=2)
    out = [f'<g class="axis"><line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>']
    for moment in ticks(window):
        x = x_of(window, moment)
        label = moment.strftime("%Y-%m-%d" if daily else "%m-%d %H:%M")
        out.append(f'<line class="tick" x1="{x}" y1="{TOP}" x2="{x}" y2="{y + 5}"/>'
                   f'<text class="tick-label" x="{x}" y="{y + 18}" text-anchor="middle">{label}</text>')
    out.append(f'<text class="axis-label" x="{WIDTH - RIGHT}" y="{y + 31}" text-anchor="end">'
               f'UTC · now {escape(_when(window.end))}</text></g>')
    return "\n".join(out)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
