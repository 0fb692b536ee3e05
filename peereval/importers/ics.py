"""iCalendar (.ics) sessions → ``sessions.csv`` and ``attendance.csv``.

Parsed with ``icalendar``; recurring events are expanded with ``recurring-ical-events`` (RFC 5545:
several RRULEs, RDATE, EXDATE, and moved or cancelled occurrences through RECURRENCE-ID) and
Google's ``X-WR-TIMEZONE`` is honoured with ``x-wr-timezone`` (floating and UTC times are read in
the calendar's zone, so a 9 PM session keeps its day). Nothing of RFC 5545 is hand-written here.

Each VEVENT (or occurrence) is a session: session_id = UID (``<UID>#<YYYYMMDD>`` of the original
date for occurrences, so a moved occurrence keeps its id), date = day of DTSTART (in the event's
zone, or in ``timezone`` when set), duration_minutes = DTEND − DTSTART (or DURATION), format = the
value of the first ``[ics.formats]`` keyword found in SUMMARY, then DESCRIPTION (else
``default_format``), topic = SUMMARY without that keyword, facilitator = the ORGANIZER's email
mapped to person_id (people table, then ``[ics.people]``), or ``default_facilitator`` for events
without an organizer (or organized by a calendar, not a person); team = ``team`` when set.

ATTENDEE lines become attendance rows. PARTSTAT is an RSVP, not a record of attendance; the rule
(configurable in ``[ics.partstat]``, values ``attended``/``absent``/``skip``) is: ACCEPTED →
attended; DECLINED, TENTATIVE, NEEDS-ACTION (also when PARTSTAT is missing) and DELEGATED →
absent. Rooms and resources (CUTYPE=ROOM/RESOURCE) and guests from outside the company (an email
domain no person has) are left out as intended.

Left out as intended (counted, not losses): cancelled events, events after ``until`` (not yet
held; a later import picks them up), all-day events, events without an ``[ics.formats]`` keyword
(when there is no ``default_format``). Skipped as losses: events without UID or DTSTART, unreadable
recurrence rules, zero or negative durations, and events whose facilitator is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone

from peereval.errors import DataError, Problem
from peereval.importers.merge import Skips
from peereval.importers.sources import Target, is_outsider, people_by_email, person_ids

SETTINGS = {"formats": dict, "default_format": str, "people": dict, "partstat": dict, "team": str,
            "until": str, "timezone": str, "default_facilitator": str}
TABLES = ("sessions", "attendance")
UNIT = "session"
PARTSTAT = {"ACCEPTED": "attended", "DECLINED": "absent", "TENTATIVE": "absent",
            "NEEDS-ACTION": "absent", "DELEGATED": "absent"}
MAX_OCCURRENCES = 1000
CALENDAR_DOMAINS = ("calendar.google.com",)  # organizer is a (group/resource) calendar, not a person
FIX_RULE = "correct or remove the event's RRULE/RDATE in the calendar (it is not valid RFC 5545)"
FIX_DURATION = "correct the event's end time in the calendar (it must end after it starts)"


@dataclass(frozen=True)
class _Occurrence:
    session_id: str
    event: icalendar.Event       # the occurrence (times of this occurrence)
    source: icalendar.Event      # the VEVENT it comes from (master or RECURRENCE-ID override)
    where: str


def _email(value: object) -> str:
    s = str(value or "").strip()
    return s[7:].strip().lower() if s.lower().startswith("mailto:") else s.lower()


def _settings(settings: dict, file: str) -> tuple[dict[str, str], date, ZoneInfo | None]:
    partstat = dict(PARTSTAT)
    problems = []
    for key, value in settings.get("partstat", {}).items():
        if value not in ("attended", "absent", "skip"):
            problems.append(Problem("mapping.toml", f"[ics.partstat] maps {key} to '{value}'",
                                    'use "attended", "absent" or "skip"', column=key))
        partstat[key.strip().upper()] = value
    try:
        until = date.fromisoformat(settings["until"]) if settings.get("until") else date.today()
    except ValueError:
        problems.append(Problem("mapping.toml", f"until = '{settings['until']}' is not a date",
                                'write it as until = "2026-10-31"', column="until"))
        until = date.today()
    zone = None
    if settings.get("timezone"):
        try:
            zone = ZoneInfo(settings["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(Problem("mapping.toml", f"unknown time zone '{settings['timezone']}'",
                                    'use an IANA name such as "Europe/Berlin"', column="timezone"))
    if not settings.get("formats") and not settings.get("default_format"):
        problems.append(Problem("mapping.toml", "no way to tell a session's format",
                                'add [ics.formats], e.g. "skill swap" = "skill-swap", or [ics] default_format',
                                column="ics.formats"))
    if problems:
        raise DataError(problems)
    return partstat, until, zone


def _read(source: Path) -> icalendar.Calendar:
    if not source.is_file():
        raise DataError([Problem(source.name, "file not found", f"check the path {source}")])
    fix = "export the calendar again as .ics (iCalendar)"
    try:
        cal = icalendar.Calendar.from_ical(source.read_bytes())
    except Exception as exc:  # any parser failure is the file's problem, never a traceback
        detail = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        raise DataError([Problem(source.name, f"cannot be read as iCalendar ({detail})", fix)]) from None
    if cal.name != "VCALENDAR":
        raise DataError([Problem(source.name, "is not an iCalendar file (no VCALENDAR)", fix)])
    name = str(cal.get("X-WR-TIMEZONE", "")).strip()
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise DataError([Problem(source.name, f"X-WR-TIMEZONE '{name}' is not a known time zone",
                                     "correct it in the calendar's settings and export again",
                                     column="X-WR-TIMEZONE")]) from None
        try:
            cal = x_wr_timezone.to_standard(cal)
        except Exception as exc:  # the library's failure is the file's problem
            raise DataError([Problem(source.name, f"times cannot be read in X-WR-TIMEZONE '{name}' "
                                                  f"({type(exc).__name__})", fix)]) from None
    return cal


def _dt(event: icalendar.Event, name: str):
    try:
        return event.decoded(name) if name in event else None
    except Exception:  # an unreadable value counts as missing; the caller skips the event
        return None


def _length(ev: icalendar.Event) -> timedelta | None:
    """The event's own length (DTEND − DTSTART, or DURATION); None when it has neither."""
    start, end, duration = _dt(ev, "DTSTART"), _dt(ev, "DTEND"), _dt(ev, "DURATION")
    if isinstance(end, datetime) and isinstance(start, datetime):
        try:
            return end - start
        except TypeError:  # floating vs. zoned times
            return end.replace(tzinfo=None) - start.replace(tzinfo=None)
    return duration if isinstance(duration, timedelta) else None


