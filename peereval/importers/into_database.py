"""Importing into a database: a DuckDB file or a PostgreSQL schema instead of a data folder.

The same upsert as for a folder (:func:`peereval.importers.merge.upsert`, the same keys, counts
and summary): the contract table is read from the database, the imported rows are merged in
memory, and the tables that changed are written back in **one transaction** (``DELETE`` the
rows, append the merged ones; a new table is created with the contract's types, a column the
import adds is added). A failure rolls everything back, so the tables stay as they were; an
import that changes nothing writes nothing. Columns the contract does not know, and the
columns an import does not write, keep their stored values and types.

DuckDB files are written with DuckDB's own client; PostgreSQL through the ADBC driver (the
rows go in by its bulk ``adbc_ingest``). The SQL sent is the same for both and plain ANSI.
``?schema=NAME`` picks the schema as for ``peereval report``; it is created when missing.
Messages name the target by :func:`peereval.data.database.display` (never a password).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa

from peereval.data.database import display, literal, locate, quote
from peereval.data.reading import normalise_column
from peereval.errors import DataError, Problem
from peereval.importers import cells
from peereval.importers.merge import COLUMNS, KEYS, Skips, TableChange, upsert

_ROW = "\0row"  # marks a merged row with its position in the stored table
_ACCESS_FIX = ("check the URL or path, that the server is running and accepts this user "
               "(password in PGPASSWORD or ~/.pgpass), and that this user may write there")


@dataclass(frozen=True)
class DatabasePlan:
    """One table's merged rows, ready to write (``table`` is None when nothing changed)."""

    name: str  # contract name
    stored: str  # name as stored (or to be created)
    exists: bool
    new_columns: tuple[tuple[str, pa.DataType], ...]
    table: pa.Table | None
    change: TableChange


