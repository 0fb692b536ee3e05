"""Wall time and peak memory of peereval at 100k, 1M and 10M tickets (run on demand, not in `make test`).

    .venv/bin/python benchmarks/bench_scale.py                     # all three sizes (10M takes minutes)
    .venv/bin/python benchmarks/bench_scale.py --sizes 100k,1m     # fewer sizes
    .venv/bin/python benchmarks/bench_scale.py --data /tmp/bench   # where the generated data sets live
    .venv/bin/python benchmarks/bench_scale.py --sizes 10m --csv --skip-stages --runs 3   # report only, + CSV copy
    .venv/bin/python benchmarks/bench_scale.py --compare-with 5e06e18 --sizes sample,1m   # same numbers?

Every measurement runs in its own subprocess, so each peak (max RSS) belongs to that stage alone
(estimate stages include the load they need; their time is the estimate's own). Side by side:
(a) the fixed floor of executing and rendering an empty parameterized notebook with papermill +
nbconvert, and (b) the same DiD fit done the obvious way with statsmodels dummies, run only
below a row limit (it needs ~1 GB at 100k rows and was killed above 14 GB at 1M).
Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = {"100k": 10, "1m": 100, "10m": None}  # teams for sample.generate(scale="large")
MONTH = "2026-10"
STATSMODELS_ROW_LIMIT = 300_000
ESTIMATES = ("frames", "bug_turnaround", "onboarding", "kpis", "trend", "integrity",
             "team_balance", "design_mde", "dose_response", "pickle")

_CHILD = r'''
import json, resource, sys, time
stage, folder, month = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}
import pandas as pd
from peereval.data.cohort import load
from peereval.kpis import month_bounds
cut = month_bounds(month)[1] - pd.Timedelta(days=1)
t0 = time.perf_counter()
data = load(folder, cutoff=cut)
out["load_s"] = time.perf_counter() - t0
if stage != "load":
    from peereval import checks, heterogeneity as het
    from peereval.describe import trend
    from peereval.effects import effect
    from peereval.kpis import compute_kpis
    from peereval.mde import design_mde
    from peereval.outcomes import build_all
    frames = build_all(data) if stage != "frames" else None
    needs = stage in ("integrity", "design_mde")
    effects = {k: effect(f) for k, f in frames.items()} if needs else None
    fns = {
        "frames": lambda: build_all(data),
        "bug_turnaround": lambda: effect(frames["bug_turnaround"]),
        "onboarding": lambda: effect(frames["onboarding"]),
        "kpis": lambda: compute_kpis(data, month),
        "trend": lambda: trend(frames["bug_turnaround"]),
        "integrity": lambda: checks.integrity(data, effects, frames),
        "team_balance": lambda: checks.team_balance(data, frames),
        "design_mde": lambda: design_mde(data, effects, frames),
        "dose_response": lambda: het.dose_response(data, frames["bug_turnaround"]),
    }
    if stage == "pickle":
        import pickle, tempfile, os
        from peereval.report.analysis import analyze
        a = analyze(folder, month)
        with tempfile.NamedTemporaryFile(delete=False) as fh:
            t0 = time.perf_counter(); pickle.dump(a, fh, protocol=pickle.HIGHEST_PROTOCOL); dump = time.perf_counter() - t0
        t0 = time.perf_counter(); pickle.load(open(fh.name, "rb")); out["unpickle_s"] = time.perf_counter() - t0
        out["pickle_mb"] = os.path.getsize(fh.name) / 2**20; os.unlink(fh.name)
        out["stage_s"] = dump
    else:
        t0 = time.perf_counter(); r = fns[stage](); out["stage_s"] = time.perf_counter() - t0
        if stage == "bug_turnaround":
            out["estimate"] = r.model.estimate
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
'''

_STATSMODELS = r'''
import json, resource, sys, time
import numpy as np, pandas as pd
folder, month, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
from peereval.data.cohort import load
from peereval.estimate import did
from peereval.kpis import month_bounds
from peereval.outcomes import build_all
cut = month_bounds(month)[1] - pd.Timedelta(days=1)
data = load(folder, cutoff=cut)
t = build_all(data)["bug_turnaround"].used.rename(columns={"y": "log_hours"})  # the estimate's own rows
out = {"rows": len(t)}
t0 = time.perf_counter()
ours = did(t, outcome="log_hours", unit="team", time="period", treated="treated", cluster="team", inference="cluster")
out["peereval_s"] = time.perf_counter() - t0
out["peereval_beta"] = ours.estimate
if len(t) > limit:
    out["statsmodels"] = f"not feasible (> {limit:,} rows: dense dummies need ~10 KB per row)"
else:
    import statsmodels.formula.api as smf
    t0 = time.perf_counter()
    fit = smf.ols("log_hours ~ treated + C(team) + C(period)", data=t).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(t["team"])[0]})
    out["statsmodels_s"] = time.perf_counter() - t0
    out["statsmodels_beta"] = float(fit.params["treated"])
    out["abs_diff"] = abs(out["statsmodels_beta"] - ours.estimate)
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
'''

_FLOOR = r'''
import json, resource, sys, time, tempfile
from pathlib import Path
import nbformat
from nbformat.v4 import new_code_cell, new_notebook
tmp = Path(tempfile.mkdtemp())
nb = new_notebook(cells=[new_code_cell("month = ''", metadata={"tags": ["parameters"]}), new_code_cell("month")],
                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                            "language_info": {"name": "python"}})
nbformat.write(nb, tmp / "empty.ipynb")
t0 = time.perf_counter()
from peereval.report.runner import execute_notebook, render_html
execute_notebook(tmp / "empty.ipynb", tmp / "out.ipynb", {"month": "2026-10"}, cwd=tmp)
render_html(tmp / "out.ipynb", tmp / "index.html")
print("RESULT " + json.dumps({"stage_s": time.perf_counter() - t0,
                              "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def _run(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]}


_PEAK_OF = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _report(folder: Path | str, out: Path | None = None, extra: list[str] | None = None) -> dict:
    """The whole `peereval report` (CLI, fresh process); peak = largest process (runner or kernel).

    The CLI runs under a small wrapper process so that the peak is this run's own (this process's
    RUSAGE_CHILDREN would be the largest of every run so far).
    """
    out = out or Path(tempfile.mkdtemp())
    cli = Path(sys.executable).with_name("peereval")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK_OF, str(cli), "report", str(folder), "--month", MONTH,
                           "--out", str(out), *(extra or [])], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = next((int(ln.split()[1]) for ln in proc.stderr.splitlines() if ln.startswith("PEAK_KB ")), 0) / 1024
    res = {"stage_s": wall, "max_rss_mb": peak}
    line = next((ln for ln in proc.stdout.splitlines() if "report written" in ln), "")
    if "(" in line:
        res["timings"] = line.split("(", 1)[1].split(")", 1)[0]
    if proc.returncode:
        res["error"] = proc.stderr.strip()[-200:]
    return res


def ensure_data(root: Path, size: str) -> Path:
    folder = root / f"tickets_{size}"
    if not (folder / "TRUTH.json").exists():
        from peereval.data.sample import generate

        generate(folder, scale="large", teams=SIZES[size])
    return folder


def ensure_csv(folder: Path) -> Path:
    """A CSV copy of a generated Parquet folder (DuckDB's COPY; the values as they would be exported)."""
    import shutil

    import duckdb

    out = folder.with_name(folder.name + "_csv")
    if not (out / "TRUTH.json").exists():
        out.mkdir(exist_ok=True)
        with duckdb.connect() as conn:
            for path in sorted(folder.glob("*.parquet")):
                conn.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '{out / (path.stem + '.csv')}' "
                             "(HEADER, DELIMITER ',')")
        for name in ("program.toml", "TRUTH.json"):
            shutil.copy2(folder / name, out / name)
    return out


