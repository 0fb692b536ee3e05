"""Idempotent upsert of imported rows into the data folder, and the summary of what happened.

:func:`upsert` is the rule, in memory and on text; :func:`plan_table` applies it to a folder's
CSV file, :mod:`peereval.importers.into_database` to a database table.

Rows are matched by the table's key. A row whose key is new is added; a row whose key exists
is updated in the columns the importer writes (other columns of that row are kept); rows of the
target table that the import does not mention — from other sources or earlier exports — are
kept as they are. Nothing is ever deleted. Files are written sorted by key (stable) with ``\\n``
line ends and only when their bytes change, so a repeated import leaves them byte-identical.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from peereval.data.contract import FILE_SUFFIXES
from peereval.data.reading import normalise_column
from peereval.errors import DataError, Problem

KEYS: dict[str, tuple[str, ...]] = {
    "tickets": ("ticket_id",),
    "sessions": ("session_id",),
    "attendance": ("session_id", "person_id"),
    "people": ("person_id",),
    "surveys": ("person_id", "date", "question"),
}

_UNITS = {"attendance": "attendee"}  # tables whose rows are not the importer's main unit

COLUMNS: dict[str, tuple[str, ...]] = {
    "tickets": ("ticket_id", "team", "created_at", "resolved_at", "priority", "type"),
    "sessions": ("session_id", "date", "format", "duration_minutes", "facilitator_id", "team", "topic"),
    "attendance": ("session_id", "person_id", "status"),
    "people": ("person_id", "team", "role", "hire_date", "email"),
    "surveys": ("person_id", "date", "score", "question", "comment"),
}


#: An import stops when it would skip more than this share of a source's records (of any unit).
MAX_SKIPPED_SHARE = 0.05
_PLURAL = {"person": "people", "pull request": "pull requests", "issue": "issues", "row": "rows"}


def plural(unit: str, n: int) -> str:
    return unit if n == 1 else _PLURAL.get(unit, f"{unit}s")


class Skips:
    """Source records read and left out, by reason, with the first place and the fix of each reason.

    ``unit`` is what the importer reads (issue, session, response, person); a reason may count
    another unit (an attendee of a session, an answer of a response). ``expected`` reasons are
    left out by design (pull requests in an issues export, cancelled events, rooms): they are
    counted and shown, but are not losses and never stop an import.
    """

    def __init__(self, unit: str = "row") -> None:
        self.unit = unit
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.fixes: dict[str, str] = {}
        self.units: dict[str, str] = {}
        self.expected: set[str] = set()
        self.seen: Counter[str] = Counter()

    def read(self, n: int = 1, unit: str | None = None) -> None:
        """Count ``n`` source records of ``unit`` (default: the importer's unit)."""
        self.seen[unit or self.unit] += n

    def set_fix(self, reason: str, fix: str) -> None:
        """Replace the fix of ``reason`` (when the importer knows a better one after reading all rows)."""
        if reason in self.counts:
            self.fixes[reason] = fix

    def add(self, reason: str, where: str, n: int = 1, *, fix: str = "", unit: str | None = None,
            expected: bool = False) -> None:
        self.counts[reason] += n
        self.examples.setdefault(reason, where)
        if fix:
            self.fixes.setdefault(reason, fix)
        self.units.setdefault(reason, unit or self.unit)
        if expected:
            self.expected.add(reason)


@dataclass(frozen=True)
class TableChange:
    """What one import did to one table. ``kept`` counts rows the import did not mention."""

    table: str
    added: int
    updated: int
    unchanged: int
    kept: int
    written: bool
    stored_as: str = ""  # a database table's "schema.table" ("" for a folder's <table>.csv)

    @property
    def where(self) -> str:
        return self.stored_as or f"{self.table}.csv"


@dataclass(frozen=True)
class ImportSummary:
    """What an import read, added, updated, left unchanged and skipped (with reasons and fixes).

    ``skipped`` holds every reason (also the ``expected`` ones, which are not losses);
    ``read`` the source records read per unit. :meth:`stop_problems` says why an import that
    loses more than 5% of a unit's records (or imports nothing) must not be written.

    Example::

        >>> summary = run_import("jira", "jira.csv", "data/")        # doctest: +SKIP
        >>> summary.rows_added, dict(summary.skipped)                 # doctest: +SKIP
        (31, {'no team: component not in [jira.components]': 2})
        >>> print(summary.render())                                   # doctest: +SKIP
    """

    kind: str
    source: str
    tables: tuple[str, ...]
    rows_added: int
    rows_updated: int
    rows_unchanged: int
    skipped: Mapping[str, int] = field(default_factory=dict)
    skip_examples: Mapping[str, str] = field(default_factory=dict)
    changes: tuple[TableChange, ...] = ()
    skip_fixes: Mapping[str, str] = field(default_factory=dict)
    skip_units: Mapping[str, str] = field(default_factory=dict)
    expected: frozenset[str] = frozenset()
    read: Mapping[str, int] = field(default_factory=dict)
    unit: str = "row"
    accepted: bool = False  # skips above the limit accepted with --allow-skips

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def lost(self) -> dict[str, int]:
        """Reasons that are losses (not ``expected``) → count."""
        return {r: n for r, n in self.skipped.items() if r not in self.expected}

    def lost_in(self, unit: str) -> int:
        return sum(n for r, n in self.lost.items() if self.skip_units.get(r, self.unit) == unit)

    def _reason_line(self, reason: str, n: int) -> str:
        fix = self.skip_fixes.get(reason)
        return f"{n} × {reason} (e.g. {self.skip_examples.get(reason, '?')})" + (f" — {fix}" if fix else "")

    def _units(self) -> list[str]:
        units = [self.unit, *sorted(u for u in self.read if u != self.unit)]
        return [u for u in units if self.read.get(u) or self.lost_in(u)]

    def over_limit(self) -> list[str]:
        """Units whose lost share is above :data:`MAX_SKIPPED_SHARE`."""
        return [u for u in self._units()
                if self.lost_in(u) > MAX_SKIPPED_SHARE * max(self.read.get(u, 0), self.lost_in(u))]

    def stop_problems(self) -> list[Problem]:
        """Why this import must not be written (empty when it may): one problem per reason."""
        main = self.changes[0] if self.changes else None
        imported = (main.added + main.updated + main.unchanged) if main else 0
        nothing = imported == 0 and bool(self.skipped)
        over = self.over_limit()
        if not over and not nothing:
            return []
        problems = []
        for unit in over:
            lost, read = self.lost_in(unit), max(self.read.get(unit, 0), self.lost_in(unit))
            problems.append(Problem(
                self.source, f"{lost} of {read} {plural(unit, read)} ({lost / read:.0%}) would be skipped, "
                             f"more than the {MAX_SKIPPED_SHARE:.0%} allowed; nothing was written",
                "fix the causes below and import again, or accept the skips with --allow-skips"))
        if nothing and not over:
            problems.append(Problem(self.source, f"nothing would be imported: every {self.unit} was left out; "
                                                 "nothing was written",
                                    "fix the causes below, or accept with --allow-skips"))
        reasons = self.lost if over else dict(self.skipped)
        for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            fix = self.skip_fixes.get(reason) or "see docs/importers.md"
            problems.append(Problem(self.source, f"{n} × {reason} (e.g. {self.skip_examples.get(reason, '?')})",
                                    fix))
        return problems

    def render(self) -> str:
        """A short plain-text summary for the terminal."""
        read = ", ".join(f"{self.read[u]} {plural(u, self.read[u])}" for u in self._units() if u in self.read)
        lost = sum(self.lost.values())
        expected = self.rows_skipped - lost
        head = (f"{self.kind} import of {self.source}: {read or 'nothing'} read; {self.rows_added} added, "
                f"{self.rows_updated} updated, {self.rows_unchanged} unchanged, {lost} skipped")
        lines = [head + (f", {expected} left out as intended" if expected else "")]
        for c in self.changes:
            state = "written" if c.written else ("unchanged in the database" if c.stored_as
                                                 else "unchanged on disk")
            kept = f", {c.kept} other rows kept" if c.kept else ""
            lines.append(f"  {c.where}: {c.added} added, {c.updated} updated, "
                         f"{c.unchanged} unchanged{kept} ({state})")
        if lost:
            for unit in self._units():
                n = self.lost_in(unit)
                if not n:
                    continue
                total = max(self.read.get(unit, 0), n)
                lines.append(f"  skipped {n} of {total} {plural(unit, total)} ({n / total:.1%}):")
                for reason, k in sorted(self.lost.items(), key=lambda kv: (-kv[1], kv[0])):
                    if self.skip_units.get(reason, self.unit) == unit:
                        lines.append("    " + self._reason_line(reason, k))
        else:
            lines.append("  nothing skipped")
        if expected:
            lines.append("  left out as intended (not counted as skipped):")
            for reason, k in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
                if reason in self.expected:
                    lines.append("    " + self._reason_line(reason, k))
        if self.accepted:
            why = [f"{self.lost_in(u) / max(self.read.get(u, 0), self.lost_in(u)):.1%} of the "
                   f"{plural(u, 2)} skipped" for u in self.over_limit()] or ["nothing imported"]
            lines.append(f"  accepted with --allow-skips: {', '.join(why)} (the limit is "
                         f"{MAX_SKIPPED_SHARE:.0%})")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Plan:
    path: Path
    content: str | None  # None: bytes already identical
    change: TableChange


def _read_existing(path: Path, key: tuple[str, ...]) -> tuple[list[str], list[dict[str, str]]]:
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError([Problem(path.name, "is not UTF-8 text",
                                 "save it as 'CSV UTF-8' before importing into it")]) from None
    records = list(csv.reader(io.StringIO(content, newline="")))
    if not records:
        return [], []
    header = [normalise_column(h) for h in records[0]]
    missing = [k for k in key if k not in header]
    if missing:
        raise DataError([Problem(path.name, f"the existing table has no '{k}' column, so imported rows "
                                            f"cannot be matched to it", "fix the header or move the file away",
                                 column=k) for k in missing])
    rows = []
    for rec in records[1:]:
        if not any(c.strip() for c in rec):
            continue
        rec = rec + [""] * (len(header) - len(rec))
        rows.append(dict(zip(header, rec, strict=False)))
    return header, rows


@dataclass(frozen=True)
class Upserted:
    """The target table after an upsert, in memory: header, every row (sorted by key), what changed."""

    header: list[str]
    rows: list[dict[str, str]]
    written_columns: list[str]
    added: int
    updated: int
    unchanged: int
    kept: int


def upsert(table: str, header: list[str], existing: list[dict[str, str]], rows: list[dict[str, str]],
           skips: Skips) -> Upserted:
    """Upsert ``rows`` into the ``existing`` rows of ``table`` by its key (the rules above).

    Values are compared as text; the rows are new dicts (keys other than the header's are kept,
    so a caller may carry its own markers through).
    """
    key, columns = KEYS[table], COLUMNS[table]
    # the columns this import writes (an export without rows still writes a complete header)
    written_cols = [c for c in columns if any(c in r for r in rows)] or [c for c in columns if c != "email"]
    header = header + [c for c in columns if c in written_cols and c not in header]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, r in enumerate(existing):
        index.setdefault(tuple(r.get(k, "") for k in key), []).append(i)

    latest: dict[tuple[str, ...], dict[str, str]] = {}
    for r in rows:
        k = tuple(r[c] for c in key)
        if k in latest:
            skips.add("same key twice in the source (the later row is kept)", r.get("_where", "?"),
                      expected=True, unit=_UNITS.get(table))
        latest[k] = r
    added = updated = unchanged = 0
    out = [dict(r) for r in existing]
    for k, r in latest.items():
        values = {c: r.get(c, "") for c in written_cols}
        if k in index:
            before = [out[i] for i in index[k]]
            if all(all(b.get(c, "") == v for c, v in values.items()) for b in before):
                unchanged += 1
            else:
                updated += 1
                for i in index[k]:
                    out[i].update(values)
        else:
            added += 1
            out.append(values)
    out.sort(key=lambda r: tuple(r.get(c, "") for c in key))
    kept = len(existing) - sum(len(index[k]) for k in latest if k in index)
    return Upserted(header, out, written_cols, added, updated, unchanged, kept)


def plan_table(folder: Path, table: str, rows: list[dict[str, str]], skips: Skips) -> _Plan:
    """Upsert ``rows`` into ``folder/<table>.csv`` in memory; nothing is written yet."""
    others = [p.name for p in sorted(folder.glob("*")) if p.stem.lower() == table
              and p.suffix.lower() in FILE_SUFFIXES and p.suffix.lower() != ".csv"]
    if others:
        raise DataError([Problem(others[0], f"the {table} table is kept in another format",
                                 f"importers write {table}.csv: convert {others[0]} to CSV first, "
                                 "or remove it")])
    path = folder / f"{table}.csv"
    header, existing = _read_existing(path, KEYS[table]) if path.exists() else ([], [])
    merged = upsert(table, header, existing, rows, skips)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(merged.header)
    for r in merged.rows:
        writer.writerow([r.get(c, "") for c in merged.header])
    content = buf.getvalue()
    same = path.exists() and path.read_bytes() == content.encode("utf-8")
    change = TableChange(table, merged.added, merged.updated, merged.unchanged, merged.kept, written=not same)
    return _Plan(path, None if same else content, change)


def write_plans(plans: list[_Plan]) -> None:
    """Write every planned table (each through a temporary file, so a crash leaves no half file)."""
    for plan in plans:
        if plan.content is None:
            continue
        tmp = plan.path.with_name(f".{plan.path.name}.importing")
        tmp.write_text(plan.content, encoding="utf-8", newline="")
        os.replace(tmp, plan.path)


class Planned(Protocol):
    """A table's planned change (a folder's file or a database table)."""

    change: TableChange


def summarise(kind: str, source: Path, plans: Sequence[Planned], skips: Skips,
              accepted: bool = False) -> ImportSummary:
    changes = tuple(p.change for p in plans)
    return ImportSummary(
        kind=kind, source=source.name, tables=tuple(c.table for c in changes),
        rows_added=sum(c.added for c in changes), rows_updated=sum(c.updated for c in changes),
        rows_unchanged=sum(c.unchanged for c in changes),
        skipped=MappingProxyType(dict(sorted(skips.counts.items()))),
        skip_examples=MappingProxyType(dict(sorted(skips.examples.items()))), changes=changes,
        skip_fixes=MappingProxyType(dict(sorted(skips.fixes.items()))),
        skip_units=MappingProxyType(dict(sorted(skips.units.items()))),
        expected=frozenset(skips.expected), read=MappingProxyType(dict(skips.seen)), unit=skips.unit,
        accepted=accepted,
    )
