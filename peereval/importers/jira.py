"""Jira issue CSV export → ``tickets.csv``.

Columns read (Jira's standard names, case-insensitive): ``Issue key`` → ticket_id,
``Issue Type`` → type (lower-cased: ``Bug`` → ``bug``), ``Created`` → created_at,
``Resolved`` → resolved_at (empty = still open), ``Priority`` → priority (optional). The team is
``Custom field (Team)`` (another field via ``team_field``) when that column is present and the
cell is filled, else the ``Component/s`` of the issue mapped through ``[jira.components]``.
``Status`` and ``Assignee`` are not needed. Dates: see :mod:`peereval.importers.dates` (month
names in the export's language with ``locale``; zone abbreviations with ``timezone``). A blank
``Priority`` stays blank: no priority is made up.
"""

from __future__ import annotations

from pathlib import Path

from peereval.errors import DataError, Problem
from peereval.importers.dates import (
    JIRA_FORMATS,
    UNREADABLE,
    DateReader,
    date_reader,
    timestamp_text,
)
from peereval.importers.merge import Skips
from peereval.importers.sources import SourceTable, Target, read_source, text

SETTINGS = {"team_field": str, "components": dict, "teams": dict, "date_format": str, "locale": str,
            "timezone": (str, dict)}
TABLES = ("tickets",)
UNIT = "issue"
DATE_FIX = ('set the format in mapping.toml, e.g. [jira] date_format = "%d.%m.%Y %H:%M" '
            '(Python strptime codes), or locale = "de" for month names in another language')
FIX = "export the issues again from Jira (Export › CSV (all fields)) so the column is included"


def team_source(src: SourceTable, settings: dict, mapping_file: str = "mapping.toml") -> tuple[str | None, dict]:
    """Which column gives the team, and the component → team map (raises when neither works)."""
    field = settings.get("team_field", "Custom field (Team)")
    components = {k.strip().lower(): v.strip() for k, v in settings.get("components", {}).items()}
    if components and not src.has("Component/s"):
        raise DataError([Problem(src.file, "required column 'Component/s' is missing (needed for the "
                                           "[jira.components] map)", FIX, column="Component/s")])
    if not src.has(field) and not components:
        raise DataError([Problem(
            src.file, f"no team: the export has no '{field}' column and {mapping_file} has no "
                      f"[jira.components] map", 'add the Team field to the export, or map components to '
                      'teams in mapping.toml: [jira.components] "Payments API" = "team-payments"',
            column=field)])
    return (field if src.has(field) else None), components


def extract(source: Path, settings: dict, into: Target, skips: Skips) -> dict[str, list[dict]]:
    """Rows of ``tickets.csv`` from a Jira CSV export.

    Example::

        >>> skips = Skips()
        >>> rows = extract(Path("jira.csv"), {"components": {"Checkout": "team-bravo"}},
        ...                Path("data"), skips)["tickets"]                  # doctest: +SKIP
        >>> rows[0]["ticket_id"], rows[0]["type"]                          # doctest: +SKIP
        ('PAY-101', 'bug')
    """
    src = read_source(source)
    src.require(["Issue key", "Issue Type", "Created", "Resolved"], FIX)
    field, components = team_source(src, settings)
    teams = {k.strip().lower(): v.strip() for k, v in settings.get("teams", {}).items()}
    readers = {col: date_reader((src.get(c, col) for _, c in src.rows), settings, src.file,
                                src.header(col), "jira", JIRA_FORMATS)
               for col in ("Created", "Resolved")}
    rows = []
    bad_created = 0
    unmapped: dict[str, int] = {}
    for n, cells in src.rows:
        where = f"{src.file}:{n}"
        skips.read()
        key = text(src.get(cells, "Issue key"))
        if not key:
            skips.add("blank Issue key", where,
                      fix="remove the row or export again from Jira (every issue has a key)")
            continue
        created = _date(src, cells, "Created", readers["Created"], skips, where)
        if created is None:
            bad_created += 1
            continue
        raw_resolved = src.get(cells, "Resolved")
        resolved = readers["Resolved"].parse(raw_resolved) if text(raw_resolved) else None
        if text(raw_resolved) and resolved is None:
            _date(src, cells, "Resolved", readers["Resolved"], skips, where)
            continue
        team = _team(src, cells, field, teams, components, skips, where, unmapped)
        if team is None:
            continue
        rows.append({
            "ticket_id": key, "team": team, "created_at": timestamp_text(created),
            "resolved_at": timestamp_text(resolved) if resolved else "",
            "priority": text(src.get(cells, "Priority")) if src.has("Priority") else "",
            "type": text(src.get(cells, "Issue Type")).lower(), "_where": where,
        })
    if unmapped:
        names = ", ".join(f'"{c}" = "team-…"' for c in sorted(unmapped, key=lambda c: (-unmapped[c], c))[:3])
        skips.set_fix("no team: component not in [jira.components]",
                      f"add the components to [jira.components] in mapping.toml: {names}")
    if src.rows and bad_created == len(src.rows):
        example = src.get(src.rows[0][1], "Created")
        _, fix = readers["Created"].failure(example)
        raise DataError([Problem(src.file, f"no Created date could be read (e.g. '{text(example)}')",
                                 fix or DATE_FIX, column=src.header("Created"))])
    return {"tickets": rows}


def _date(src: SourceTable, cells, col: str, reader: DateReader, skips: Skips, where: str):
    """The column's date, or None after counting why it could not be read."""
    value = src.get(cells, col)
    when = reader.parse(value)
    if when is None:
        why, fix = reader.failure(value)
        reason = (f"{col} date missing or in an unsupported format" if col == "Created" else
                  f"{col} date in an unsupported format") if why == UNREADABLE else f"{col} date {why}"
        skips.add(reason, where, fix=fix or DATE_FIX)
    return when


def _team(src: SourceTable, cells, field: str | None, teams: dict, components: dict, skips: Skips,
          where: str, unmapped: dict[str, int]) -> str | None:
    if field:
        value = text(src.get(cells, field))
        if value:
            return teams.get(value.lower(), value)
    names = [text(v) for v in src.all(cells, "Component/s")] if src.has("Component/s") else []
    names = [p.strip() for v in names for p in v.split(",") if p.strip()]
    if not names:
        skips.add("no team: Team field blank and no component", where,
                  fix=f"fill the team field ('{field or 'Custom field (Team)'}') or a component in Jira")
        return None
    mapped = sorted({components[c.lower()] for c in names if c.lower() in components})
    if not mapped:
        for c in names:
            unmapped[c] = unmapped.get(c, 0) + 1
        skips.add("no team: component not in [jira.components]", where,
                  fix="add the component to [jira.components] in mapping.toml")
        return None
    if len(mapped) > 1:
        skips.add("components map to several teams", where,
                  fix="fill the team field for these issues in Jira, or map each component to one team")
        return None
    return mapped[0]
