"""Which columnar engine for loading: pandas objects, pyarrow compute, DuckDB, and the loader as shipped.

    .venv/bin/python benchmarks/bench_engines.py /tmp/peereval-bench/tickets_10m

Times, on the tickets table of a generated folder (Parquet and its CSV copy beside it,
``tickets_10m_csv``, made by ``bench_scale.py --csv``), the three steps the loader does per
table: read into a frame, a typical text check (strip, blank, unique ids) and the hand-over to
pandas. Each variant runs in its own process (peak memory = its own). "The loader as shipped"
times ``read_table`` and, as its check, the loader's real work on the tickets table (repeated
header rows, repeated rows, unique ids, typing with dates parsed). Results are in
docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VARIANTS = {
    "pandas (object strings)": r'''
import pandas as pd
t0 = time.perf_counter()
df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path, dtype=str, keep_default_na=False)
read = time.perf_counter() - t0
t0 = time.perf_counter()
ids = df["ticket_id"].astype(object).str.strip()
blank = int((ids == "").sum()); dup = int(ids.duplicated().sum())
team = df["team"].astype(object).str.strip(); n_team = team.nunique()
check = time.perf_counter() - t0
''',
    "pyarrow compute (+ categoricals)": r'''
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
from pyarrow import csv as pacsv
from peereval.data import columnar
t0 = time.perf_counter()
if path.endswith(".parquet"):
    table = pq.read_table(path, read_dictionary=columnar.text_columns(pq.read_schema(path)))
else:
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=False,
                           column_types={c: pa.string() for c in ["ticket_id", "team", "created_at", "resolved_at", "priority", "type"]}))
read = time.perf_counter() - t0
t0 = time.perf_counter()
ids = pc.utf8_trim_whitespace(table["ticket_id"].cast(pa.string()))
blank = pc.sum(pc.equal(pc.utf8_length(ids), 0)).as_py(); dup = len(ids) - pc.count_distinct(ids).as_py()
n_team = pc.count_distinct(pc.utf8_trim_whitespace(table["team"].cast(pa.string()))).as_py()
check = time.perf_counter() - t0
t0 = time.perf_counter(); df = columnar.compact(table); out["to_pandas_s"] = time.perf_counter() - t0
''',
    "peereval loader (as shipped)": r'''
from pathlib import Path
from peereval.data.contract import TABLES
from peereval.data.duplicates import check_unique, exclude_duplicate_rows
from peereval.data.reading import read_table
from peereval.data.validation import Collector, drop_header_rows, type_table
spec, c = TABLES["tickets"], Collector()
t0 = time.perf_counter()
raw, _ = read_table("tickets", Path(path), compact=True)  # Arrow ids, Categoricals, ns timestamps
read = time.perf_counter() - t0
t0 = time.perf_counter()
raw = drop_header_rows(raw, spec, c)
frame = exclude_duplicate_rows(raw.frame, "tickets", raw.file, c, key="ticket_id")
check_unique(frame, "ticket_id", raw.file, c)
typed = type_table(raw, spec, c, rows_are_design=False, keep_codes=True)
blank = sum(e.count for e in c.exclusions if e.reason == "missing ticket_id"); dup = len(c.problems)
n_team = len(typed["team"].cat.categories)
check = time.perf_counter() - t0
''',
    "DuckDB SQL": r'''
import duckdb
from peereval.data import columnar
con = duckdb.connect()
src = f"read_parquet('{path}')" if path.endswith(".parquet") else f"read_csv('{path}', all_varchar=true)"
t0 = time.perf_counter()
con.execute(f"CREATE TABLE t AS SELECT * FROM {src}").fetchall()
read = time.perf_counter() - t0
t0 = time.perf_counter()
blank, dup, n_team = con.execute("SELECT count(*) FILTER (WHERE trim(ticket_id) = ''), "
    "count(*) - count(DISTINCT trim(ticket_id)), count(DISTINCT trim(team)) FROM t").fetchall()[0]
check = time.perf_counter() - t0
t0 = time.perf_counter(); df = columnar.compact(con.sql("SELECT * FROM t").to_arrow_table())
out["to_pandas_s"] = time.perf_counter() - t0
''',
}

_WRAP = r'''
import json, resource, sys, time
path = sys.argv[1]
out = {}
{body}
out.update(read_s=read, check_s=check, blank=blank, dup=dup, teams=n_team,
           max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print("RESULT " + json.dumps(out))
'''


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/peereval-bench/tickets_10m")
    for path in (folder / "tickets.parquet", folder.with_name(folder.name + "_csv") / "tickets.csv"):
        if not path.exists():
            print(f"{path}: missing (bench_scale.py --csv makes the CSV copy)")
            continue
        print(path, flush=True)
        for name, body in VARIANTS.items():
            proc = subprocess.run([sys.executable, "-c", _WRAP.replace("{body}", body), str(path)],
                                  capture_output=True, text=True)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if line is None:
                print(f"  {name:34s} ERROR {proc.stderr.strip()[-200:]}")
                continue
            r = json.loads(line[7:])
            extra = f"  to pandas {r['to_pandas_s']:.2f} s" if "to_pandas_s" in r else ""
            print(f"  {name:34s} read {r['read_s']:6.2f} s  check {r['check_s']:5.2f} s{extra}  "
                  f"peak {r['max_rss_mb']:6.0f} MiB  (blank {r['blank']}, dup {r['dup']}, teams {r['teams']})",
                  flush=True)


if __name__ == "__main__":
    main()