def _occurrences(cal: icalendar.Calendar, until: date, file: str, skips: Skips) -> list[_Occurrence]:
    """Every session up to ``until``: single events as they are, recurring ones expanded."""
    groups: dict[str, list[tuple[int, icalendar.Event]]] = {}
    for n, ev in enumerate(cal.walk("VEVENT"), start=1):
        uid = str(ev.get("UID", "")).strip()
        if not uid:
            skips.read()
            skips.add("event without UID (cannot be matched on re-import)", f"{file}:event {n}",
                      fix="export the calendar again (every event has a UID)")
            continue
        groups.setdefault(uid, []).append((n, ev))
    zones = list(cal.walk("VTIMEZONE"))
    out: list[_Occurrence] = []
    for uid, members in groups.items():
        n, master = next(((k, e) for k, e in members if "RECURRENCE-ID" not in e), members[0])
        where = f"{file}:event {n}"
        start = _dt(master, "DTSTART")
        recurring = len(members) > 1 or any(k in master for k in ("RRULE", "RDATE", "RECURRENCE-ID"))
        if not isinstance(start, datetime):
            skips.read()
            if start is None:
                skips.add("no DTSTART", where, fix="export the calendar again (the event has no start)")
            else:
                skips.add("all-day event (no start time)", where, expected=True,
                          fix="give the session a start and end time in the calendar to import it")
            continue
        if not recurring:
            out.append(_Occurrence(uid, master, master, f"{file}:{uid}"))
            continue
        out.extend(_expand(uid, members, zones, until, file, skips))
    return out


