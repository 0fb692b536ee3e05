"""Outcome tables: any table an ``[[outcomes]]`` declaration names, with the columns it declares.

A declared table that is not part of the fixed contract (e.g. ``deals``) gets a contract built
from its declarations: the linking column (person → people, or team → teams), the dates, the
value and the filter columns. It is read, typed and checked like every other table (problems
name file, row, column and fix; bad rows are counted in the ledger). Dates may be blank here:
whether a blank date means "still open" or "not usable" is the outcome kind's call, and it
counts what it leaves out. An outcome on a contract table may use only that table's columns.
"""

from __future__ import annotations

from collections.abc import Iterable

from peereval.data.contract import TABLES, ColumnSpec, TableSpec
from peereval.errors import Problem
from peereval.outcomes.declare import Outcome

CONFIG_FILE = "program.toml"


def specs(outcomes: Iterable[Outcome]) -> dict[str, TableSpec]:
    """A contract for each declared table outside the fixed contract."""
    columns: dict[str, dict[str, ColumnSpec]] = {}
    for o in outcomes:
        if o.table in TABLES:
            continue
        cols = columns.setdefault(o.table, {})
        link = o.person or o.team
        if link:
            cols.setdefault(link, ColumnSpec(link, "id", doc="person (must exist in people)" if o.person
                                             else "team (must exist in teams)"))
        for name in (o.date, o.start, o.end):
            if name:
                cols.setdefault(name, ColumnSpec(name, "date", blank_ok=True, doc="date"))
        if o.value:
            kind = "number" if o.kind == "mean" else "text"
            cols.setdefault(o.value, ColumnSpec(o.value, kind, blank_ok=True, doc="value"))
        for name in (*o.where, *o.adjust_for, o.milestone_column if o.kind == "milestone" else None):
            if name:
                cols.setdefault(name, ColumnSpec(name, "text", blank_ok=True, doc="filter or adjustment"))
    return {t: TableSpec(t, False, tuple(c.values()), doc="outcome table (declared in program.toml)")
            for t, c in columns.items()}


def links(outcomes: Iterable[Outcome]) -> dict[str, list[tuple[str, str]]]:
    """For each declared outcome table: (column, referenced table) pairs to check."""
    out: dict[str, list[tuple[str, str]]] = {}
    for o in outcomes:
        if o.table in TABLES:
            continue
        pair = (o.person, "people") if o.person else (o.team, "teams")
        if pair[0] and pair not in out.setdefault(o.table, []):
            out[o.table].append(pair)
    return out


def contract_column_problems(outcomes: Iterable[Outcome]) -> list[Problem]:
    """Declared columns that a contract table does not have."""
    problems = []
    for o in outcomes:
        spec = TABLES.get(o.table)
        if spec is None or o.builtin:
            continue
        known = {c.name for c in spec.columns if not c.personal}
        for col in o.columns:
            if col not in known:
                problems.append(Problem(CONFIG_FILE, f"outcome '{o.name}' uses column '{col}', which {o.table} does not "
                                        "have", f"use one of: {', '.join(sorted(known))}", column=col))
    return problems
