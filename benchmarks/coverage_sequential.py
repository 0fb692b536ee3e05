"""Monte Carlo of repeated weekly looks: false "clearly" under no effect and the power the boundaries cost.

Each simulated pilot is read every week on all data so far (cumulative). A rule reads "clearly"
at the first look whose p-value passes it:

* O'Brien-Fleming-type / Pocock-type boundaries: ``peereval.estimate.sequential.boundaries`` with
  calendar information fractions k / P for a plan of P weekly looks;
* naive: p <= 0.05 at any of the P looks (what re-running the report weekly invites);
* single final look: p <= 0.05 at look P only (no interim reads).

"Passes" is p <= level throughout: the interval at that level, inverted from the same test,
then excludes no change.

Studies: (a) 4 pilot teams of 24, ``did(inference="auto")`` (randomization inference) on
team-week cells with 26 pre weeks; (b) one pilot team of 14, ``conformal_pvalue`` (moving
blocks, Chernozhukov, Wuethrich & Zhu 2021) with 52 pre weeks. Noise: team and week effects, a
secular trend, team-week AR(1) shocks and ticket noise in each cell mean (log hours). The same
simulated noise is used for every true effect (paired comparisons).

    nice python benchmarks/coverage_sequential.py --reps 1500 --power-reps 400 --jobs 2 --out seq.md
"""

from __future__ import annotations

import argparse
import functools
import importlib
import math
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from peereval.estimate.conformal import conformal_pvalue
from peereval.estimate.did import did
from peereval.estimate.sequential import boundaries

# Randomization inference enumerates the same 10,626 assignments (4 of 24) in pure Python at every
# fit, two thirds of did()'s time here; they depend only on the teams' treatment-path types, so
# they are cached (read-only). No number changes.
did_module = importlib.import_module("peereval.estimate.did")  # the package exports did() under that name
_assignments = did_module._assignments
_cached = functools.lru_cache(maxsize=8)(
    lambda types, n_types, limit, n_draws, seed: _assignments(np.frombuffer(types, dtype=np.intp), n_types, limit,
                                                              n_draws, seed))
did_module._assignments = lambda types, n_types, limit, n_draws, seed: _cached(
    np.ascontiguousarray(types, dtype=np.intp).tobytes(), n_types, limit, n_draws, seed)

# label, teams, pilot teams, pre weeks, post weeks simulated, plans (looks), effects for power
STUDIES = {
    "a": ("4 pilot teams of 24, did(auto) on team-week cells, 26 pre weeks", 24, 4, 26, 12, (6, 8, 12),
          (-0.10, -0.20)),
    "b": ("1 pilot team of 14, conformal (moving blocks), 52 pre weeks", 14, 1, 52, 8, (6, 8), (-0.20, -0.40)),
}
# "clearly" = p <= level, i.e. the interval at that level excludes no change (p-values from test inversion)
RULES = ("O'Brien-Fleming boundaries", "Pocock boundaries", "naive: p ≤ 0.05 at any look",
         "single final look, p ≤ 0.05")
TICKETS, TICKET_SD, SHOCK_SD, TREND = 6, 0.8, 0.15, 0.003  # tickets per team-week, log-hour sds, trend/week


def simulate(rng: np.random.Generator, study: str, effect: float) -> pd.DataFrame:
    """Team-week cell means of log hours; pilot teams (the first ones) start at week ``pre``."""
    _, g, g1, pre, post, _, _ = STUDIES[study]
    weeks = pre + post
    rho = rng.uniform(0.3, 0.7, g)  # team-specific persistence
    shocks = np.empty((g, weeks))
    shocks[:, 0] = rng.normal(0, SHOCK_SD, g)
    for t in range(1, weeks):
        shocks[:, t] = rho * shocks[:, t - 1] + np.sqrt(1 - rho**2) * rng.normal(0, SHOCK_SD, g)
    tickets = rng.poisson(TICKETS, (g, weeks)) + 1
    noise = rng.normal(0, TICKET_SD, (g, weeks)) / np.sqrt(tickets)
    treat = np.zeros((g, weeks))
    treat[:g1, pre:] = 1.0
    y = (rng.normal(0, 0.3, (g, 1)) + rng.normal(0, 0.05, (1, weeks)) + TREND * np.arange(weeks)
         + shocks + noise + math.log1p(effect) * treat)
    return pd.DataFrame({"team": np.repeat(np.arange(g), weeks), "week": np.tile(np.arange(weeks), g),
                         "treated": treat.ravel(), "y": y.ravel()})


