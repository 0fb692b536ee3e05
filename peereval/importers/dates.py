"""The date formats the importers read, and how they decide between day/month and month/day.

Read without any setting:

* ISO 8601: ``2026-03-12``, ``2026-03-12 09:14``, ``2026-03-12T09:14:00.000+0100``, ``…Z``;
* Excel date cells;
* Jira's default and long formats: ``12/Mar/26 9:14 AM``, ``12/Mar/2026 9:14 AM``,
  ``12/Mar/26 09:14``, ``12-Mar-2026 09:14`` (English month abbreviations);
* Google Forms' CSV download: ``2026/03/12 9:14:05 AM GMT+1``;
* numeric dates such as ``12/03/2026 09:14:05`` or ``3/12/26 9:14:05 AM`` (``/``, ``.`` or
  ``-`` between the parts) **only when the file itself settles the order**: a first part
  above 12 somewhere in the column means day/month, a second part above 12 means month/day.
  When no value settles it, or values contradict each other, the import stops with a problem
  asking for an explicit ``date_format`` — the order is never guessed.

An explicit ``date_format`` (Python ``strptime`` codes, e.g. ``"%d.%m.%Y"``) replaces the
numeric rule (ISO and the named-month formats above are still read). Times with an offset are converted to UTC, as the loader does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone

from peereval.errors import DataError, Problem

JIRA_FORMATS = ("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%d/%b/%y %H:%M", "%d/%b/%Y %H:%M",
                "%d-%b-%Y %H:%M", "%d-%b-%y %I:%M %p", "%d/%b/%y", "%d/%b/%Y")
GOOGLE_FORMATS = ("%Y/%m/%d %I:%M:%S %p", "%Y/%m/%d %H:%M:%S")
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
_NUMERIC = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})\.?(?:[ T]|$)")
_GMT = re.compile(r"\s+(?:GMT|UTC)(?:([+-])(\d{1,2})(?::?(\d{2}))?)?$")


def _numeric_formats(day_first: bool) -> tuple[str, ...]:
    out = []
    for sep in "/.-":
        order = f"%d{sep}%m" if day_first else f"%m{sep}%d"
        for year in ("%Y", "%y"):
            out += [f"{order}{sep}{year}{t}" for t in _TIMES]
    return tuple(out)


def resolve_formats(values: Iterable[object], date_format: str | None, file: str, column: str,
                    section: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The strptime formats to try for one column (after ISO, which is always tried)."""
    if date_format:
        return (date_format, *extra)
    day_first = month_first = False
    numeric_example = None
    for v in values:
        if not isinstance(v, str):
            continue
        m = _NUMERIC.match(v.strip())
        if not m:
            continue
        numeric_example = numeric_example or v.strip()
        first, second = int(m.group(1)), int(m.group(3))
        day_first |= first > 12
        month_first |= second > 12
    if numeric_example is None:
        return extra
    fix = (f'set the order explicitly in mapping.toml, e.g. [{section}] date_format = "%d/%m/%Y %H:%M:%S" '
           f'(day first) or "%m/%d/%Y %H:%M:%S" (month first)')
    if day_first and month_first:
        raise DataError([Problem(file, "dates are written both day/month and month/day", fix, column=column)])
    if not (day_first or month_first):
        raise DataError([Problem(
            file, f"dates like '{numeric_example}' could be day/month or month/day and no value in the "
                  f"file settles it", fix, column=column)])
    return extra + _numeric_formats(day_first)


def parse(value: object, formats: tuple[str, ...] = ()) -> datetime | None:
    """A datetime from an Excel cell or text in ISO or one of ``formats``; None when unreadable."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    s = str(value or "").strip()
    if not s:
        return None
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        pass
    tz = None
    m = _GMT.search(s)
    if m:
        s = s[: m.start()]
        sign, hours, minutes = m.group(1), int(m.group(2) or 0), int(m.group(3) or 0)
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if sign == "-" else offset)
    for fmt in formats:
        try:
            dt = datetime.strptime(s, fmt)
        except ValueError:
            continue
        return dt.replace(tzinfo=tz) if tz else dt
    return None


def utc_naive(dt: datetime) -> datetime:
    """Offsets converted to UTC; naive times are kept as they are."""
    if dt.tzinfo is not None:
        return dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def timestamp_text(dt: datetime) -> str:
    """``2026-03-12T09:14:00`` (offsets converted to UTC, seconds kept, microseconds dropped)."""
    return utc_naive(dt).replace(microsecond=0).isoformat()


def day_text(dt: datetime) -> str:
    """``2026-03-12``: the calendar day as written in the export (no time-zone shift)."""
    return dt.date().isoformat()
