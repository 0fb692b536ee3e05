"""The date formats the importers read, and how they decide between day/month and month/day.

Read without any setting:

* ISO 8601: ``2026-03-12``, ``2026-03-12 09:14``, ``2026-03-12T09:14:00.000+0100``, ``…Z``;
* Excel date cells;
* Jira's default and long formats: ``12/Mar/26 9:14 AM``, ``12/Mar/2026 9:14 AM``,
  ``12/Mar/26 09:14``, ``12-Mar-2026 09:14`` (English month names; other languages with the
  ``locale`` setting, e.g. ``locale = "de"`` for ``05/Dez/25 12:29 AM``, see
  :mod:`peereval.importers.months`);
* Google Forms' CSV download: ``2026/03/12 9:14:05 AM GMT+1``, and with a zone abbreviation
  (``11:07:29 AM EST``) when the abbreviation names one UTC offset; an ambiguous one (CST, IST,
  AST, …) stops the import and asks for the ``timezone`` setting (see
  :mod:`peereval.importers.zones`);
* numeric dates such as ``12/03/2026 09:14:05`` or ``3/12/26 9:14:05 AM`` (``/``, ``.`` or
  ``-`` between the parts) **only when the file itself settles the order**: a first part
  above 12 somewhere in the column means day/month, a second part above 12 means month/day.
  When no value settles it, or values contradict each other, the import stops with a problem
  asking for an explicit ``date_format`` — the order is never guessed.

An explicit ``date_format`` (Python ``strptime`` codes, e.g. ``"%d.%m.%Y"``) replaces the
numeric rule (ISO and the named-month formats above are still read). Times with an offset are
converted to UTC, as the loader does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from peereval.errors import DataError, Problem
from peereval.importers import months, zones

JIRA_FORMATS = ("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%d/%b/%y %H:%M", "%d/%b/%Y %H:%M",
                "%d-%b-%Y %H:%M", "%d-%b-%y %I:%M %p", "%d/%b/%y", "%d/%b/%Y")
GOOGLE_FORMATS = ("%Y/%m/%d %I:%M:%S %p", "%Y/%m/%d %H:%M:%S")
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
_NUMERIC = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})\.?(?:[ T]|$)")
_GMT = re.compile(r"\s+(?:GMT|UTC)(?:([+-])(\d{1,2})(?::?(\d{2}))?)?$")
_ABBR = re.compile(r":\d\d(?:\.\d+)?(?:\s*[AP]M)?\s+([A-Z][A-Za-z]{1,5})$")  # after a time (and AM/PM)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_ENGLISH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UNREADABLE = "missing or in an unsupported format"
FOREIGN = "has a month name in another language"


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


@dataclass(frozen=True)
class DateReader:
    """Reads one column's dates: formats, month-name language, and what each zone abbreviation means.

    Build it with :func:`date_reader`, which checks the whole column first (day/month order,
    zone abbreviations) so that a setting the file needs stops the import instead of losing rows.
    """

    formats: tuple[str, ...] = ()
    lang: str = "en"
    zones: Mapping[str, tuple[tzinfo, bool]] = field(default_factory=dict)  # abbr → (zone, is IANA)
    locale_fix: str = ""  # set when some values have month names in another language
    _last: list[str] = field(default_factory=list, compare=False, repr=False)  # format that last matched

    def _names(self) -> dict[str, int]:
        return _names_for(self.lang)

    def _english(self, s: str) -> str:
        names = self._names()

        def repl(m: re.Match[str]) -> str:
            n = names.get(months.fold(m.group(0)))
            return _ENGLISH[n - 1] if n else m.group(0)

        return re.sub(r"[^\W\d_]+\.?", repl, s)

    def parse(self, value: object) -> datetime | None:
        """A datetime (aware when the text carries a zone), or None when unreadable."""
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
        s = months.normalise_period(s, self.lang) if self.lang != "en" or "." in s else s
        tz: tzinfo | None = None
        abbr = None
        m = _GMT.search(s)
        if m:
            s = s[: m.start()]
            offset = timedelta(hours=int(m.group(2) or 0), minutes=int(m.group(3) or 0))
            tz = timezone(-offset if m.group(1) == "-" else offset)
        else:
            a = _ABBR.search(s)
            if a and a.group(1) not in ("AM", "PM"):
                abbr = a.group(1)
                if abbr not in self.zones:
                    return None
                s = s[: a.start(1)].rstrip()
        s = self._english(s)
        for fmt in (*self._last, *self.formats):
            for f in (fmt, fmt.replace("%B", "%b")) if "%B" in fmt else (fmt,):
                try:
                    dt = datetime.strptime(s, f)
                except ValueError:
                    continue
                self._last[:] = [f]
                if abbr is not None:
                    zone, named = self.zones[abbr]
                    tz = timezone(zones.offset_in(zone, abbr, dt)) if named else zone
                return dt.replace(tzinfo=tz) if tz else dt
        return None

    def failure(self, value: object) -> tuple[str, str]:
        """Why ``value`` could not be read, and the fix: ``(reason, fix)``."""
        if self.locale_fix and _foreign_words(str(value or ""), self._names()):
            return FOREIGN, self.locale_fix
        return UNREADABLE, ""


@functools.cache
def _names_for(lang: str) -> dict[str, int]:
    """English month names, overridden by ``lang``'s where a spelling means another month."""
    names = dict(months.month_names("en"))
    if lang != "en":
        names.update(months.month_names(lang))
    return names


