"""Monte Carlo: conformal_did() for pilots of one or two teams — coverage, bias, width, power.

Simulates team-period cells (weekly or monthly): team effects, a secular trend with common period
noise, team-specific AR(1) shocks (marginal sd 0.15 on log hours) and ticket noise — each cell is
the mean log resolution time of Poisson(lambda_team) tickets with sd 1 per ticket (lambda_team
uniform on 10-40 a week, 40-160 a month), drawn directly as N(0, 1/n); a cell without tickets is
missing. Design "factor" adds a common AR(1) factor (rho 0.8, sd 0.15) with team loadings
uniform on 0-2, which the control mean cannot follow but a synthetic control can. The pilot
lowers log hours by log(0.8) (-20%) or log(0.6) (-40%) from its start. Coverage, bias and width
are taken on the -20% data (the method is equivariant: adding a constant effect shifts the
interval by it); power is the share with p < 0.05 for H0: no effect.

    nice python benchmarks/coverage_conformal.py --reps 2000 --jobs 2 --out benchmarks/out/conformal.md

Results (2,000 per design, 760 s) are in docs/validation.md, "One or two pilot teams".
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from montecarlo import emit  # noqa: E402
from montecarlo import run as run_all  # noqa: E402

from peereval.estimate.conformal import conformal_did
from peereval.estimate.did import did

EFFECTS = (math.log(0.8), math.log(0.6))
SD_SHOCK = 0.15
# key: (label, period, teams, pilot teams, pre, post, rho, factor, variants)
MAIN = ("equal/moving_block/mean", "synthetic/moving_block/mean")
MORE = MAIN + ("equal/iid/mean", "equal/moving_block/s1")
DESIGNS = {
    "W1": ("1 of 12, 52+6 weeks, rho 0.5", "week", 12, 1, 52, 6, 0.5, False, MORE),
    "W2": ("1 of 12, 52+8 weeks, rho 0.5", "week", 12, 1, 52, 8, 0.5, False, MAIN),
    "W3": ("1 of 16, 52+6 weeks, rho 0.5", "week", 16, 1, 52, 6, 0.5, False, MAIN),
    "W4": ("1 of 16, 52+8 weeks, rho 0.5", "week", 16, 1, 52, 8, 0.5, False, MAIN),
    "W5": ("1 of 12, 52+6 weeks, rho 0.8", "week", 12, 1, 52, 6, 0.8, False, MORE),
    "W6": ("1 of 12, 52+6 weeks, rho 0.5, factor", "week", 12, 1, 52, 6, 0.5, True, MAIN),
    "W7": ("1 of 12, 26+6 weeks, rho 0.8", "week", 12, 1, 26, 6, 0.8, False, MAIN),
    "W8": ("1 of 12, 20+6 weeks, rho 0.8", "week", 12, 1, 20, 6, 0.8, False, MAIN),
    "W9": ("1 of 12, 14+6 weeks, rho 0.8", "week", 12, 1, 14, 6, 0.8, False, MAIN),
    "W10": ("2 of 12, 52+6 weeks, rho 0.5", "week", 12, 2, 52, 6, 0.5, False, MAIN + ("did",)),
    "M1": ("1 of 12, 24+3 months, rho 0.5", "month", 12, 1, 24, 3, 0.5, False, MAIN),
    "M2": ("1 of 12, 24+6 months, rho 0.5", "month", 12, 1, 24, 6, 0.5, False, MAIN),
    "M3": ("1 of 16, 24+12 months, rho 0.5", "month", 16, 1, 24, 12, 0.5, False, MAIN),
    "M4": ("1 of 12, 20+3 months, rho 0.5", "month", 12, 1, 20, 3, 0.5, False, MAIN),
    "M5": ("2 of 16, 24+6 months, rho 0.5", "month", 16, 2, 24, 6, 0.5, False, MAIN + ("did",)),
}


def simulate(rng: np.random.Generator, key: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Team-period cells without effect, and the mask of pilot post-start cells."""
    _, period, n_teams, n_pilot, pre, post, rho, factor, _ = DESIGNS[key]
    t = pre + post
    weekly = period == "week"
    trend = (0.004 if weekly else 0.015) * np.arange(t) + rng.normal(0, 0.05, t)
    shock = np.empty((n_teams, t))
    shock[:, 0] = rng.normal(0, SD_SHOCK, n_teams)
    for s in range(1, t):
        shock[:, s] = rho * shock[:, s - 1] + rng.normal(0, SD_SHOCK * math.sqrt(1 - rho**2), n_teams)
    mean = rng.normal(0, 0.4, n_teams)[:, None] + trend[None, :] + shock
    if factor:
        f = np.empty(t)
        f[0] = rng.normal(0, SD_SHOCK)
        for s in range(1, t):
            f[s] = 0.8 * f[s - 1] + rng.normal(0, SD_SHOCK * 0.6)
        mean += rng.uniform(0, 2, n_teams)[:, None] * f[None, :]
    lam = rng.uniform(10, 40, n_teams) * (1 if weekly else 4)
    n = rng.poisson(lam[:, None] * np.ones((1, t)))
    y = mean + rng.normal(size=n.shape) / np.sqrt(np.maximum(n, 1))
    pilot = np.zeros(n_teams, bool)
    pilot[rng.choice(n_teams, n_pilot, replace=False)] = True
    on = pilot[:, None] & (np.arange(t)[None, :] >= pre)
    team, per = np.meshgrid(np.arange(n_teams), np.arange(t), indexing="ij")
    df = pd.DataFrame({"team": team.ravel(), "period": per.ravel(), "y": y.ravel(), "n": n.ravel(),
                       "treated": on.ravel().astype(int)})
    keep = df["n"].to_numpy() > 0
    return df[keep].reset_index(drop=True), on.ravel()[keep]


