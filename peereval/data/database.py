"""A database as the source of the exports: a DuckDB file or a PostgreSQL database.

Tables carry the data contract's names (``teams``, ``people``, … plus declared outcome tables);
column names are matched case-insensitively as for files. Both kinds are read through Arrow:
DuckDB's own Python client for a ``.duckdb`` file, the Apache Arrow ADBC driver (libpq) for
PostgreSQL. The SQL sent is the same for both and plain ANSI: ``information_schema`` to find
the tables and columns, and ``SELECT "col", … FROM "schema"."table"`` with only the columns
the contract (or an outcome declaration) names, so the database does the projection and wide
tables are never copied whole. Filtering and aggregation stay with peereval because every row
has to be checked to keep the ledger exact (a ticket after the cutoff is still counted, an id
repeated across the cutoff is still a problem).

Rows have no file line in a database, so problems name the row by its key (``tickets:BUG-17``,
``people:P1#2`` for a second row with a duplicated id; tables without an id column by their id
columns, ``attendance:S1/P3``). Rows are put in one canonical order (sorted by their values in
binary order, independent of the server's collation) before anything else, so the same rows
give the same numbers and the same input fingerprint wherever they are stored.

PostgreSQL passwords belong in ``PGPASSWORD`` or ``~/.pgpass`` (libpq reads both), not the URL:
the URL is recorded with the run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from peereval.errors import DataError, Problem

SUFFIXES = (".duckdb", ".ddb")
_URL = re.compile(r"^(postgres(?:ql)?|duckdb)://", re.IGNORECASE)
CONFIG_TABLE = "program"  # optional: one row, column ``toml`` holding program.toml's text


def is_database(target: object) -> bool:
    """True for a PostgreSQL/DuckDB URL or a path ending in .duckdb/.ddb."""
    text = str(target)
    return bool(_URL.match(text)) or Path(text).suffix.lower() in SUFFIXES


def display(target: object) -> str:
    """The target without a password (for messages, the report and results.json)."""
    text = str(target)
    if not _URL.match(text):
        return Path(text).name or text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def locate(target: str) -> tuple[str, str, str]:
    """``(kind, what to connect to, schema)`` of a database target: ``"postgresql"`` with the URL
    minus ``schema=`` (default ``public``), or ``"duckdb"`` with the file's path (default ``main``)."""
    if target.lower().startswith(("postgresql://", "postgres://")):
        parts = urlsplit(target)
        query = parse_qsl(parts.query, keep_blank_values=True)
        rest = urlencode([(k, v) for k, v in query if k != "schema"])
        return ("postgresql", urlunsplit(parts._replace(scheme="postgresql", query=rest)),
                next((v for k, v in query if k == "schema"), "") or "public")
    path, _, query = re.sub(r"^duckdb://", "", target, flags=re.IGNORECASE).partition("?")
    return "duckdb", path, dict(parse_qsl(query)).get("schema", "main")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Database:
    """An open connection and what it holds: ``{table (lower-case): [column names as stored]}``."""

    target: str
    kind: str  # "duckdb" | "postgresql"
    schema: str
    conn: object
    tables: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return display(self.target)

    @classmethod
    def open(cls, target: str | Path) -> Database:
        """Connect (read-only for DuckDB) and list the tables of the schema; a DataError when that fails."""
        text = str(target)
        try:
            if locate(text)[0] == "postgresql":
                db = cls._postgres(text)
            else:
                db = cls._duckdb(text)
            db.tables = db._columns()
        except DataError:
            raise
        except Exception as exc:  # a driver's own error: name the target and what to check, never a traceback
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError([Problem(display(text), f"cannot read the database ({first[:300]})",
                                     "check the URL or path, that the server is running and accepts this user "
                                     "(password in PGPASSWORD or ~/.pgpass), and the schema name")]) from None
        return db

    @classmethod
    def _postgres(cls, url: str) -> Database:
        import adbc_driver_postgresql.dbapi as adbc

        _, uri, schema = locate(url)
        conn = adbc.connect(uri, autocommit=True)
        return cls(url, "postgresql", schema, conn)

    @classmethod
    def _duckdb(cls, target: str) -> Database:
        import duckdb

        _, path, schema = locate(target)
        if not Path(path).is_file():
            raise DataError([Problem(display(target), "no such DuckDB file",
                                     "give the path of an existing .duckdb file (or a folder of exports)")])
        return cls(target, "duckdb", schema, duckdb.connect(path, read_only=True))

    @classmethod
    def run(cls, target: str, sql: str) -> pa.Table:
        """Open ``target``, run one query and close."""
        db = cls.open(target)
        try:
            return db.query(sql)
        finally:
            db.close()

    def query(self, sql: str) -> pa.Table:
        if self.kind == "duckdb":
            return self.conn.sql(sql).to_arrow_table()
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            return cur.fetch_arrow_table()
        finally:
            cur.close()

    def _columns(self) -> dict[str, list[str]]:
        rows = self.query("SELECT table_name, column_name FROM information_schema.columns "
                          f"WHERE table_schema = {literal(self.schema)} ORDER BY table_name, ordinal_position")
        out: dict[str, list[str]] = {}
        for table, column in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True):
            out.setdefault(table.lower(), []).append(column)
        if not out:
            raise DataError([Problem(self.name, f"schema '{self.schema}' holds no tables",
                                     "give the schema that holds teams, people, … (…?schema=NAME)")])
        return out

    def stored_name(self, table: str) -> str | None:
        """The table's name as stored (matched case-insensitively), or None."""
        if table not in self.tables:
            return None
        found = self.query("SELECT table_name FROM information_schema.tables "
                           f"WHERE table_schema = {literal(self.schema)}").column(0).to_pylist()
        return next((t for t in found if t.lower() == table), table)

    def qualified(self, table: str) -> str:
        """``"schema"."table"`` as stored, quoted for SQL."""
        return f"{quote(self.schema)}.{quote(self.stored_name(table) or table)}"

    def read(self, table: str, columns: list[str], where: str | None = None) -> pa.Table:
        """``SELECT`` the named columns (as stored) of one table (the rows ``where`` holds for), in canonical order."""
        cols = ", ".join(quote(c) for c in columns)
        sql = f"SELECT {cols} FROM {self.qualified(table)}" + (f" WHERE {where}" if where else "")
        return canonical(plain(self.query(sql)))

    def config_text(self) -> str | None:
        """program.toml's text from the optional ``program`` table (column ``toml``, first row)."""
        cols = self.tables.get(CONFIG_TABLE)
        col = next((c for c in cols or [] if c.lower() == "toml"), None)
        if col is None:
            return None
        rows = self.read(CONFIG_TABLE, [col]).column(0).to_pylist()
        return next((str(r) for r in rows if r is not None), None)

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def plain(table: pa.Table) -> pa.Table:
    """Extension columns as their storage: PostgreSQL's ``numeric`` arrives (through ADBC) as an opaque
    type holding the number's text, which is then read as a file's text would be."""
    for i, col in enumerate(table.columns):
        if isinstance(col.type, pa.BaseExtensionType):
            storage = pa.chunked_array([c.storage for c in col.chunks], type=col.type.storage_type)
            table = table.set_column(i, table.column_names[i], storage)
    return table


