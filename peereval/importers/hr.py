"""HR people export (any HRIS CSV or .xlsx) → ``people.csv``, mapped by ``mapping.toml`` alone.

``[hr.columns]`` maps source column → contract column (``person_id``, ``team``, ``role``,
``hire_date``, optionally ``email``); without it the export must already use those names.
``[hr.teams]`` optionally maps department names to team ids (a value not in the map is then
left out as intended and counted: the department is not part of the analysis). ``[hr] date_format`` gives the hire-date format (``"%d.%m.%Y"``); without it
ISO dates, Excel date cells and numeric dates whose order the file settles are read.

Names are never written: peereval does not need them. Emails are written when mapped, because
the calendar and survey importers match people by email (the loader drops them on reading).
"""

from __future__ import annotations

from pathlib import Path

from peereval.errors import DataError, Problem
from peereval.importers.dates import UNREADABLE, date_reader, day_text
from peereval.importers.merge import Skips
from peereval.importers.sources import Target, read_source, text

SETTINGS = {"columns": dict, "teams": dict, "date_format": str, "locale": str, "timezone": (str, dict)}
TABLES = ("people",)
UNIT = "person"
DATE_FIX = 'set the format in mapping.toml, e.g. [hr] date_format = "%d.%m.%Y"'

REQUIRED = ("person_id", "team", "role", "hire_date")
OPTIONAL = ("email",)


def column_map(settings: dict) -> dict[str, str]:
    """contract column → source column, checked against the contract."""
    given = settings.get("columns")
    if not given:
        return {c: c for c in REQUIRED + OPTIONAL}
    problems = []
    out: dict[str, str] = {}
    for source_col, target in given.items():
        target = target.strip().lower()
        if target not in REQUIRED + OPTIONAL:
            problems.append(Problem("mapping.toml", f"[hr.columns] maps '{source_col}' to '{target}', which "
                                                    f"is not a people column",
                                    f"map to one of: {', '.join(REQUIRED + OPTIONAL)} (names are not needed)",
                                    column=source_col))
        elif target in out:
            problems.append(Problem("mapping.toml", f"[hr.columns] maps two columns to '{target}'",
                                    "keep one of them", column=source_col))
        else:
            out[target] = source_col
    for target in REQUIRED:
        if target not in out and not problems:
            problems.append(Problem("mapping.toml", f"[hr.columns] maps no column to '{target}'",
                                    f'add a line like "Source Column" = "{target}"', column=target))
    if problems:
        raise DataError(problems)
    return out


def extract(source: Path, settings: dict, into: Target, skips: Skips) -> dict[str, list[dict]]:
    """Rows of ``people.csv`` from an HR export.

    Example::

        >>> settings = {"columns": {"Employee No": "person_id", "Department": "team",
        ...             "Job Title": "role", "Start Date": "hire_date"}, "date_format": "%d.%m.%Y"}
        >>> extract(Path("hr.csv"), settings, Path("data"), Skips())["people"][0]  # doctest: +SKIP
        {'person_id': 'E1001', 'team': 'team-alpha', 'role': 'engineer', 'hire_date': '2021-03-01', ...}
    """
    src = read_source(source)
    cols = column_map(settings)
    explicit = bool(settings.get("columns"))
    fix = "map it in mapping.toml under [hr.columns], or export that column from the HR system"
    src.require([cols[c] for c in REQUIRED] + ([cols["email"]] if explicit and "email" in cols else []), fix)
    with_email = "email" in cols and src.has(cols["email"])
    teams = {k.strip().lower(): v.strip() for k, v in settings.get("teams", {}).items()}
    hire_col = src.header(cols["hire_date"])
    reader = date_reader((src.get(c, cols["hire_date"]) for _, c in src.rows), settings, src.file,
                         hire_col, "hr")
    rows = []
    bad_dates = 0
    for n, cells in src.rows:
        where = f"{src.file}:{n}"
        skips.read()
        values = {c: text(src.get(cells, cols[c])) for c in REQUIRED}
        blank = [c for c in REQUIRED if c != "hire_date" and not values[c]]
        if blank:
            col = src.header(cols[blank[0]])
            skips.add(f"blank {col}", where, fix=f"fill in {col} in the HR system and export again")
            continue
        raw = src.get(cells, cols["hire_date"])
        hired = reader.parse(raw)
        if hired is None:
            bad_dates += 1
            why, fix = reader.failure(raw)
            reason = f"{hire_col} missing or not in the date format" if why == UNREADABLE else f"{hire_col} {why}"
            skips.add(reason, where, fix=fix or f"correct the date in the HR system, or {DATE_FIX}")
            continue
        team = values["team"]
        if teams:
            if team.lower() not in teams:
                skips.add("team not in [hr.teams]", where, expected=True,
                          fix="departments left out of [hr.teams] are not part of the analysis")
                continue
            team = teams[team.lower()]
        row = {"person_id": values["person_id"], "team": team, "role": values["role"],
               "hire_date": day_text(hired), "_where": where}
        if with_email:
            row["email"] = text(src.get(cells, cols["email"]))
        rows.append(row)
    if src.rows and bad_dates == len(src.rows):
        example = text(src.get(src.rows[0][1], cols["hire_date"]))
        raise DataError([Problem(src.file, f"no hire date could be read (e.g. '{example}')",
                                 reader.failure(example)[1] or DATE_FIX, column=hire_col)])
    return {"people": rows}
