"""The input data contract: which tables, which columns, what each value must look like.

This module is the single source of truth for ``docs/data-contract.md`` and for validation.
Row-level rules are pandera checks; each carries the ledger reason shown to the coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
import pandera.pandas as pa

Kind = Literal["id", "text", "date", "number", "choice"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    required: bool = True
    blank_ok: bool = False
    choices: tuple[str, ...] = ()
    personal: bool = False
    doc: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: bool
    columns: tuple[ColumnSpec, ...]
    key: str | None = None
    doc: str = ""
    row_checks: tuple[pa.Check, ...] = field(default=())

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


RULE_HELP: dict[str, tuple[str, str]] = {}


def _rule(fn, name: str, column: str, fix: str) -> pa.Check:
    """A row-level rule; ``name`` is the exclusion reason written in the ledger."""
    RULE_HELP[name] = (column, fix)
    return pa.Check(fn, name=name, error=name)


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "teams", True,
            (
                ColumnSpec("team", "id", doc="team identifier, unique"),
                ColumnSpec("cohort", "choice", choices=("pilot", "control"), doc="`pilot` or `control`"),
                ColumnSpec("pilot_start", "date", blank_ok=True,
                           doc="date the team started the program; required for pilot teams, empty for control"),
            ),
            key="team",
            doc="One row per team.",
        ),
        TableSpec(
            "people", True,
            (
                ColumnSpec("person_id", "id", doc="person identifier, unique"),
                ColumnSpec("team", "id", doc="the person's team (must exist in teams)"),
                ColumnSpec("role", "text", doc="job role, e.g. engineer"),
                ColumnSpec("hire_date", "date", doc="date of hire"),
                ColumnSpec("name", "text", required=False, personal=True, doc="personal data: read, never shown"),
                ColumnSpec("email", "text", required=False, personal=True, doc="personal data: read, never shown"),
            ),
            key="person_id",
            doc="One row per person.",
        ),
        TableSpec(
            "sessions", False,
            (
                ColumnSpec("session_id", "id", doc="session identifier, unique"),
                ColumnSpec("date", "date", doc="date the session took place"),
                ColumnSpec("format", "text", doc="free text: demo-and-discuss, skill-swap, peer coaching, …"),
                ColumnSpec("duration_minutes", "number", doc="length in minutes, > 0"),
                ColumnSpec("facilitator_id", "id", doc="person who ran it (must exist in people)"),
                ColumnSpec("team", "id", required=False, blank_ok=True,
                           doc="team that held it; defaults to the facilitator's team"),
                ColumnSpec("topic", "text", required=False, blank_ok=True, doc="free text"),
            ),
            key="session_id",
            doc="One row per peer-learning session.",
            row_checks=(
                _rule(lambda d: d["duration_minutes"] > 0, "duration is zero or negative",
                      "duration_minutes", "enter the session length in minutes (greater than 0)"),
                _rule(lambda d: d["duration_minutes"] <= 16 * 60, "duration longer than 16 hours",
                      "duration_minutes", "enter the length in minutes, not seconds"),
            ),
        ),
        TableSpec(
            "attendance", False,
            (
                ColumnSpec("session_id", "id", doc="session (must exist in sessions)"),
                ColumnSpec("person_id", "id", doc="invited person (must exist in people)"),
                ColumnSpec("status", "choice", choices=("attended", "absent"), doc="`attended` or `absent`"),
            ),
            doc="One row per invited person per session.",
        ),
        TableSpec(
            "milestones", False,
            (
                ColumnSpec("person_id", "id", doc="person (must exist in people)"),
                ColumnSpec("milestone", "text", doc="milestone name; only the configured competency milestone is used"),
                ColumnSpec("date", "date", doc="date the milestone was reached"),
            ),
            doc="Onboarding milestones reached.",
            row_checks=(
                _rule(lambda d: d["hire_date"].isna() | (d["date"] >= d["hire_date"]),
                      "milestone before hire date", "date",
                      "check the milestone date and the person's hire_date"),
            ),
        ),
        TableSpec(
            "tickets", False,
            (
                ColumnSpec("ticket_id", "id", doc="ticket identifier, unique"),
                ColumnSpec("team", "id", doc="team that owns the ticket (must exist in teams)"),
                ColumnSpec("created_at", "date", doc="date-time created"),
                ColumnSpec("resolved_at", "date", blank_ok=True, doc="date-time resolved; empty = still open"),
                ColumnSpec("priority", "text", required=False, blank_ok=True, doc="e.g. P1–P4"),
                ColumnSpec("type", "text", required=False, blank_ok=True,
                           doc="e.g. bug; when present only the configured types count"),
            ),
            key="ticket_id",
            doc="Bug tickets.",
            row_checks=(
                _rule(lambda d: d["resolved_at"].isna() | (d["resolved_at"] >= d["created_at"]),
                      "resolved before created", "resolved_at",
                      "check created_at and resolved_at (and their time zones)"),
            ),
        ),
        TableSpec(
            "surveys", False,
            (
                ColumnSpec("person_id", "id", doc="respondent (must exist in people)"),
                ColumnSpec("date", "date", doc="date answered"),
                ColumnSpec("score", "number", blank_ok=True, doc="1–5; empty = question skipped"),
                ColumnSpec("question", "text", required=False, blank_ok=True, doc="free text"),
                ColumnSpec("comment", "text", required=False, blank_ok=True,
                           doc="free text; shown only when allowed by config and for large groups"),
            ),
            doc="Short satisfaction surveys.",
            row_checks=(
                _rule(lambda d: d["score"].isna() | d["score"].between(1, 5), "score outside 1–5",
                      "score", "scores must be whole numbers from 1 to 5"),
                _rule(lambda d: d["score"].isna() | (d["score"] == d["score"].round()),
                      "score is not a whole number", "score", "scores must be whole numbers from 1 to 5"),
            ),
        ),
    ]
}

TABLE_ORDER = list(TABLES)
FILE_SUFFIXES = (".csv", ".parquet", ".xlsx")


def row_schema(spec: TableSpec) -> pa.DataFrameSchema:
    """pandera schema of the row-level rules for one (already typed) table."""
    return pa.DataFrameSchema(checks=list(spec.row_checks), coerce=False)


def empty_table(spec: TableSpec) -> pd.DataFrame:
    """A typed, zero-row table with the contract's columns."""
    cols = {}
    for c in spec.columns:
        if c.personal:
            continue
        if c.kind == "date":
            cols[c.name] = pd.Series([], dtype="datetime64[ns]")
        elif c.kind == "number":
            cols[c.name] = pd.Series([], dtype="float64")
        else:
            cols[c.name] = pd.Series([], dtype="object")
    return pd.DataFrame(cols)