def look_pvalues(args: tuple[str, float, int, np.random.SeedSequence]) -> dict:
    """p-values of the weekly looks 1..post of one simulated pilot (data up to each look)."""
    study, effect, rep, seq = args
    _, _, _, pre, post, _, _ = STUDIES[study]
    data = simulate(np.random.default_rng(seq), study, effect)
    pvals = []
    for k in range(1, post + 1):
        part = data[data.week < pre + k]
        if study == "a":
            p = did(part, outcome="y", unit="team", time="week", treated="treated", inference="auto",
                    seed=rep).p_value
        else:
            p = conformal_pvalue(part, effect=0.0, outcome="y", unit="team", time="week", treated="treated")
        pvals.append(p)
    return {"study": study, "effect": effect, "rep": rep, "p": pvals}


def thresholds(n_looks: int, spending: str) -> np.ndarray:
    """Nominal p-value levels of looks 1..n_looks under calendar fractions k / n_looks."""
    return np.array(boundaries([k / n_looks for k in range(1, n_looks + 1)], spending=spending).nominal_alpha)


def first_crossing(p: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Per replication: 1-based look of the first p <= level, 0 if none."""
    hit = p <= levels[None, :]
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)


def summarise(rows: list[dict]) -> pd.DataFrame:
    out = []
    for (study, effect), grp in pd.DataFrame(rows).groupby(["study", "effect"], sort=False):
        p = np.array(grp.p.tolist())
        for n_looks in STUDIES[study][5]:
            pk = p[:, :n_looks]
            final = np.full(n_looks, -1.0)
            final[-1] = 0.05
            levels = {RULES[0]: thresholds(n_looks, "obrien_fleming"), RULES[1]: thresholds(n_looks, "pocock"),
                      RULES[2]: np.full(n_looks, 0.05), RULES[3]: final}
            for rule, lev in levels.items():
                first = first_crossing(pk, lev)
                rate = float((first > 0).mean())
                out.append({"study": study, "design": STUDIES[study][0], "weekly looks": n_looks,
                            "true change": f"{effect:+.0%}" if effect else "none", "rule": rule, "reps": len(pk),
                            "reads clearly": rate, "MC s.e.": math.sqrt(rate * (1 - rate) / len(pk)),
                            "mean look of first clearly": float(first[first > 0].mean()) if rate else math.nan})
    return pd.DataFrame(out)


def to_markdown(table: pd.DataFrame, seconds: float, args: argparse.Namespace) -> str:
    lines = [f"### Repeated weekly looks ({args.reps} simulated pilots under no effect, {args.power_reps} per "
             "true change; seed " + str(args.seed) + ")", ""]
    cols = ["weekly looks", "true change", "rule", "reps", "reads clearly", "MC s.e.", "mean look of first clearly"]
    for study, grp in table.groupby("study", sort=False):
        lines += [f"**({study}) {STUDIES[study][0]}**", "",
                  "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for _, r in grp.iterrows():
            cells = [f"{r[c]:.3f}" if isinstance(r[c], float) and math.isfinite(r[c]) else
                     ("–" if isinstance(r[c], float) else str(r[c])) for c in cols]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines.append(f"Wall time: {seconds:.0f} s ({args.jobs} jobs); peak memory about {peak / 1024:.0f} MB.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1500, help="replications under no effect")
    ap.add_argument("--power-reps", type=int, default=400, help="replications per true change")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20260901)
    ap.add_argument("--studies", type=str, default="a,b")
    ap.add_argument("--out", type=str, default=None)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    tasks = []
    for study in args.studies.split(","):
        seqs = np.random.SeedSequence([args.seed, ord(study)]).spawn(args.reps)  # same noise for every effect
        for effect in (0.0, *STUDIES[study][6]):
            n = args.reps if effect == 0 else args.power_reps
            tasks += [(study, effect, rep, seqs[rep]) for rep in range(min(n, args.reps))]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(look_pvalues, tasks, chunksize=4))
    else:
        rows = [look_pvalues(t) for t in tasks]
    text = to_markdown(summarise(rows), time.perf_counter() - start, args)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