def _expand(uid: str, members: list[tuple[int, icalendar.Event]], zones: list, until: date, file: str,
            skips: Skips) -> list[_Occurrence]:
    overrides = {}
    for _, ev in members:
        rid = _dt(ev, "RECURRENCE-ID")
        if rid is not None:
            overrides[f"{rid:%Y%m%d}"] = ev
    master = next((ev for _, ev in members if "RECURRENCE-ID" not in ev), members[0][1])
    series = icalendar.Calendar()
    for component in (*zones, *(ev for _, ev in members)):
        series.add_component(component)
    where = f"{file}:event {members[0][0]}"
    try:
        found = list(recurring_ical_events.of(series).between(date(1900, 1, 1), until + timedelta(days=1)))
    except Exception:  # the library's refusal of a broken rule is the file's problem
        skips.read()
        skips.add("recurrence rule cannot be read (the whole series)", where, fix=FIX_RULE)
        return []
    found.sort(key=lambda ev: _key_time(_dt(ev, "RECURRENCE-ID") or _dt(ev, "DTSTART")))
    if len(found) > MAX_OCCURRENCES:
        skips.read(len(found) - MAX_OCCURRENCES)
        skips.add(f"occurrences beyond the first {MAX_OCCURRENCES}", where, len(found) - MAX_OCCURRENCES,
                  fix="import a shorter period (set until), or split the series in the calendar")
        found = found[:MAX_OCCURRENCES]
    out, seen = [], set()
    for ev in found:
        original = _dt(ev, "RECURRENCE-ID") or _dt(ev, "DTSTART")
        day = f"{original:%Y%m%d}"
        if day in seen:
            skips.read()
            skips.add("two occurrences on one day (the later one is skipped)", where,
                      fix="give the second occurrence of that day its own event in the calendar")
            continue
        seen.add(day)
        out.append(_Occurrence(f"{uid}#{day}", ev, overrides.get(day, master), f"{file}:{uid}#{day}"))
    return out


