"""Importers: turn the exports a company already has into the tables of a peereval data folder.

=========  ===========================================  ==========================
kind       source                                       writes
=========  ===========================================  ==========================
``jira``   Jira issue CSV export                        ``tickets.csv``
``github`` ``gh issue list --json …`` (a JSON array)    ``tickets.csv``
``ics``    iCalendar file of the sessions               ``sessions.csv``, ``attendance.csv``
``forms``  Google Forms / Microsoft Forms responses     ``surveys.csv``
``hr``     any HRIS people export (CSV or .xlsx)        ``people.csv``
=========  ===========================================  ==========================

The target is a data folder or a database (a DuckDB file, a PostgreSQL schema): the same
tables, then named ``people``, ``tickets``, … as the loader reads them.

Every import is an idempotent upsert by the table's key (see :mod:`peereval.importers.merge`);
settings come from the importer's section of ``mapping.toml`` (see ``docs/importers.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from peereval.data.database import is_database
from peereval.errors import DataError, Problem
from peereval.importers import forms, github, hr, ics, jira
from peereval.importers.into_database import DatabaseTarget
from peereval.importers.merge import (
    ImportSummary,
    Skips,
    TableChange,
    plan_table,
    summarise,
    write_plans,
)
from peereval.importers.sources import load_settings

Kind = Literal["jira", "github", "ics", "forms", "hr"]
IMPORTERS = {"jira": jira, "github": github, "ics": ics, "forms": forms, "hr": hr}
KINDS: tuple[str, ...] = tuple(IMPORTERS)

__all__ = ["IMPORTERS", "KINDS", "ImportSummary", "TableChange", "run_import"]


def run_import(kind: Kind, source: str | Path, into: str | Path, *,
               mapping: str | Path | None = None, allow_skips: bool = False,
               **options: object) -> ImportSummary:
    """Import one export into ``into`` and say what changed.

    ``into`` is a data folder, a DuckDB file (``.duckdb``/``.ddb``, created when missing) or a
    PostgreSQL URL (``postgresql://user@host/db?schema=pilot``), the targets ``peereval.load``
    reads. A database gets the same upsert; its changed tables are written in one transaction
    (see :mod:`peereval.importers.into_database`).

    ``mapping`` is a ``mapping.toml`` whose ``[kind]`` section (and its sub-tables) configures the
    importer; ``options`` are the same settings given directly and win over the file. Raises
    :class:`~peereval.errors.DataError` (one line per problem, naming file, column and the fix)
    when the export or the mapping cannot be used; then nothing is written. An import that
    would skip more than 5% of a source's records (pull requests and other records left out by
    design do not count), or import nothing, also stops, listing each reason with its count and
    fix, unless ``allow_skips`` accepts it (``--allow-skips`` on the command line).

    Example::

        >>> from peereval.importers import run_import
        >>> s = run_import("jira", "exports/jira.csv", "data/", mapping="mapping.toml")  # doctest: +SKIP
        >>> print(s.render())                                                          # doctest: +SKIP
        jira import of jira.csv:
          tickets.csv: 31 added, 0 updated, 0 unchanged (written)
          skipped 2 source rows:
            2 × no team: component not in [jira.components] (e.g. jira.csv:9)
        >>> run_import("github", "issues.json", "data/", repo="acme/api",
        ...            labels={"team:payments": "team-payments"})                      # doctest: +SKIP
        >>> run_import("hr", "hr.csv", "postgresql://etl@db/analytics?schema=pilot")     # doctest: +SKIP
    """
    if kind not in IMPORTERS:
        raise DataError([Problem("import", f"unknown kind '{kind}'", f"use one of: {', '.join(KINDS)}")])
    module = IMPORTERS[kind]
    src = Path(source)
    settings = load_settings(kind, module.SETTINGS, Path(mapping) if mapping else None, options)
    skips = Skips(module.UNIT)
    if is_database(into):
        with DatabaseTarget.open(into) as target:
            tables = module.extract(src, settings, target, skips)
            plans = [target.plan(name, rows, skips) for name, rows in tables.items()]
            accepted = _stop_unless(summarise(kind, src, plans, skips), allow_skips)
            target.write(plans)
        return summarise(kind, src, plans, skips, accepted=accepted)
    folder = Path(into)
    if folder.exists() and not folder.is_dir():
        raise DataError([Problem(str(folder), "is not a folder",
                                 "give the data folder (or a .duckdb file or PostgreSQL URL) to import into")])
    tables = module.extract(src, settings, folder, skips)
    plans = [plan_table(folder, name, rows, skips) for name, rows in tables.items()]
    accepted = _stop_unless(summarise(kind, src, plans, skips), allow_skips)
    folder.mkdir(parents=True, exist_ok=True)
    write_plans(plans)
    return summarise(kind, src, plans, skips, accepted=accepted)


def _stop_unless(summary: ImportSummary, allow_skips: bool) -> bool:
    """Raise the summary's stop problems unless ``allow_skips``; True when there were some (accepted)."""
    problems = summary.stop_problems()
    if problems and not allow_skips:
        raise DataError(problems)
    return bool(problems)