def canonical(table: pa.Table) -> pa.Table:
    """The rows sorted by every column in binary order (nulls last): one order wherever they are stored."""
    if table.num_rows < 2 or table.num_columns == 0:
        return table
    keys = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_large_string(col.type) or pa.types.is_string_view(col.type):
            col = col.cast(pa.string())
        keys.append((name, col))
    sortable = pa.table(dict(keys))
    order = pc.sort_indices(sortable, sort_keys=[(n, "ascending", "at_end") for n, _ in keys])
    if np.array_equal(order.to_numpy(), np.arange(table.num_rows)):
        return table
    return table.take(order)


class _Digesting:
    """A write-only file that feeds what is written to a hash (for Arrow's IPC writer)."""

    closed = False

    def __init__(self, digest: hashlib._Hash) -> None:
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def fingerprint(tables: dict[str, pa.Table], config_text: str | None) -> str:
    """sha256 over each table's name, column names and types, and its rows (Arrow IPC, canonical order)."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        digest.update(name.encode() + b"\0")
        # the stream goes straight into the hash: no second copy of every row in memory
        with pa.ipc.new_stream(pa.PythonFile(_Digesting(digest), mode="w"), table.schema) as writer:
            writer.write_table(table, max_chunksize=1 << 20)
        digest.update(b"\0")
    if config_text is not None:
        digest.update(b"program.toml\0" + config_text.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class RowLabels:
    """How a problem names a row of a database table (rows have no file line there).

    By its key (``P1``; ``P1#2`` for the second row with a repeated id) or, for tables without
    one, by its id columns joined with '/' (``S1/P3``). Computed only for the rows a message names.
    """

    table: pa.Table
    key: str | None
    id_columns: tuple[str, ...]

    def _text(self, name: str, i: int) -> str:
        value = self.table.column(name)[i].as_py()
        if value is None:
            return ""
        return value.isoformat() if hasattr(value, "isoformat") else str(value).strip()

    def __call__(self, row: int) -> str:
        i = int(row) - 1  # ROW numbers rows from 1 in canonical order
        if not 0 <= i < self.table.num_rows:
            return str(row)
        if self.key and self.key in self.table.column_names:
            value = self._text(self.key, i)
            col = self.table.column(self.key)
            same = pc.equal(pc.cast(col, pa.string()) if not pa.types.is_string(col.type) else col, value) \
                if value else pc.is_null(col)
            hits = np.flatnonzero(pc.fill_null(same, False).to_numpy(zero_copy_only=False))
            if len(hits) > 1:
                return f"{value}#{int(np.searchsorted(hits, i)) + 1}"
            return value or f"(blank {self.key})"
        cols = [c for c in self.id_columns if c in self.table.column_names] or self.table.column_names[:2]
        return "/".join(self._text(c, i) for c in cols)