def _key_time(value: object) -> datetime:
    """A sort key: aware times in UTC, floating times as written, days at midnight."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return datetime.combine(value, datetime.min.time()) if isinstance(value, date) else datetime.min


def _format(ev: icalendar.Event, formats: dict[str, str], default: str) -> tuple[str | None, str]:
    summary = str(ev.get("SUMMARY", "")).strip()
    description = str(ev.get("DESCRIPTION", "")).strip()
    for keyword, fmt in formats.items():
        k = keyword.strip().lower()
        pos = summary.lower().find(k)
        if pos >= 0:
            topic = (summary[:pos] + " " + summary[pos + len(k):]).strip(" :-–—|·,")
            return fmt, " ".join(topic.split())
        if k in description.lower():
            return fmt, summary
    return (default or None), summary


def _default_facilitator(settings: dict, people: dict[str, str], into: Target) -> str | None:
    value = settings.get("default_facilitator", "").strip()
    if not value:
        return None
    if "@" in value:
        if value.lower() not in people:
            raise DataError([Problem("mapping.toml", f"default_facilitator '{value}' is not the email of a "
                                                     "known person", "use a person_id or email from people.csv "
                                                     "(or [ics.people])", column="default_facilitator")])
        return people[value.lower()]
    ids = person_ids(into) | set(people.values())
    if value not in ids:
        raise DataError([Problem("mapping.toml", f"default_facilitator '{value}' is not a known person_id",
                                 "use a person_id or email from people.csv (or [ics.people])",
                                 column="default_facilitator")])
    return value


def extract(source: Path, settings: dict, into: Target, skips: Skips) -> dict[str, list[dict]]:
    """Rows of ``sessions.csv`` and ``attendance.csv`` from an .ics file.

    Example::

        >>> out = extract(Path("sessions.ics"), {"formats": {"skill swap": "skill-swap"},
        ...               "until": "2026-04-30"}, Path("data"), Skips("session"))   # doctest: +SKIP
        >>> out["sessions"][0]["format"], out["attendance"][0]["status"]             # doctest: +SKIP
        ('skill-swap', 'attended')
    """
    partstat, until, zone = _settings(settings, source.name)
    cal = _read(source)
    people = people_by_email(into, settings.get("people", {}), "ics")
    fallback = _default_facilitator(settings, people, into)
    formats = settings.get("formats", {})
    sessions, attendance = [], []
    for occ in _occurrences(cal, until, source.name, skips):
        skips.read()
        ev, where = occ.event, occ.where
        start = _dt(ev, "DTSTART")
        if not isinstance(start, datetime):
            skips.add("all-day event (no start time)", where, expected=True,
                      fix="give the session a start and end time in the calendar to import it")
            continue
        start = start.astimezone(zone) if zone and start.tzinfo else start
        facilitator = _facilitator(ev, people, fallback)
        reason = _session_problem(occ.source, start, until, facilitator, skips, where)
        if reason:
            n_att = len(_attendees(ev))
            if n_att:
                skips.add("attendee of a skipped event", where, n_att, unit="attendee", expected=True)
            continue
        fmt, topic = _format(ev, formats, settings.get("default_format", ""))
        if fmt is None:
            skips.add("no [ics.formats] keyword in summary or description", where, expected=True,
                      fix="events without a keyword are not sessions; add the keyword to [ics.formats] "
                          "or set [ics] default_format to import them")
            continue
        length = _length(occ.source)
        assert facilitator is not None and length is not None
        sessions.append({
            "session_id": occ.session_id, "date": start.date().isoformat(), "format": fmt,
            "duration_minutes": str(round(length.total_seconds() / 60)),
            "facilitator_id": facilitator, "team": settings.get("team", ""), "topic": topic, "_where": where,
        })
        attendance += _attendance(ev, occ.session_id, people, partstat, skips, where)
    return {"sessions": sessions, "attendance": attendance}


def _attendance(ev: icalendar.Event, session_id: str, people: dict[str, str], partstat: dict[str, str],
                skips: Skips, where: str) -> list[dict]:
    rows = []
    for att in _attendees(ev):
        skips.read(unit="attendee")
        if str(att.params.get("CUTYPE", "INDIVIDUAL")).upper() in ("ROOM", "RESOURCE"):
            skips.add("room or resource, not a person", where, unit="attendee", expected=True)
            continue
        email = _email(att)
        if email not in people:
            if is_outsider(email, people):
                skips.add("guest from outside the company (email domain not in people)", where,
                          unit="attendee", expected=True,
                          fix="add them to [ics.people] if they belong to a team")
            else:
                skips.add("attendee email not in people (add it to [ics.people])", where, unit="attendee",
                          fix='import the people first, or add the email to [ics.people]: '
                              '"ada@example.com" = "P00001"')
            continue
        status = partstat.get(str(att.params.get("PARTSTAT", "NEEDS-ACTION")).upper(), "absent")
        if status == "skip":
            skips.add("PARTSTAT set to skip in [ics.partstat]", where, unit="attendee", expected=True)
            continue
        rows.append({"session_id": session_id, "person_id": people[email], "status": status, "_where": where})
    return rows


def _attendees(ev: icalendar.Event) -> list:
    value = ev.get("ATTENDEE")
    return [] if value is None else value if isinstance(value, list) else [value]


def _facilitator(ev: icalendar.Event, people: dict[str, str], fallback: str | None) -> str | None:
    """person_id of the ORGANIZER; the fallback when there is none or it is a calendar, not a person."""
    organizer = _email(ev.get("ORGANIZER"))
    if organizer in people:
        return people[organizer]
    if not organizer or organizer.endswith(CALENDAR_DOMAINS):
        return fallback
    return None


def _session_problem(source: icalendar.Event, start: datetime, until: date, facilitator: str | None,
                     skips: Skips, where: str) -> str | None:
    """Count and return why this occurrence is not a session row (None when it is one)."""
    if str(source.get("STATUS", "")).upper() == "CANCELLED":
        skips.add("cancelled event", where, expected=True)
        return "cancelled"
    if start.date() > until:
        skips.add("after the cutoff (not yet held)", where, expected=True,
                  fix="import again after it has been held (or set [ics] until)")
        return "future"
    length = _length(source)
    if length is None:
        skips.add("no DTEND or DURATION", where, fix="give the event an end time in the calendar")
        return "no end"
    if length <= timedelta(0):
        skips.add("zero or negative duration (end not after start)", where, fix=FIX_DURATION)
        return "duration"
    if facilitator is None:
        organizer = _email(source.get("ORGANIZER"))
        if not organizer or organizer.endswith(CALENDAR_DOMAINS):
            skips.add("no ORGANIZER (facilitator unknown)", where,
                      fix='set [ics] default_facilitator = "P00001" (a person_id or email from people.csv) '
                          "for events without an organizer")
        else:
            skips.add("organizer email not in people (add it to [ics.people])", where,
                      fix=f'add the organizer to [ics.people]: "{organizer}" = "P00001"')
        return "facilitator"
    return None
