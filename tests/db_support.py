"""Databases for the tests: a throwaway PostgreSQL server, and folders of exports copied into databases.

The server is Debian's ``postgresql`` package (``make postgres`` installs it), started with
initdb/pg_ctl in a temporary folder on a free local port (as the ``postgres`` user when the
tests run as root, which PostgreSQL refuses), trust authentication, fsync off, and stopped at the
end of the session. Only 127.0.0.1 is listened on.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa

USER = "peereval"


def _bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def unavailable() -> str | None:
    """Why a server cannot be started here (None when it can)."""
    if _bindir() is None:
        return "PostgreSQL is not installed (run `make postgres`, which apt-get installs Debian's postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server():
    """Start a server in a fresh temporary folder; yield its URL (database ``postgres``, user ``peereval``).

    The folder is made directly under the system's temporary folder: pytest's own are private to
    root, and the server runs as ``postgres`` when the tests run as root.
    """
    bindir = _bindir()
    tmp = Path(tempfile.mkdtemp(prefix="peereval-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(tmp, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = tmp / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "--no-sync", "-E", "UTF8",
        "--locale=C")
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(tmp / "log"), "-w", "start")
    try:
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


def folder_tables(folder: Path) -> dict[str, pa.Table]:
    """Every CSV of an export folder as text columns, exactly as written (blank cells stay '')."""
    out = {}
    for path in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        out[path.stem] = pa.Table.from_pandas(frame, preserve_index=False)
    return out


def to_postgres(url: str, schema: str, tables: dict[str, pa.Table], config: str | None = None) -> str:
    """Create ``schema`` with one table per export (text columns); return the URL naming the schema."""
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cur.execute(f'CREATE SCHEMA "{schema}"')
        for name, table in tables.items():
            cur.adbc_ingest(name, table, mode="create", db_schema_name=schema)
        if config is not None:
            cur.adbc_ingest("program", pa.table({"toml": [config]}), mode="create", db_schema_name=schema)
    return f"{url}?schema={schema}"


def to_duckdb(path: Path, folder: Path, config: bool = True) -> Path:
    """A DuckDB file holding the folder's CSVs with the types DuckDB infers (dates, numbers)."""
    import duckdb

    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as conn:
        for csv in sorted(folder.glob("*.csv")):
            conn.execute(f"CREATE TABLE \"{csv.stem}\" AS SELECT * FROM read_csv(?, header = true)", [str(csv)])
        toml = folder / "program.toml"
        if config and toml.exists():
            conn.execute("CREATE TABLE program (toml VARCHAR)")
            conn.execute("INSERT INTO program VALUES (?)", [toml.read_text(encoding="utf-8")])
    return path