def run(df: pd.DataFrame, variant: str, seed: int):
    if variant == "did":
        return did(df, outcome="y", unit="team", time="period", treated="treated", weights="n", seed=seed)
    weighting, method, statistic = variant.split("/")
    return conformal_did(df, outcome="y", unit="team", time="period", treated="treated", weights="n",
                         weighting=weighting, method=method, statistic=statistic, seed=seed,
                         min_pre_periods=2)  # thresholds are what this study checks


def one_rep(args: tuple[str, int, np.random.SeedSequence]) -> list[dict]:
    key, rep, seq = args
    base, on = simulate(np.random.default_rng(seq), key)
    out = []
    for variant in DESIGNS[key][8]:
        t0 = time.perf_counter()
        row = {"key": key, "variant": variant}
        for k, eff in enumerate(EFFECTS):
            r = run(base.assign(y=base["y"] + eff * on), variant, rep)
            row[f"p{k}"] = r.p_value
            if k == 0:
                row |= {"estimate": r.estimate - eff, "ci_low": r.ci_low - eff, "ci_high": r.ci_high - eff}
        row["seconds"] = (time.perf_counter() - t0) / len(EFFECTS)
        out.append(row)
    return out


def summarise(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["covered"] = (df.ci_low <= 0) & (0 <= df.ci_high)  # truth is 0 after removing the effect
    df["has"] = np.isfinite(df.ci_low) & np.isfinite(df.ci_high)
    df["width"] = df.ci_high - df.ci_low
    g = df.groupby(["key", "variant"], sort=False)
    out = pd.DataFrame({
        "reps": g.size(), "coverage": g.covered.mean(), "bias": g.estimate.mean(),
        "width": g.width.mean(), "with interval": g.has.mean(),
        "power -20%": g.p0.apply(lambda p: (p < 0.05).mean()), "power -40%": g.p1.apply(lambda p: (p < 0.05).mean()),
        "ms per fit": 1000 * g.seconds.mean(),
    }).reset_index()
    out["mc se"] = np.sqrt(out.coverage * (1 - out.coverage) / out.reps)
    return out


def to_markdown(table: pd.DataFrame, seconds: float) -> str:
    lines = ["| design | weighting / permutation / statistic | reps | coverage 95% (MC SE) | bias | mean width "
             "| with interval | power −20% | power −40% | ms per fit |", "|" + "---|" * 10]
    for _, r in table.iterrows():
        label = DESIGNS[r.key][0]
        variant = "did() auto (randomization over teams)" if r.variant == "did" else r.variant.replace("/", " / ")
        lines.append(f"| {label} | {variant} | {r.reps} | {r.coverage:.3f} ({r['mc se']:.3f}) | {r.bias:+.3f} | "
                     f"{r.width:.3f} | {r['with interval']:.3f} | {r['power -20%']:.3f} | "
                     f"{r['power -40%']:.3f} | {r['ms per fit']:.0f} |")
    return "\n".join(lines) + f"\n\nWall time: {seconds:.0f} s.\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--designs", type=str, default=",".join(DESIGNS), help="comma-separated keys, e.g. W1,M1")
    ap.add_argument("--out", type=str, default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    keys = [k.strip() for k in args.designs.split(",")]
    tasks = []
    for key in keys:  # each design's seeds depend only on the root seed and its key
        seq = np.random.SeedSequence([args.seed, list(DESIGNS).index(key)])
        tasks += [(key, rep, s) for rep, s in enumerate(seq.spawn(args.reps))]
    rows = run_all(one_rep, tasks, args.jobs, chunksize=8)
    text = to_markdown(summarise(rows), time.perf_counter() - t0)
    emit(text, args.out)


if __name__ == "__main__":
    main()
