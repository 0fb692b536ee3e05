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

Every import is an idempotent upsert by the table's key (see :mod:`peereval.importers.merge`);
settings come from the importer's section of ``mapping.toml`` (see ``docs/importers.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from peereval.errors import DataError, Problem
from peereval.importers import forms, github, hr, ics, jira
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
    """Import one export into the data folder ``into`` and say what changed.

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
    """
    if kind not in IMPORTERS:
        raise DataError([Problem("import", f"unknown kind '{kind}'", f"use one of: {', '.join(KINDS)}")])
    module = IMPORTERS[kind]
    src, folder = Path(source), Path(into)
    if folder.exists() and not folder.is_dir():
        raise DataError([Problem(str(folder), "is not a folder", "give the data folder to import into")])
    settings = load_settings(kind, module.SETTINGS, Path(mapping) if mapping else None, options)
    skips = Skips(module.UNIT)
    tables = module.extract(src, settings, folder, skips)
    plans = [plan_table(folder, name, rows, skips) for name, rows in tables.items()]
    summary = summarise(kind, src, plans, skips)
    problems = summary.stop_problems()
    if problems and not allow_skips:
        raise DataError(problems)
    folder.mkdir(parents=True, exist_ok=True)
    write_plans(plans)
    return summarise(kind, src, plans, skips, accepted=bool(problems))
