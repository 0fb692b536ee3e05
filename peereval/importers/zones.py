"""Time-zone abbreviations in exported timestamps (``2022/06/22 11:07:29 AM AST``) → UTC offsets.

An abbreviation is read without a setting only when the sources agree on one UTC offset for it:
the IANA tz database (every zone, 1990–2037, through :mod:`zoneinfo`) and CLDR's English short
zone names (every English locale, through babel). Abbreviations naming several offsets — CST
(Chicago UTC−6, Havana UTC−5, Shanghai UTC+8), IST (India, Israel, Ireland), BST (London,
Dhaka) — and AST, which is Atlantic Standard Time (UTC−4) in both sources but also Arabia
Standard Time (UTC+3), the abbreviation the tz database gave Riyadh, Baghdad and Kuwait until
2017 and Java-based exports such as Google Sheets still print, are never guessed: the import stops
and asks for a ``timezone`` setting (an IANA zone or a fixed offset such as ``"+03:00"``).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

Offsets = dict[timedelta, set[str]]  # offset → zones writing the abbreviation with it

_ABBR = re.compile(r"^[A-Z][A-Za-z]{1,5}$")
_UPPER = re.compile(r"^[A-Z]{2,5}$")
_FIXED = re.compile(r"^(?:UTC|GMT)?\s*([+-−])(\d{1,2})(?::?(\d{2}))?$")
#: Abbreviations the tz database retired (2017a) for zones that others still write them for.
RETIRED = {"AST": ("Asia/Riyadh", "Asia/Baghdad", "Asia/Kuwait", "Asia/Qatar", "Asia/Aden")}
UTC_NAMES = frozenset({"UTC", "GMT", "Z", "UT"})


def parse_offset(text: str) -> timedelta | None:
    """``+03:00``, ``-4``, ``UTC+5:30``, ``GMT-3`` → the offset; None when not an offset."""
    m = _FIXED.match(text.strip())
    if not m:
        return None
    sign = -1 if m.group(1) in "-−" else 1
    return sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))


def offset_text(offset: timedelta) -> str:
    """``UTC−04:00``"""
    minutes = int(offset.total_seconds() // 60)
    sign = "−" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@functools.cache
def _preferred() -> tuple[frozenset[str], frozenset[str]]:
    """(CLDR's main zone of each Windows zone, zone1970.tab zones): recognisable examples."""
    from babel.core import get_global

    main = frozenset(get_global("windows_zone_mapping").values())
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "zone1970.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return main, frozenset()
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    return main, frozenset(r[2] for r in rows if len(r) > 2)


@functools.cache
def _standard_daylight(name: str) -> tuple[timedelta, timedelta] | None:
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    offsets = [datetime(2025, m, 15, 12, tzinfo=UTC).astimezone(zone).utcoffset() for m in (1, 7)]
    return min(offsets), max(offsets)  # type: ignore[type-var]


@functools.cache
def _zones() -> tuple[ZoneInfo, ...]:
    out = []
    for name in sorted(available_timezones()):
        try:
            out.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return tuple(out)


@functools.cache
def _tz_database(year: int) -> dict[str, Offsets]:
    """Abbreviation → offsets → zones, as the tz database writes them in ``year``."""
    table: dict[str, Offsets] = defaultdict(lambda: defaultdict(set))
    for zone in _zones():
        for month in (1, 4, 7, 10):
            local = datetime(year, month, 15, 12, tzinfo=UTC).astimezone(zone)
            abbr = local.tzname()
            if abbr and _ABBR.match(abbr):
                table[abbr][local.utcoffset()].add(zone.key)  # type: ignore[index]
    return table


@functools.cache
def _cldr_english() -> dict[str, Offsets]:
    """Abbreviation → offsets → zones from the short names of every English CLDR locale."""
    from babel import Locale, localedata
    from babel.core import get_global, parse_locale

    zones_of: dict[str, list[str]] = defaultdict(list)
    for zone, metazone in get_global("meta_zones").items():
        zones_of[metazone].append(zone)
    table: dict[str, Offsets] = defaultdict(lambda: defaultdict(set))

    def add(abbr: str | None, zones: list[str], kind: str) -> None:
        if not abbr or not _UPPER.match(abbr):
            return
        for name in zones:
            pair = _standard_daylight(name)
            if pair is None:
                continue
            if kind == "standard":
                table[abbr][pair[0]].add(name)
            elif pair[1] != pair[0]:
                table[abbr][pair[1]].add(name)

    for ident in localedata.locale_identifiers():
        parts = parse_locale(ident)
        if parts[0] != "en" or parts[2] is not None:
            continue
        locale = Locale.parse(ident)
        for metazone, names in locale.meta_zones.items():
            for kind in ("standard", "daylight"):
                add(names.get("short", {}).get(kind), zones_of[metazone], kind)
        for zone, names in locale.time_zones.items():
            for kind in ("standard", "daylight"):
                add(names.get("short", {}).get(kind), [zone], kind)
    return table


def candidates(abbr: str, year: int) -> Offsets:
    """Every UTC offset the sources give ``abbr`` around ``year``, with the zones using it."""
    out: Offsets = defaultdict(set)
    tables = [_tz_database(y) for y in (year - 1, year, year + 1) if 1900 < y < 2100]
    for table in (*tables, _cldr_english()):
        for offset, zones in table.get(abbr, {}).items():
            out[offset] |= zones
    for name in RETIRED.get(abbr, ()):
        pair = _standard_daylight(name)
        if pair is not None:
            out[pair[0]].add(name)
    return dict(out)


def example_zone(zones: set[str]) -> str:
    """A recognisable zone of ``zones`` (America/Halifax rather than America/Anguilla)."""
    main, canonical = _preferred()
    for pool in (main, canonical):
        chosen = sorted(z for z in zones if z in pool)
        if chosen:
            return chosen[0]
    return sorted(zones)[0]


def describe(offsets: Offsets) -> str:
    """``UTC−04:00 (e.g. America/Halifax) or UTC+03:00 (e.g. Asia/Riyadh)``"""
    return " or ".join(f"{offset_text(o)} (e.g. {example_zone(z)})" for o, z in sorted(offsets.items()))


def zone_for(setting: str) -> tzinfo | None:
    """The zone a ``timezone`` value names: an IANA zone or a fixed offset; None when neither."""
    offset = parse_offset(setting)
    if offset is not None:
        return timezone(offset)
    try:
        return ZoneInfo(setting.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def offset_in(zone: tzinfo, abbr: str, local: datetime) -> timedelta:
    """The offset meant by ``abbr`` in ``zone``: the one the zone writes with that abbreviation,
    else the zone's offset at ``local`` (a mapped zone that never writes ``abbr``)."""
    if isinstance(zone, ZoneInfo):
        used = {o for o, zones in _tz_database(local.year).get(abbr, {}).items() if zone.key in zones}
        if len(used) == 1:
            return next(iter(used))
    offset = local.replace(tzinfo=zone).utcoffset()
    assert offset is not None
    return offset
