"""The report from a database (DuckDB file, PostgreSQL server) against the same data as Parquet files.

For each size, the Parquet folder of ``bench_scale.py`` is copied into a DuckDB file and into a
schema of a throwaway PostgreSQL server (tests/db_support.py: Debian's postgresql, started in a
temporary folder), with the column types Parquet has. ``peereval report`` then runs on the
folder, the file and the URL — on the database targets twice: as the report runs by default
(the clean tickets summed in the database, peereval.engine) and with ``--fetch-rows`` (every
ticket read) — and the script prints wall time and peak memory of each and whether every number
of results.json is the same as the folder's (to 1e-9). Run on demand:

    .venv/bin/python benchmarks/bench_database.py --sizes 1m --runs 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from bench_scale import _differences, _report, ensure_data  # noqa: E402
from db_support import postgres_server, unavailable  # noqa: E402

RUN_FIELDS = ("input_fingerprint", "parameters", "run", "config", "tickets_summed_in_database")


def _duckdb(folder: Path, target: Path) -> Path:
    import duckdb

    if target.exists():
        return target
    part = target.with_suffix(".partial")
    part.unlink(missing_ok=True)
    with duckdb.connect(str(part)) as conn:
        for path in sorted(folder.glob("*.parquet")):
            conn.execute(f'CREATE TABLE "{path.stem}" AS SELECT * FROM read_parquet(?)', [str(path)])
    part.rename(target)
    return target


def _postgres(url: str, folder: Path, schema: str) -> str:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.parquet as pq

    with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cur.execute(f'CREATE SCHEMA "{schema}"')
        for path in sorted(folder.glob("*.parquet")):
            table = pq.read_table(path)
            plain = pa.schema([f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                               for f in table.schema])
            cur.adbc_ingest(path.stem, table.cast(plain), mode="create", db_schema_name=schema)
    return f"{url}?schema={schema}"


def _results(target: str, config: Path, extra: list[str]) -> tuple[dict, dict]:
    """Wall/peak of one report and its results.json (run fields removed)."""
    out = Path(tempfile.mkdtemp(prefix="peereval-dbbench-"))
    r = _report(target, out=out, extra=["--config", str(config), *extra])
    if "error" in r:
        return r, {}
    doc = json.loads(next(out.glob("*/results.json")).read_text(encoding="utf-8"))
    for key in RUN_FIELDS:
        doc.pop(key, None)
    return r, doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1m")
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "peereval-bench"))
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    why = unavailable()
    if why:
        raise SystemExit(f"no PostgreSQL here: {why}")
    root = Path(args.data)
    with postgres_server() as server:
        for size in args.sizes.split(","):
            folder = ensure_data(root, size)
            config = folder / "program.toml"
            t0 = time.perf_counter()
            file = _duckdb(folder, root / f"tickets_{size}.duckdb")
            t1 = time.perf_counter()
            url = _postgres(server, folder, f"t{size}")
            print(f"{size} tickets: DuckDB file ready in {t1 - t0:.1f} s, PostgreSQL loaded in "
                  f"{time.perf_counter() - t1:.1f} s", flush=True)
            base = None
            for kind, target, extra in (("Parquet folder", str(folder), []),
                                        ("DuckDB, sums", str(file), ["--sum-in-database"]),
                                        ("DuckDB, all rows", str(file), ["--fetch-rows"]),
                                        ("PostgreSQL, sums", url, ["--sum-in-database"]),
                                        ("PostgreSQL, all rows", url, ["--fetch-rows"])):
                runs = [_results(target, config, extra) for _ in range(args.runs)]
                bad = next((r for r, _ in runs if "error" in r), None)
                if bad:
                    print(f"  {kind:20s} ERROR {bad['error']}", flush=True)
                    continue
                secs = sorted(r["stage_s"] for r, _ in runs)
                doc = runs[-1][1]
                base = doc if base is None else base
                same = "" if doc is base else f"  same results as the folder: {'yes' if not _differences(base, doc) else 'NO'}"
                print(f"  {kind:20s} {secs[len(secs) // 2]:7.1f} s  peak {max(r['max_rss_mb'] for r, _ in runs):6.0f} MiB"
                      f"  runs {[round(s, 1) for s in secs]}  ({runs[-1][0].get('timings', '')}){same}", flush=True)
                for d in _differences(base, doc)[:10]:
                    print(f"    {d}")


if __name__ == "__main__":
    main()
