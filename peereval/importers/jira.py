"""Jira issue CSV export → ``tickets.csv``.

Columns read (Jira's standard names, case-insensitive): ``Issue key`` → ticket_id,
``Issue Type`` → type (lower-cased: ``Bug`` → ``bug``), ``Created`` → created_at,
``Resolved`` → resolved_at (empty = still open), ``Priority`` → priority (optional). The team is
``Custom field (Team)`` (another field via ``team_field``) when that column is present and the
cell is filled, else the ``Component/s`` of the issue mapped through ``[jira.components]``.
``Status`` and ``Assignee`` are not needed. Dates: see :mod:`peereval.importers.dates`.
"""

from __future__ import annotations

from pathlib import Path

from peereval.errors import DataError, Problem
from peereval.importers.dates import JIRA_FORMATS, parse, resolve_formats, timestamp_text
from peereval.importers.merge import Skips
from peereval.importers.sources import SourceTable, read_source, text

SETTINGS = {"team_field": str, "components": dict, "teams": dict, "date_format": str}
TABLES = ("tickets",)
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


def extract(source: Path, settings: dict, into: Path, skips: Skips) -> dict[str, list[dict]]:
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
    fmt = settings.get("date_format")
    formats = {col: resolve_formats((src.get(c, col) for _, c in src.rows), fmt, src.file,
                                    src.header(col), "jira", JIRA_FORMATS)
               for col in ("Created", "Resolved")}
    rows = []
    bad_created = 0
    for n, cells in src.rows:
        where = f"{src.file}:{n}"
        key = text(src.get(cells, "Issue key"))
        if not key:
            skips.add("blank Issue key", where)
            continue
        created = parse(src.get(cells, "Created"), formats["Created"])
        if created is None:
            bad_created += 1
            skips.add("Created date missing or in an unsupported format", where)
            continue
        raw_resolved = src.get(cells, "Resolved")
        resolved = parse(raw_resolved, formats["Resolved"])
        if text(raw_resolved) and resolved is None:
            skips.add("Resolved date in an unsupported format", where)
            continue
        team = _team(src, cells, field, teams, components, skips, where)
        if team is None:
            continue
        rows.append({
            "ticket_id": key, "team": team, "created_at": timestamp_text(created),
            "resolved_at": timestamp_text(resolved) if resolved else "",
            "priority": text(src.get(cells, "Priority")) if src.has("Priority") else "",
            "type": text(src.get(cells, "Issue Type")).lower(), "_where": where,
        })
    if src.rows and bad_created == len(src.rows):
        raise DataError([Problem(src.file, f"no Created date could be read (e.g. "
                                           f"'{text(src.get(src.rows[0][1], 'Created'))}')",
                                 'set the format in mapping.toml, e.g. [jira] date_format = "%d.%m.%Y %H:%M"',
                                 column=src.header("Created"))])
    return {"tickets": rows}


def _team(src: SourceTable, cells, field: str | None, teams: dict, components: dict, skips: Skips,
          where: str) -> str | None:
    if field:
        value = text(src.get(cells, field))
        if value:
            return teams.get(value.lower(), value)
    names = [text(v) for v in src.all(cells, "Component/s")] if src.has("Component/s") else []
    names = [p.strip() for v in names for p in v.split(",") if p.strip()]
    if not names:
        skips.add("no team: Team field blank and no component", where)
        return None
    mapped = sorted({components[c.lower()] for c in names if c.lower() in components})
    if not mapped:
        skips.add("no team: component not in [jira.components]", where)
        return None
    if len(mapped) > 1:
        skips.add("components map to several teams", where)
        return None
    return mapped[0]
