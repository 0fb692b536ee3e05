"""Idempotent upsert of imported rows into the data folder, and the summary of what happened.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

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

COLUMNS: dict[str, tuple[str, ...]] = {
    "tickets": ("ticket_id", "team", "created_at", "resolved_at", "priority", "type"),
    "sessions": ("session_id", "date", "format", "duration_minutes", "facilitator_id", "team", "topic"),
    "attendance": ("session_id", "person_id", "status"),
    "people": ("person_id", "team", "role", "hire_date", "email"),
    "surveys": ("person_id", "date", "score", "question", "comment"),
}


class Skips:
    """Counts of source rows left out, by reason, with the first place each reason occurred."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def add(self, reason: str, where: str, n: int = 1) -> None:
        self.counts[reason] += n
        self.examples.setdefault(reason, where)


@dataclass(frozen=True)
class TableChange:
    """What one import did to one table. ``kept`` counts rows the import did not mention."""

    table: str
    added: int
    updated: int
    unchanged: int
    kept: int
    written: bool


@dataclass(frozen=True)
class ImportSummary:
    """What an import added, updated, left unchanged and skipped (with reasons).

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

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def render(self) -> str:
        """A short plain-text summary for the terminal."""
        lines = [f"{self.kind} import of {self.source}:"]
        for c in self.changes:
            state = "written" if c.written else "unchanged on disk"
            kept = f", {c.kept} other rows kept" if c.kept else ""
            lines.append(f"  {c.table}.csv: {c.added} added, {c.updated} updated, "
                         f"{c.unchanged} unchanged{kept} ({state})")
        if self.skipped:
            lines.append(f"  skipped {self.rows_skipped} source records:")
            for reason, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"    {n} × {reason} (e.g. {self.skip_examples.get(reason, '?')})")
        else:
            lines.append("  nothing skipped")
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


def plan_table(folder: Path, table: str, rows: list[dict[str, str]], skips: Skips) -> _Plan:
    """Upsert ``rows`` into ``folder/<table>.csv`` in memory; nothing is written yet."""
    key, columns = KEYS[table], COLUMNS[table]
    others = [p.name for p in sorted(folder.glob("*")) if p.stem.lower() == table
              and p.suffix.lower() in FILE_SUFFIXES and p.suffix.lower() != ".csv"]
    if others:
        raise DataError([Problem(others[0], f"the {table} table is kept in another format",
                                 f"importers write {table}.csv: convert {others[0]} to CSV first, "
                                 "or remove it")])
    path = folder / f"{table}.csv"
    header, existing = _read_existing(path, key) if path.exists() else ([], [])
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
            skips.add("same key twice in the source (the later row is kept)", r.get("_where", "?"))
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
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in out:
        writer.writerow([r.get(c, "") for c in header])
    content = buf.getvalue()
    same = path.exists() and path.read_bytes() == content.encode("utf-8")
    kept = len(existing) - sum(len(index[k]) for k in latest if k in index)
    change = TableChange(table, added, updated, unchanged, kept, written=not same)
    return _Plan(path, None if same else content, change)


def write_plans(plans: list[_Plan]) -> None:
    """Write every planned table (each through a temporary file, so a crash leaves no half file)."""
    for plan in plans:
        if plan.content is None:
            continue
        tmp = plan.path.with_name(f".{plan.path.name}.importing")
        tmp.write_text(plan.content, encoding="utf-8", newline="")
        os.replace(tmp, plan.path)


def summarise(kind: str, source: Path, plans: list[_Plan], skips: Skips) -> ImportSummary:
    changes = tuple(p.change for p in plans)
    return ImportSummary(
        kind=kind, source=source.name, tables=tuple(c.table for c in changes),
        rows_added=sum(c.added for c in changes), rows_updated=sum(c.updated for c in changes),
        rows_unchanged=sum(c.unchanged for c in changes),
        skipped=MappingProxyType(dict(sorted(skips.counts.items()))),
        skip_examples=MappingProxyType(dict(sorted(skips.examples.items()))), changes=changes,
    )
