"""Where ``load`` reads the exports from: a folder of files, or a database (see ``database``).

Both give the loader the same thing, one :class:`~peereval.data.reading.RawTable` per table,
so validation, the ledger and everything after it cannot tell them apart. Only how rows are
named in messages (file line, or key) and how the input fingerprint is taken differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from peereval.config import ProgramConfig, load_config, parse_config
from peereval.data import columnar, database
from peereval.data.contract import TableSpec
from peereval.data.reading import (
    ROW,
    RawTable,
    find_files,
    fingerprint,
    normalise_column,
    read_table,
)
from peereval.errors import DataError, Problem


class FolderSource:
    """A folder of CSV/Parquet/Excel exports (program.toml beside them, or ``config_file``)."""

    def __init__(self, folder: str | Path, config_file: str | Path | None = None):
        self.folder = Path(folder)
        self.config_file = Path(config_file) if config_file else None
        if not self.folder.is_dir():
            raise DataError([Problem(str(self.folder), "is not a folder",
                                     "give the folder that holds teams.csv, people.csv, … (or a database)")])
        self.root: Path | str = self.folder.resolve()
        self.name = self.folder.name

    def config(self) -> ProgramConfig:
        return load_config(self.folder, self.config_file)

    def find(self, extra: Iterable[str]) -> tuple[dict[str, Path], list[Problem]]:
        return find_files(self.folder, extra)

    def read(self, name: str, where: Path, spec: TableSpec) -> tuple[RawTable | None, list[Problem]]:
        return read_table(name, where, compact=True)

    def rows_elsewhere(self, name: str) -> int:
        """Rows read but not fetched: none for files."""
        return 0

    def fingerprint(self, found: dict[str, Path]) -> str:
        return fingerprint(self.folder, found, self.config_file)

    def missing(self, name: str) -> Problem:
        return Problem(f"{name}.csv", "required file is missing", f"add {name}.csv (or .parquet/.xlsx) to {self.folder}")

    def describe(self, found: dict[str, Path]) -> dict[str, str]:
        return {k: v.name for k, v in found.items()}

    def close(self) -> None:
        pass


class DatabaseSource:
    """A DuckDB file or a PostgreSQL database whose tables carry the contract's names."""

    def __init__(self, target: str | Path, config_file: str | Path | None = None, *,
                 fetch_only: dict[str, tuple[str, int]] | None = None):
        """``fetch_only``: ``{table: (SQL condition, rows left out)}`` reads only the rows the condition
        holds for; the others (already known to pass every check, see :mod:`peereval.engine`) still
        count as read, and as used."""
        self.db = database.Database.open(str(target))
        self.fetch_only = dict(fetch_only or {})
        self.config_file = Path(config_file) if config_file else None
        self.name = self.db.name
        local = self.db.kind == "duckdb" and "://" not in str(target)
        self.root = str(Path(target).resolve()) if local else self.name  # never a password
        self._tables: dict[str, object] = {}

    def config_text(self) -> str | None:
        """program.toml's text: the --config file, else the ``program`` table, else None (defaults)."""
        if self.config_file:
            return self.config_file.read_text(encoding="utf-8") if self.config_file.is_file() else None
        return self.db.config_text()

    def config(self) -> ProgramConfig:
        if self.config_file:
            return load_config(self.config_file.parent, self.config_file)
        text = self.db.config_text()
        return parse_config(text) if text is not None else ProgramConfig()

    def find(self, extra: Iterable[str]) -> tuple[dict[str, str], list[Problem]]:
        from peereval.data.contract import TABLES

        wanted = [*TABLES, *(t for t in extra if t not in TABLES)]
        return {t: t for t in wanted if t in self.db.tables}, []

    def read(self, name: str, where: str, spec: TableSpec) -> tuple[RawTable | None, list[Problem]]:
        stored = self.db.tables[name]
        by_name: dict[str, list[str]] = {}
        for col in stored:
            by_name.setdefault(normalise_column(col), []).append(col)
        dupes = sorted(c for c, v in by_name.items() if len(v) > 1 and c)
        if dupes:
            return None, [Problem(name, f"column '{c}' appears more than once", "keep one of them", column=c)
                          for c in dupes]
        wanted = [c.name for c in spec.columns]
        if any(c not in by_name for c in spec.required_columns):
            wanted = list(by_name)  # a column is missing: read them all so the message can suggest a rename
        columns = [by_name[c][0] for c in wanted if c in by_name]
        try:
            table = self.db.read(name, columns, self.fetch_only.get(name, (None, 0))[0])
        except Exception as exc:  # noqa: BLE001 - the driver's error, named with the table
            return None, [Problem(name, f"cannot be read ({type(exc).__name__}: {str(exc).strip()[:200]})",
                                  "check that this user may read the table")]
        table = table.rename_columns([normalise_column(c) for c in table.column_names])
        self._tables[name] = table
        frame = columnar.compact(table, date_as_object=False)
        frame[ROW] = pd.RangeIndex(1, len(frame) + 1)
        ids = tuple(c.name for c in spec.columns if c.kind == "id")
        labels = database.RowLabels(table, spec.key, ids)
        return RawTable(name, Path(name), frame, labels), []

    def rows_elsewhere(self, name: str) -> int:
        """Rows of ``name`` that passed every check in the database and were not fetched."""
        return self.fetch_only.get(name, (None, 0))[1]

    def fingerprint(self, found: dict[str, str]) -> str:
        return database.fingerprint({n: t for n, t in self._tables.items() if n in found}, self.config_text())

    def missing(self, name: str) -> Problem:
        return Problem(name, "required table is missing",
                       f"add a table named {name} to {self.name} (schema {self.db.schema})")

    def describe(self, found: dict[str, str]) -> dict[str, str]:
        return {k: f"{self.db.schema}.{v}" for k, v in found.items()}

    def close(self) -> None:
        self.db.close()


def open_source(target: str | Path, config_file: str | Path | None = None) -> FolderSource | DatabaseSource:
    """The source behind ``target``: a database URL or .duckdb file, else a folder."""
    if database.is_database(target):
        return DatabaseSource(target, config_file)
    return FolderSource(target, config_file)


def relabel(problems: list[Problem], raws: dict[str, RawTable]) -> list[Problem]:
    """Problems about database rows name the row by its key instead of its position."""
    import dataclasses
    import re

    labelled = {raw.file: raw.labels for raw in raws.values() if raw.labels is not None}
    if not labelled:
        return problems
    out = []
    for p in problems:
        labels = labelled.get(p.file)
        if labels is None:
            out.append(p)
            continue
        def at(m: re.Match, file: str = p.file, labels=labels) -> str:
            return f"{file}:{labels(int(m.group(1)))}"

        def first(m: re.Match, labels=labels) -> str:
            return f"(first as {labels(int(m.group(1)))})"

        what = re.sub(rf"(?<![\w.]){re.escape(p.file)}:(\d+)", at, p.what)
        what = re.sub(r"\(first on row (\d+)\)", first, what)
        row = labels(p.row) if isinstance(p.row, int) else p.row
        out.append(dataclasses.replace(p, what=what, row=row))
    return out
