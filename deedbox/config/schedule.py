"""EventBridge schedule expressions: parse ``rate(...)`` and ``cron(...)`` and find the longest gap.

The dialect is Amazon EventBridge's (also EventBridge Scheduler's), not Unix cron:
``rate(N unit)`` with ``minute|hour|day`` singular exactly when N is 1; ``cron`` has SIX fields
``minutes hours day-of-month month day-of-week year``, exactly one of day-of-month and
day-of-week is ``?``; day-of-week counts 1-7 from SUN; names JAN-DEC and SUN-SAT; wildcards
``, - * / ? L W #``.

The longest gap between runs is what the rules compare with RPOs and lock periods. For cron it
is measured by enumerating the real calendar over four years (a leap year included), so
"monthly on the 1st" comes out as 31 days and "every weekday" as 3 days.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_RATE = re.compile(r"rate\(([0-9]+) ([a-z]+)\)")
_UNITS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}
HORIZON_YEARS = 4


class ScheduleError(ValueError):
    """The expression does not parse; the message says what is wrong (safe to show)."""


MAX_DIGITS = 9  # no field needs more; int() refuses over 4,300 and would raise a bare ValueError


def _is_number(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts ``²``, which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def _whole(text: str, what: str) -> int:
    if not _is_number(text):
        raise ScheduleError(f"{what}: {text[:12]!r} is not a whole number")
    if len(text) > MAX_DIGITS:
        raise ScheduleError(f"{what}: a {len(text)}-digit number is out of range")
    return int(text)


@dataclass(frozen=True, slots=True)
class Field:
    """One cron field: the allowed values, plus the special day forms (L, W, #)."""

    values: frozenset[int]
    any: bool = False  # `?`
    last: bool = False  # `L` in day-of-month
    last_offset: int = 0  # `L-3`
    weekday_near: frozenset[int] = frozenset()  # `15W`
    last_weekday: bool = False  # `LW`
    nth: frozenset[tuple[int, int]] = frozenset()  # `3#2`: (weekday, n)
    last_of: frozenset[int] = frozenset()  # `6L`: last Friday


@lru_cache(maxsize=256)
def interval_hours(expression: str) -> float:
    """The longest gap between two runs, in hours (``inf`` if it runs at most once)."""
    if expression.startswith("rate("):
        return parse_rate(expression)
    if expression.startswith("cron("):
        return Cron.parse(expression).max_gap_hours()
    raise ScheduleError("a schedule is `rate(N unit)` or `cron(min hour day-of-month month day-of-week year)`")


def parse_rate(expression: str) -> float:
    """``rate(6 hours)`` -> 6.0 hours."""
    m = _RATE.fullmatch(expression)
    if not m:
        raise ScheduleError("rate must be `rate(N unit)` with a whole number N and unit minute(s), hour(s) or day(s)")
    n, unit = _whole(m.group(1), "rate value"), m.group(2)
    if n < 1:
        raise ScheduleError("rate value must be at least 1")
    base = unit[:-1] if unit.endswith("s") else unit
    if base not in _UNITS:
        raise ScheduleError(f"rate unit must be minute(s), hour(s) or day(s), got {unit[:10]!r}")
    if (n == 1) != (unit == base):
        want = base if n == 1 else base + "s"
        raise ScheduleError(f"rate({n} {unit}) must be written rate({n} {want}): singular unit exactly when the value is 1")
    return n * _UNITS[base]


_SPEC = {  # name: (low, high, names)
    "minutes": (0, 59, {}), "hours": (0, 23, {}), "day-of-month": (1, 31, {}),
    "month": (1, 12, MONTHS), "day-of-week": (1, 7, DAYS), "year": (1970, 2199, {}),
}


def _number(token: str, name: str) -> int:
    low, high, names = _SPEC[name]
    value = names.get(token.upper()) if token.upper() in names else (_whole(token, name) if _is_number(token) else None)
    if value is None:
        raise ScheduleError(f"{name}: {token[:12]!r} is not a number{' or name' if names else ''}")
    if not low <= value <= high:
        raise ScheduleError(f"{name}: {value} is out of range {low}-{high}")
    return value


def _range(part: str, name: str) -> set[int]:
    low, high, _ = _SPEC[name]
    base, _, step_text = part.partition("/")
    if step_text and (not _is_number(step_text) or _whole(step_text, name) < 1):
        raise ScheduleError(f"{name}: step {step_text[:12]!r} must be a positive whole number")
    step = _whole(step_text, name) if step_text else 1
    if base == "*":
        start, end = low, high
    elif "-" in base:
        a, b = base.split("-", 1)
        start, end = _number(a, name), _number(b, name)
        if start > end:
            raise ScheduleError(f"{name}: range {base[:12]!r} runs backwards")
    else:
        start = _number(base, name)
        end = high if step_text else start
    return set(range(start, end + 1, step))


def _day_special(part: str, name: str, out: dict) -> bool:
    """Parse L/W/# forms into ``out``; return False when ``part`` is an ordinary value."""
    if name == "day-of-month":
        if part == "L":
            out["last"] = True
        elif part == "LW":
            out["last_weekday"] = True
        elif re.fullmatch(r"L-[0-9]+", part):
            out["last"], out["last_offset"] = True, _whole(part[2:], name)
            if out["last_offset"] > 30:
                raise ScheduleError("day-of-month: L-N needs N at most 30")
        elif re.fullmatch(r"[0-9]+W", part):
            out.setdefault("weekday_near", set()).add(_number(part[:-1], name))
        else:
            return False
        return True
    if name == "day-of-week":
        if part == "L":
            out.setdefault("values", set()).add(7)
        elif re.fullmatch(r"[A-Za-z0-9]+L", part):
            out.setdefault("last_of", set()).add(_number(part[:-1], name))
        elif re.fullmatch(r"[A-Za-z0-9]+#[0-9]", part):
            day, n = part.split("#")
            if not 1 <= int(n) <= 5:
                raise ScheduleError("day-of-week: the number after # must be 1-5")
            out.setdefault("nth", set()).add((_number(day, name), int(n)))
        else:
            return False
        return True
    return False


def parse_field(text: str, name: str) -> Field:
    if text == "?":
        if name not in ("day-of-month", "day-of-week"):
            raise ScheduleError(f"{name}: `?` is only allowed in day-of-month or day-of-week")
        return Field(frozenset(), any=True)
    out: dict = {}
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"{name}: empty item in a list")
        if not _day_special(part, name, out):
            out.setdefault("values", set()).update(_range(part, name))
    kw: dict[str, Any] = {k: frozenset(v) if isinstance(v, set) else v for k, v in out.items()}
    kw.setdefault("values", frozenset())
    return Field(**kw)


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: Field
    hours: Field
    dom: Field
    month: Field
    dow: Field
    year: Field

    @classmethod
    def parse(cls, expression: str) -> Cron:
        m = re.fullmatch(r"cron\((.*)\)", expression)
        fields = m.group(1).split() if m else []
        if len(fields) != 6:
            raise ScheduleError(f"cron needs six fields (minutes hours day-of-month month day-of-week year), got {len(fields)}")
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ScheduleError("cron: exactly one of day-of-month and day-of-week must be `?`")
        return cls(*(parse_field(f, n) for f, n in zip(fields, _SPEC, strict=True)))

    def runs_on(self, day: date) -> bool:
        if day.month not in self.month.values or day.year not in self.year.values:
            return False
        return _dom_match(self.dom, day) if self.dow.any else _dow_match(self.dow, day)

    def max_gap_hours(self) -> float:
        """Longest gap between consecutive runs over the horizon, in hours."""
        times = sorted(h * 60 + m for h in self.hours.values for m in self.minutes.values)
        gaps_in_day = max((b - a for a, b in pairwise(times)), default=0)
        days = [d for d in _horizon(self.year.values) if self.runs_on(d)]
        if len(days) * len(times) < 2:
            return float("inf")
        longest = gaps_in_day if len(times) > 1 else 0
        for a, b in pairwise(days):
            longest = max(longest, (b - a).days * 1440 - times[-1] + times[0])
        return longest / 60


def _horizon(years: frozenset[int]):
    start = min(years) if min(years) > 1970 else 2024
    day, end = date(start, 1, 1), date(start + HORIZON_YEARS, 1, 1)
    while day < end:
        yield day
        day += timedelta(days=1)


def _weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Python Monday=0 -> EventBridge SUN=1..SAT=7


def _dom_match(f: Field, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if day.day in f.values or (f.last and day.day == last - f.last_offset):
        return True
    if f.last_weekday and day == _nearest_weekday(day.replace(day=last)):
        return True
    return any(n <= last and day == _nearest_weekday(day.replace(day=n)) for n in f.weekday_near)


def _nearest_weekday(day: date) -> date:
    """The weekday nearest to ``day`` within its month (Quartz/EventBridge `W`)."""
    if day.weekday() < 5:
        return day
    step = -1 if day.weekday() == 5 else 1
    candidate = day + timedelta(days=step)
    if candidate.month != day.month:
        candidate = day + timedelta(days=-2 * step if step == 1 else 2)
    return candidate


def _dow_match(f: Field, day: date) -> bool:
    wd = _weekday(day)
    if wd in f.values:
        return True
    if (wd, (day.day - 1) // 7 + 1) in f.nth:
        return True
    return wd in f.last_of and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
