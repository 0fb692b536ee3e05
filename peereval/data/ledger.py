"""The data-quality ledger: every input row is either used or counted here with its reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

ExclusionKind = Literal["invalid", "linked", "scope"]


@dataclass(frozen=True)
class Exclusion:
    """Rows of one table left out for one reason.

    ``invalid`` rows are implausible (they count toward the 5% limit and ``--strict``); ``scope``
    rows are fine but outside what this report counts (after the cutoff, another ticket type, …);
    ``linked`` rows point at a row excluded from another table (counted there, not here).
    ``unlisted`` rows were counted where they are stored (a database, see :mod:`peereval.engine`)
    and are not listed in ``rows``.
    """

    table: str
    file: str
    reason: str
    kind: ExclusionKind
    rows: tuple[int, ...]
    column: str | None = None
    fix: str = ""
    unlisted: int = 0

    @property
    def count(self) -> int:
        return len(self.rows) + self.unlisted


@dataclass(frozen=True)
class Ledger:
    """Rows read, used and excluded per table, plus notes on rows used with an adjustment."""

    rows_read: dict[str, int] = field(default_factory=dict)
    exclusions: tuple[Exclusion, ...] = ()
    notes: tuple[tuple[str, str, int], ...] = ()  # (table, note, count)

    def excluded(self, table: str, kind: ExclusionKind | None = None) -> int:
        return sum(e.count for e in self.exclusions if e.table == table and kind in (None, e.kind))

    def rows_used(self, table: str) -> int:
        return self.rows_read.get(table, 0) - self.excluded(table)

    def to_dict(self) -> dict[str, dict]:
        """``{table: {rows_read, rows_used, excluded: {reason: count}, notes: {note: count}}}``."""
        out: dict[str, dict] = {}
        for table, n in self.rows_read.items():
            reasons: Counter[str] = Counter()
            for e in self.exclusions:
                if e.table == table:
                    reasons[e.reason] += e.count
            out[table] = {
                "rows_read": int(n),
                "rows_used": int(self.rows_used(table)),
                "excluded": dict(sorted(reasons.items())),
                "notes": {note: int(c) for t, note, c in self.notes if t == table},
            }
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per table and reason: table, reason, kind, rows (plus used/read totals)."""
        records = []
        for table, n in self.rows_read.items():
            records.append({"table": table, "reason": "rows read", "kind": "", "rows": int(n)})
            for e in self.exclusions:
                if e.table == table:
                    records.append({"table": table, "reason": e.reason, "kind": e.kind, "rows": e.count})
            for t, note, c in self.notes:
                if t == table:
                    records.append({"table": table, "reason": note, "kind": "note", "rows": int(c)})
            records.append({"table": table, "reason": "rows used", "kind": "", "rows": self.rows_used(table)})
        frame = pd.DataFrame.from_records(records, columns=["table", "reason", "kind", "rows"])
        if frame.empty:
            return frame
        return frame.groupby(["table", "reason", "kind"], sort=False, as_index=False)["rows"].sum()