class DatabaseTarget:
    """A database to import into: an open connection (made on writing, for a DuckDB file not yet there)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.name = display(target)
        self.conn: object | None = None
        self.kind, self.uri, self.schema = locate(target)
        self.tables: dict[str, str] = {}  # lower-case name → name as stored
        self._declared: dict[str, dict[str, str]] = {}  # table → column → SQL type (for messages)

    @classmethod
    def open(cls, target: str | Path) -> DatabaseTarget:
        """Connect and list the schema's tables; a DataError naming the target when that fails."""
        self = cls(str(target))
        self._guard(self._connect, "cannot reach the database", _ACCESS_FIX)
        if self.conn is not None:
            self.tables = self._guard(self._list_tables, "cannot list the tables", _ACCESS_FIX)
        return self

    def __enter__(self) -> DatabaseTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                if self.kind == "postgresql":
                    self.conn.rollback()  # the reads' transaction, when nothing was written
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
            self.conn = None

    # -- connection and SQL ----------------------------------------------------------------------

    def _connect(self, create: bool = False) -> None:
        if self.kind == "postgresql":
            import adbc_driver_postgresql.dbapi as adbc

            self.conn = adbc.connect(self.uri, autocommit=False)
            return
        import duckdb

        path = Path(self.uri)
        if path.is_dir():
            raise DataError([Problem(self.name, "is a folder, not a DuckDB file",
                                     "give a path ending in .duckdb, or the folder without it")])
        if path.exists() or create:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = duckdb.connect(str(path))

    def _guard(self, action, what: str, fix: str, *, table: str | None = None):
        """Run ``action``; a driver's error becomes one DataError line (never a traceback or a password)."""
        try:
            return action()
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - any driver error, named with the target
            raise DataError([Problem(self.where(table) if table else self.name,
                                     f"{what} ({self._first_line(exc)})", fix)]) from None

    def _first_line(self, exc: Exception) -> str:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        first = re.sub(r"^[A-Z_]+: (\[libpq\] )?", "", first)  # ADBC's status prefix
        first = first.rsplit("ERROR:", 1)[-1].strip()  # the server's own words
        password = urlsplit(self.target).password if "://" in self.target else None
        return (first.replace(password, "***") if password else first)[:300]

    def _query(self, sql: str) -> pa.Table:
        if self.kind == "duckdb":
            return self.conn.sql(sql).to_arrow_table()
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()

    def _execute(self, sql: str) -> None:
        if self.kind == "duckdb":
            self.conn.execute(sql)
            return
        with self.conn.cursor() as cur:
            cur.execute(sql)

    def _list_tables(self) -> dict[str, str]:
        found = self._query("SELECT table_name FROM information_schema.tables "
                            f"WHERE table_schema = {literal(self.schema)} ORDER BY table_name")
        out: dict[str, str] = {}
        for name in found.column(0).to_pylist():
            if name == name.lower() or name.lower() not in out:
                out[name.lower()] = name
        return out

    def where(self, table: str) -> str:
        """How messages name a table: ``schema.table``."""
        return f"{self.schema}.{table}"

    def qualified(self, stored: str) -> str:
        return f"{quote(self.schema)}.{quote(stored)}"

    # -- reading ----------------------------------------------------------------------------------

    def read(self, table: str) -> pa.Table | None:
        """Every column of ``table`` as stored (None when the schema has no such table)."""
        stored = self.tables.get(table)
        if stored is None:
            return None
        return self._guard(lambda: self._query(f"SELECT * FROM {self.qualified(stored)}"),
                           "cannot read the table", "check that this user may read it", table=table)

    def _columns(self, table: str, stored: pa.Table) -> dict[str, str]:
        """contract-normalised column name → name as stored; two stored names for one column are a problem."""
        by_name: dict[str, list[str]] = {}
        for col in stored.column_names:
            by_name.setdefault(normalise_column(col), []).append(col)
        dupes = sorted(c for c, v in by_name.items() if len(v) > 1)
        if dupes:
            raise DataError([Problem(self.where(table), f"columns {', '.join(by_name[c])} are the same "
                                     f"column '{c}'", "keep one of them", column=c) for c in dupes])
        return {c: v[0] for c, v in by_name.items()}

    def text_rows(self, table: str) -> tuple[list[str], list[dict[str, str]]]:
        """The table's contract columns as canonical text (``[]`` rows when there is no table)."""
        stored = self.read(table)
        if stored is None:
            return [], []
        names = self._columns(table, stored)
        wanted = [c for c in names if c in COLUMNS.get(table, tuple(names))]
        texts = {c: cells.column_texts(stored.column(names[c])) for c in wanted}
        return wanted, [{c: texts[c][i] for c in wanted} for i in range(stored.num_rows)]

    # -- planning ---------------------------------------------------------------------------------

    def plan(self, table: str, rows: list[dict[str, str]], skips: Skips) -> DatabasePlan:
        """Upsert ``rows`` into the stored ``table`` in memory, as for a folder; nothing is written yet."""
        stored = self.read(table)
        where = self.where(table)
        names = self._columns(table, stored) if stored is not None else {}
        missing = [k for k in KEYS[table] if stored is not None and k not in names]
        if missing:
            raise DataError([Problem(where, f"the existing table has no '{k}' column, so imported rows "
                                            "cannot be matched to it", "add the column or rename the table",
                                     column=k) for k in missing])
        types = {c: stored.schema.field(names[c]).type for c in names} if stored is not None else {}
        self._declared[table] = self._declared_types(table) if stored is not None else {}
        header = [c for c in names if c in COLUMNS[table]]
        existing = []
        if stored is not None:
            texts = {c: cells.column_texts(stored.column(names[c])) for c in header}
            existing = [{_ROW: i, **{c: texts[c][i] for c in header}} for i in range(stored.num_rows)]
        imported = [self._canonical(table, r, types) for r in rows]
        merged = upsert(table, header, existing, imported, skips)
        new_columns = tuple((c, cells.contract_type(table, c)) for c in merged.header if c not in names)
        types |= dict(new_columns)
        changed = stored is None or bool(new_columns) or merged.added > 0 or merged.updated > 0
        out = self._table(table, stored, names, types, merged) if changed else None
        change = TableChange(table, merged.added, merged.updated, merged.unchanged, merged.kept,
                             written=changed, stored_as=self.where(table))
        return DatabasePlan(table, self.tables.get(table, table), stored is not None, new_columns, out, change)

    def _declared_types(self, table: str) -> dict[str, str]:
        """contract-normalised column name → its SQL type as the database names it (for messages)."""
        found = self._guard(lambda: self._query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
            f"{literal(self.schema)} AND table_name = {literal(self.tables[table])}"),
            "cannot read the table's columns", "check that this user may read it", table=table)
        names, types = found.column(0).to_pylist(), found.column(1).to_pylist()
        return {normalise_column(c): t for c, t in zip(names, types, strict=True)}

    def _canonical(self, table: str, row: dict[str, str], types: dict[str, pa.DataType]) -> dict[str, str]:
        """An imported row with each value as the stored column would give it back."""
        out = dict(row)
        for c, t in types.items():
            if c in out and c in COLUMNS[table]:
                out[c] = self._cast(table, c, t, lambda t=t, v=out[c]: cells.canonical(v, t), out[c])
        return out

    def _cast(self, table: str, column: str, t: pa.DataType, action, value: str):
        try:
            return action()
        except (ValueError, TypeError, OverflowError, pa.ArrowException) as exc:
            declared = self._declared.get(table, {}).get(column, t)
            why = exc if isinstance(exc, ValueError) else "does not fit it"
            raise DataError([Problem(
                self.where(table), f"the column is of type {declared}, and the imported value '{value[:40]}' {why}",
                f"change the column's type (to {cells.sql_type(cells.contract_type(table, column))} or text) "
                "or import into a new schema; nothing was written", column=column)]) from None

    def _table(self, table: str, stored: pa.Table | None, names: dict[str, str],
               types: dict[str, pa.DataType], merged) -> pa.Table:
        """The rows to write: stored columns in their order, then the columns this import adds."""
        rows = merged.rows
        origin = pa.array([r.get(_ROW) for r in rows], pa.int64())
        written = set(merged.written_columns)
        columns: dict[str, pa.Array] = {}
        by_stored = {v: k for k, v in names.items()}
        order = list(stored.column_names if stored is not None else []) + \
            [c for c in merged.header if c not in names]
        for col in order:
            contract = by_stored.get(col, col)
            before = stored.column(col).combine_chunks().take(origin) if col in names.values() else None
            if contract not in written:
                columns[col] = cells.writable(before)
                continue
            t = types[contract]
            old = cells.column_texts(before) if before is not None else [""] * len(rows)
            new = [r.get(contract, "") for r in rows]
            keep = before.to_pylist() if before is not None and not cells.is_numeric_text(t) else None
            values = []
            for i, text in enumerate(new):
                if keep is not None and text == old[i]:
                    values.append(keep[i])  # an unchanged cell keeps its stored value ('' stays '')
                else:
                    values.append(self._cast(table, contract, t, lambda t=t, v=text: cells.parse_cell(v, t),
                                             text))
            columns[col] = pa.array(values, cells.writable_type(t, values))
        return pa.table(columns)

    # -- writing ----------------------------------------------------------------------------------

    def write(self, plans: list[DatabasePlan]) -> None:
        """Write every changed table in one transaction; on any failure nothing is written."""
        todo = [p for p in plans if p.table is not None]
        if not todo:
            return
        created = self.conn is None  # a DuckDB file made now is removed again if the write fails
        if created:
            self._guard(lambda: self._connect(create=True), "cannot create the DuckDB file", _ACCESS_FIX)
        try:
            if self.kind == "duckdb":
                self.conn.begin()
            schemas = self._query("SELECT schema_name FROM information_schema.schemata").column(0).to_pylist()
            if self.schema not in schemas:
                self._execute(f"CREATE SCHEMA {quote(self.schema)}")
            for plan in todo:
                self._write_table(plan)
            self.conn.commit()
        except Exception as exc:  # noqa: BLE001 - any driver error: roll back, then one clear line
            try:
                self.conn.rollback()
            except Exception:  # noqa: BLE001 - the connection may be gone
                pass
            problem = self._write_problem(exc, todo)
            if created:
                self.close()
                for leftover in (Path(self.uri), Path(self.uri + ".wal")):
                    leftover.unlink(missing_ok=True)
            raise DataError([problem]) from None

    def _write_table(self, plan: DatabasePlan) -> None:
        target = self.qualified(plan.stored)
        if not plan.exists:
            cols = ", ".join(f"{quote(c)} {cells.sql_type(t)}" for c, t in plan.new_columns)
            self._execute(f"CREATE TABLE {target} ({cols})")
        else:
            for c, t in plan.new_columns:
                self._execute(f"ALTER TABLE {target} ADD COLUMN {quote(c)} {cells.sql_type(t)}")
            self._execute(f"DELETE FROM {target}")
        if self.kind == "postgresql":
            with self.conn.cursor() as cur:
                cur.adbc_ingest(plan.stored, plan.table, mode="append", db_schema_name=self.schema)
            return
        view = "_peereval_import_rows"
        self.conn.register(view, plan.table)
        try:
            cols = ", ".join(quote(c) for c in plan.table.column_names)
            self.conn.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {quote(view)}")
        finally:
            try:
                self.conn.unregister(view)
            except Exception:  # noqa: BLE001 - an aborted transaction refuses it: the error that matters is raised
                pass

    def _write_problem(self, exc: Exception, plans: list[DatabasePlan]) -> Problem:
        message = self._first_line(exc)
        tables = ", ".join(f"{self.schema}.{p.stored}" for p in plans)
        low = message.lower()
        if "permission denied" in low or "read-only" in low or "read only" in low:
            fix = (f"grant this user CREATE on schema {self.schema} and SELECT, INSERT, DELETE on its tables "
                   "(or import into a schema it owns)")
        elif "constraint" in low or "violates" in low or "duplicate key" in low:
            fix = "the table's constraints refuse the imported rows: relax the constraint or correct the rows"
        else:
            fix = "check the table's definition and that this user may write it"
        return Problem(self.name, f"cannot write {tables} ({message}); nothing was written, the tables are "
                                  "as they were", fix)
