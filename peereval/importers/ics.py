"""iCalendar (.ics) sessions → ``sessions.csv`` and ``attendance.csv`` (parsed with ``icalendar``).

Each VEVENT is a session: session_id = UID, date = day of DTSTART (in the event's own time zone,
or in ``timezone`` when set), duration_minutes = DTEND − DTSTART (or DURATION), format = the
value of the first ``[ics.formats]`` keyword found in SUMMARY, then DESCRIPTION (else
``default_format``), topic = SUMMARY without that keyword, facilitator = the ORGANIZER's email
mapped to person_id (people table, then ``[ics.people]``), team = ``team`` when set.

ATTENDEE lines become attendance rows. PARTSTAT is an RSVP, not a record of attendance; the rule
(configurable in ``[ics.partstat]``, values ``attended``/``absent``/``skip``) is: ACCEPTED →
attended; DECLINED, TENTATIVE, NEEDS-ACTION (also when PARTSTAT is missing) and DELEGATED →
absent. Rooms and resources (CUTYPE=ROOM/RESOURCE) are not people and are skipped.

Recurring events (RRULE, RDATE, EXDATE) are expanded up to ``until`` (default: today), each
occurrence being a session with id ``<UID>#<YYYYMMDD>`` (the original date, so a moved
occurrence — a RECURRENCE-ID override — keeps its id). Events after ``until`` have not happened
yet and are skipped and counted; CANCELLED events and occurrences are skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from dateutil.rrule import rrulestr

from peereval.errors import DataError, Problem
from peereval.importers.merge import Skips
from peereval.importers.sources import people_by_email

SETTINGS = {"formats": dict, "default_format": str, "people": dict, "partstat": dict, "team": str,
            "until": str, "timezone": str}
TABLES = ("sessions", "attendance")
PARTSTAT = {"ACCEPTED": "attended", "DECLINED": "absent", "TENTATIVE": "absent",
            "NEEDS-ACTION": "absent", "DELEGATED": "absent"}
MAX_OCCURRENCES = 1000


@dataclass(frozen=True)
class _Occurrence:
    session_id: str
    event: icalendar.Event
    start: datetime


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


def _read(source: Path) -> list[icalendar.Event]:
    if not source.is_file():
        raise DataError([Problem(source.name, "file not found", f"check the path {source}")])
    try:
        cal = icalendar.Calendar.from_ical(source.read_bytes())
    except Exception as exc:  # any parser failure is the file's problem, never a traceback
        detail = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        raise DataError([Problem(source.name, f"cannot be read as iCalendar ({detail})",
                                 "export the calendar again as .ics (iCalendar)")]) from None
    if cal.name != "VCALENDAR":
        raise DataError([Problem(source.name, "is not an iCalendar file (no VCALENDAR)",
                                 "export the calendar again as .ics (iCalendar)")])
    return list(cal.walk("VEVENT"))


def _dt(event: icalendar.Event, name: str):
    try:
        return event.decoded(name) if name in event else None
    except Exception:  # an unreadable value counts as missing; the caller skips the event
        return None


def _occurrences(events: list[icalendar.Event], until: date, file: str, skips: Skips) -> list[_Occurrence]:
    overrides: dict[tuple[str, str], icalendar.Event] = {}
    masters = []
    for n, ev in enumerate(events, start=1):
        uid = str(ev.get("UID", "")).strip()
        rid = _dt(ev, "RECURRENCE-ID")
        if not uid:
            skips.add("event without UID (cannot be matched on re-import)", f"{file}:event {n}")
        elif rid is not None:
            overrides[(uid, f"{rid:%Y%m%d}")] = ev
        else:
            masters.append((n, uid, ev))
    out: list[_Occurrence] = []
    for n, uid, ev in masters:
        where = f"{file}:event {n}"
        start = _dt(ev, "DTSTART")
        if not isinstance(start, datetime):
            skips.add("no DTSTART" if start is None else "all-day event (no start time)", where)
            continue
        if "RRULE" not in ev and "RDATE" not in ev:
            out.append(_Occurrence(uid, ev, start))
            continue
        starts = _expand(ev, start, until, skips, where)
        seen = set()
        for s in starts:
            day = f"{s:%Y%m%d}"
            if day in seen:
                skips.add("two occurrences on one day (the later one is skipped)", where)
                continue
            seen.add(day)
            occ_ev = overrides.pop((uid, day), ev)
            occ_start = _dt(occ_ev, "DTSTART") if occ_ev is not ev else s
            out.append(_Occurrence(f"{uid}#{day}", occ_ev, occ_start if isinstance(occ_start, datetime) else s))
    for (uid, day), ev in sorted(overrides.items()):
        start = _dt(ev, "DTSTART")
        if isinstance(start, datetime):
            out.append(_Occurrence(f"{uid}#{day}", ev, start))
    return out


def _expand(ev: icalendar.Event, start: datetime, until: date, skips: Skips, where: str) -> list[datetime]:
    try:
        rules = rrulestr(ev["RRULE"].to_ical().decode(), dtstart=start, forceset=True) if "RRULE" in ev else None
    except (ValueError, TypeError):
        skips.add("recurrence rule cannot be read", where)
        return []
    if rules is None:
        from dateutil.rrule import rruleset

        rules = rruleset()
        rules.rdate(start)
    for name, add in (("RDATE", rules.rdate), ("EXDATE", rules.exdate)):
        values = ev.get(name)
        for group in values if isinstance(values, list) else [values] if values is not None else []:
            for d in getattr(group, "dts", []):
                if isinstance(d.dt, datetime):
                    add(d.dt)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=start.tzinfo)
    try:
        starts = rules.between(start - timedelta(seconds=1), end)
    except (ValueError, TypeError):
        skips.add("recurrence rule cannot be read", where)
        return []
    if len(starts) > MAX_OCCURRENCES:
        skips.add(f"occurrences beyond the first {MAX_OCCURRENCES}", where, len(starts) - MAX_OCCURRENCES)
    return starts[:MAX_OCCURRENCES]


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


def extract(source: Path, settings: dict, into: Path, skips: Skips) -> dict[str, list[dict]]:
    """Rows of ``sessions.csv`` and ``attendance.csv`` from an .ics file.

    Example::

        >>> out = extract(Path("sessions.ics"), {"formats": {"skill swap": "skill-swap"},
        ...               "until": "2026-04-30"}, Path("data"), Skips())    # doctest: +SKIP
        >>> out["sessions"][0]["format"], out["attendance"][0]["status"]     # doctest: +SKIP
        ('skill-swap', 'attended')
    """
    partstat, until, zone = _settings(settings, source.name)
    events = _read(source)
    people = people_by_email(into, settings.get("people", {}), "ics")
    formats = settings.get("formats", {})
    file = source.name
    sessions, attendance = [], []
    for occ in _occurrences(events, until, file, skips):
        ev, where = occ.event, f"{file}:{occ.session_id}"
        start = occ.start.astimezone(zone) if zone and occ.start.tzinfo else occ.start
        reason = _session_problem(ev, start, until, people)
        if reason:
            skips.add(reason, where)
            n_att = len(_attendees(ev))
            if n_att:
                skips.add("attendee of a skipped event", where, n_att)
            continue
        end, duration = _dt(ev, "DTEND"), _dt(ev, "DURATION")
        length = (end - _dt(ev, "DTSTART")) if isinstance(end, datetime) else duration
        fmt, topic = _format(ev, formats, settings.get("default_format", ""))
        if fmt is None:
            skips.add("no [ics.formats] keyword in summary or description", where)
            continue
        sessions.append({
            "session_id": occ.session_id, "date": start.date().isoformat(), "format": fmt,
            "duration_minutes": str(round(length.total_seconds() / 60)),
            "facilitator_id": people[_email(ev.get("ORGANIZER"))], "team": settings.get("team", ""),
            "topic": topic, "_where": where,
        })
        for att in _attendees(ev):
            if str(att.params.get("CUTYPE", "INDIVIDUAL")).upper() in ("ROOM", "RESOURCE"):
                skips.add("room or resource, not a person", where)
                continue
            email = _email(att)
            if email not in people:
                skips.add("attendee email not in people (add it to [ics.people])", where)
                continue
            status = partstat.get(str(att.params.get("PARTSTAT", "NEEDS-ACTION")).upper(), "absent")
            if status == "skip":
                skips.add("PARTSTAT set to skip in [ics.partstat]", where)
                continue
            attendance.append({"session_id": occ.session_id, "person_id": people[email], "status": status,
                               "_where": where})
    return {"sessions": sessions, "attendance": attendance}


def _attendees(ev: icalendar.Event) -> list:
    value = ev.get("ATTENDEE")
    return [] if value is None else value if isinstance(value, list) else [value]


def _session_problem(ev: icalendar.Event, start: datetime, until: date, people: dict[str, str]) -> str | None:
    if str(ev.get("STATUS", "")).upper() == "CANCELLED":
        return "cancelled event"
    if start.date() > until:
        return "after the cutoff (not yet held)"
    end, duration = _dt(ev, "DTEND"), _dt(ev, "DURATION")
    if not isinstance(end, datetime) and not isinstance(duration, timedelta):
        return "no DTEND or DURATION"
    organizer = _email(ev.get("ORGANIZER"))
    if not organizer:
        return "no ORGANIZER (facilitator unknown)"
    if organizer not in people:
        return "organizer email not in people (add it to [ics.people])"
    return None