_RESULTS = r'''
import json, sys
import peereval
print("CODE " + peereval.__file__)
from peereval.report.analysis import ReportParameters, summarise
from peereval.data.cohort import load
p = ReportParameters(data_dir=sys.argv[1], month=sys.argv[2]).validate()
doc = summarise(load(sys.argv[1], cutoff=p.cutoff), p).results()
print("RESULT " + json.dumps(doc, default=str))
'''


def _differences(a, b, path="", tol=1e-9) -> list[str]:
    """Where two results documents differ (numbers beyond ``tol``, relative for large ones)."""
    import math

    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only in one" for k in set(a) ^ set(b)]
        return out + [d for k in set(a) & set(b) for d in _differences(a[k], b[k], f"{path}.{k}", tol)]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{path}[{i}]", tol)]
    if isinstance(a, float) and isinstance(b, (int, float)):
        same = math.isclose(a, b, rel_tol=tol, abs_tol=tol) or (math.isnan(a) and math.isnan(b))
        return [] if same else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def compare_with(commit: str, folder: Path) -> None:
    """Every number of results.json from ``commit``'s code and from this tree, on the same data (to 1e-9)."""
    import os

    base = Path(tempfile.mkdtemp(prefix="peereval-base-"))
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(base), commit], check=True,
                   capture_output=True)
    try:
        env = os.environ | {"PYTHONPATH": str(base)}
        docs = []
        for extra in (env, None):
            t0 = time.perf_counter()
            # run outside both trees: `python -c` puts the working folder first on sys.path, so from
            # inside the repository both runs would import this tree's code and always agree
            proc = subprocess.run([sys.executable, "-c", _RESULTS, str(folder.resolve()), MONTH],
                                  capture_output=True, text=True, env=extra, cwd=tempfile.gettempdir())
            lines = proc.stdout.splitlines()
            line = next((ln for ln in lines if ln.startswith("RESULT ")), None)
            if line is None:
                print(f"  failed: {proc.stderr.strip()[-300:]}")
                return
            code = next(ln[5:] for ln in lines if ln.startswith("CODE "))
            expected = base if extra else repo
            if Path(code).resolve().parents[1] != expected.resolve():
                raise SystemExit(f"compared the wrong code: {code} (expected under {expected})")
            docs.append(json.loads(line[7:]))
            print(f"  {'base ' + commit if extra else 'this tree':18s} {time.perf_counter() - t0:7.1f} s  ({code})",
                  flush=True)
        for doc in docs:
            doc.pop("input_fingerprint", None)  # the loader's file hash is unchanged; parameters carry paths
            doc.pop("parameters", None)
        diffs = _differences(docs[0], docs[1])
        print(f"  identical to 1e-9: {'yes' if not diffs else 'NO'}")
        for d in diffs[:20]:
            print(f"    {d}")
    finally:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(base)], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100k,1m,10m")
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "peereval-bench"))
    ap.add_argument("--skip-report", action="store_true")
    ap.add_argument("--stages", default=",".join(ESTIMATES), help="estimate stages to time (comma-separated)")
    ap.add_argument("--skip-stages", action="store_true", help="time only the whole report (and the floor)")
    ap.add_argument("--runs", type=int, default=1, help="report runs per size (median and max peak shown)")
    ap.add_argument("--csv", action="store_true", help="also report on a CSV copy of each size")
    ap.add_argument("--compare-with", metavar="COMMIT", help="check results.json against COMMIT's code instead")
    args = ap.parse_args()
    root = Path(args.data)
    root.mkdir(parents=True, exist_ok=True)

    def show(label: str, r: dict) -> None:
        if "error" in r:
            print(f"  {label:22s} ERROR {r['error']}", flush=True)
            return
        extra = {k: v for k, v in r.items() if k not in ("stage_s", "load_s", "max_rss_mb")}
        secs = next(r[k] for k in ("stage_s", "statsmodels_s", "peereval_s", "load_s") if k in r)
        print(f"  {label:22s} {secs:8.2f} s   peak {r['max_rss_mb']:7.0f} MiB   "
              f"{json.dumps(extra) if extra else ''}", flush=True)

    if args.compare_with:
        for size in args.sizes.split(","):
            print(f"{size} tickets: results.json of {args.compare_with} vs this tree", flush=True)
            sample = Path(__file__).resolve().parents[1] / "data" / "sample"  # --sizes sample: the committed one
            compare_with(args.compare_with, sample if size == "sample" else ensure_data(root, size))
        return
    show("empty-notebook floor", _run(_FLOOR))
    if not args.skip_report:
        sample = Path(__file__).resolve().parents[1] / "data" / "sample"
        done = [_report(sample) for _ in range(args.runs)]
        runs = sorted(r["stage_s"] for r in done)
        show("report (committed sample)", {"stage_s": runs[len(runs) // 2], "max_rss_mb": max(r["max_rss_mb"] for r in done),
                                           "runs": [round(x, 2) for x in runs]})
    for size in [s for s in args.sizes.split(",") if s != "sample"]:  # the committed sample ran above
        folder = ensure_data(root, size)
        print(f"{size} tickets ({folder})", flush=True)
        if not args.skip_stages:
            show("load + validate", _run(_CHILD, "load", str(folder), MONTH))
            for stage in args.stages.split(","):
                show(stage, _run(_CHILD, stage, str(folder), MONTH))
            show("DiD vs statsmodels", _run(_STATSMODELS, str(folder), MONTH, str(STATSMODELS_ROW_LIMIT)))
        targets = [("Parquet", folder)] + ([("CSV", ensure_csv(folder))] if args.csv else [])
        for kind, target in targets if not args.skip_report else []:
            runs = [_report(target) for _ in range(args.runs)]
            ok = [r for r in runs if "error" not in r]
            if not ok:
                show(f"report ({kind})", runs[0])
                continue
            secs = sorted(r["stage_s"] for r in ok)
            show(f"report ({kind})", {"stage_s": secs[len(secs) // 2], "max_rss_mb": max(r["max_rss_mb"] for r in ok),
                                      "runs": [round(x, 1) for x in secs], "timings": ok[-1].get("timings", "")})


if __name__ == "__main__":
    main()