def _foreign_words(text: str, names: Mapping[str, int]) -> set[str]:
    """Words of a date text that are month names in another language (not AM/PM, not a zone)."""
    text = _GMT.sub("", text.strip())
    a = _ABBR.search(text)
    if a:
        text = text[: a.start(1)]
    out = set()
    for w in months.words(text):
        f = months.fold(w)
        if f in names or f in ("am", "pm", "t", "z"):
            continue
        if any(f in months.month_names(lang) for lang in months.SUGGESTED if lang != "en"):
            out.add(f)
    return out


def date_reader(values: Iterable[object], settings: Mapping[str, object], file: str, column: str,
                section: str, extra: tuple[str, ...] = ()) -> DateReader:
    """A :class:`DateReader` for one column, after checking every value of it.

    Stops (DataError naming the setting) when the day/month order is not settled, when a zone
    abbreviation is ambiguous or unknown without a ``timezone`` setting, or when ``locale`` or
    ``timezone`` name something unknown.

    Example::

        >>> r = date_reader(["05/Dez/25 12:29 AM"], {"locale": "de"}, "jira.csv", "Created", "jira",
        ...                 JIRA_FORMATS)
        >>> r.parse("20/Mär/26").isoformat()
        '2026-03-20T00:00:00'
        >>> g = date_reader(["2026/03/02 9:14:05 AM EST"], {}, "forms.csv", "Timestamp", "forms",
        ...                 GOOGLE_FORMATS)
        >>> g.parse("2026/03/02 9:14:05 AM EST").isoformat()
        '2026-03-02T09:14:05-05:00'
    """
    values = [v for v in values if isinstance(v, str) and v.strip()]
    formats = resolve_formats(values, settings.get("date_format"), file, column, section, extra)  # type: ignore[arg-type]
    problems: list[Problem] = []
    lang = "en"
    locale = settings.get("locale")
    if locale:
        try:
            lang = months.language(str(locale))
        except ValueError:
            problems.append(Problem("mapping.toml", f"[{section}] locale = '{locale}' is not a known language",
                                    'use a language code such as "de", "fr", "es", "pt", "it" or "nl"',
                                    column="locale"))
    if problems:
        raise DataError(problems)
    zone_map = _zone_settings(settings.get("timezone"), section, problems)
    found: dict[str, tuple[str, int]] = {}
    for v in values:
        s = months.normalise_period(v.strip(), lang) if lang != "en" or "." in v else v.strip()
        a = _ABBR.search(s)
        if a and not _GMT.search(s) and a.group(1) not in ("AM", "PM") and a.group(1) not in found:
            y = _YEAR.search(s)
            found[a.group(1)] = (v.strip(), int(y.group(1)) if y else date.today().year)
    resolved: dict[str, tuple[tzinfo, bool]] = {}
    for abbr, (example, year) in sorted(found.items()):
        fix = (f'say which zone it is in mapping.toml: [{section}] timezone = {{ {abbr} = "Area/City" }} '
               f'(an IANA zone name, or an offset such as "+03:00")')
        if abbr.upper() in zones.UTC_NAMES:
            resolved[abbr] = (UTC, False)
            continue
        mapped = zone_map.get(abbr.upper(), zone_map.get("*"))
        options = zones.candidates(abbr, year)
        if abbr.upper() in zone_map or (mapped is not None and len(options) != 1):
            resolved[abbr] = mapped  # type: ignore[assignment]
        elif len(options) == 1:
            resolved[abbr] = (timezone(next(iter(options))), False)
        elif not options:
            problems.append(Problem(file, f"the time zone '{abbr}' (e.g. '{example}') is not a known "
                                          f"abbreviation", fix, column=column))
        else:
            first = zones.example_zone(next(iter(sorted(options.items())))[1])
            problems.append(Problem(
                file, f"the time zone '{abbr}' (e.g. '{example}') could be {zones.describe(options)}",
                fix.replace('"Area/City"', f'"{first}"'), column=column))
    if problems:
        raise DataError(problems)
    reader = DateReader(formats, lang, resolved)
    unknown: set[str] = set()
    names = reader._names()
    for v in values:
        if reader.parse(v) is None:
            unknown |= _foreign_words(v, names)
    if unknown:
        reader = DateReader(formats, lang, resolved, _locale_fix(unknown, section))
    return reader


def _zone_settings(setting: object, section: str, problems: list[Problem]) -> dict[str, tuple[tzinfo, bool]]:
    """``timezone`` as abbreviation → (zone, is an IANA zone); a single zone applies as ``*``."""
    if not setting:
        return {}
    items = setting.items() if isinstance(setting, dict) else [("*", setting)]
    out = {}
    for abbr, name in items:
        zone = zones.zone_for(str(name))
        if zone is None:
            problems.append(Problem("mapping.toml", f"[{section}] timezone: '{name}' is not a time zone",
                                    'use an IANA name such as "America/Halifax" or an offset such as "+03:00"',
                                    column="timezone"))
            continue
        out[str(abbr).strip().upper()] = (zone, not isinstance(zone, timezone))
    return out


def _locale_fix(unknown: set[str], section: str) -> str:
    from babel import Locale

    langs = months.languages_for(unknown)
    shown = ", ".join(sorted(unknown)[:4])
    if not langs:
        return (f"the month names ({shown}) are in a language peereval could not tell: set "
                f'[{section}] locale = "…" to the language of the export (e.g. "de")')
    names = " or ".join(f'"{lang}" ({Locale(lang).english_name})' for lang in langs[:3])
    return f"set [{section}] locale = {names} in mapping.toml: the month names ({shown}) are not English"


def parse(value: object, formats: tuple[str, ...] = ()) -> datetime | None:
    """A datetime from an Excel cell or text in ISO or one of ``formats``; None when unreadable."""
    return DateReader(formats).parse(value)


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
