"""Monte Carlo of the report's domain estimates on whole generated datasets.

Each replicate generates a company with ``peereval.data.sample.generate`` (staggered waves,
wave-specific effects, a secular trend, seasonality, AR(1) team-month shocks, open tickets and
censored hires), loads it through the real loader and runs ``effects.bug_turnaround`` and
``effects.onboarding`` exactly as the report does. Truth comes from the generator's TRUTH.json.

    python benchmarks/coverage_domain.py --reps 500 --jobs 2 --out domain.md
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

# (label, teams) — the generator makes about a third of the teams pilots, in waves
DESIGNS = (("12 teams (4 pilot)", 12), ("24 teams (8 pilot)", 24), ("60 teams (20 pilot)", 60))
MONTHS = 22


def one_rep(args: tuple[int, int]) -> list[dict]:
    import peereval
    from peereval import effects
    from peereval.data.sample import generate

    design, seed = args
    label, teams = DESIGNS[design]
    with tempfile.TemporaryDirectory() as tmp:
        truth = generate(Path(tmp) / "d", seed=seed, teams=teams, months=MONTHS)
        data = peereval.load(Path(tmp) / "d", cutoff="2026-10-31")
        rows = []
        bug = effects.bug_turnaround(data, seed=seed)
        t_bug = truth["bug_turnaround_effect"]
        if bug.effect is not None:
            rows.append({"design": label, "estimate": "bug turnaround (% change)", "truth": t_bug,
                         "value": bug.change, "lo": bug.ci_low, "hi": bug.ci_high, "p": bug.effect.p_value,
                         "inference": bug.effect.details.get("inference", "")})
            rows.append({"design": label, "estimate": "bug turnaround, naive before/after", "truth": t_bug,
                         "value": bug.naive_change, "lo": math.nan, "hi": math.nan, "p": math.nan,
                         "inference": "none"})
        onb = effects.onboarding(data)
        if onb.ratio is not None:
            rows.append({"design": label, "estimate": "onboarding (time ratio)", "truth": truth["onboarding_time_ratio"],
                         "value": onb.ratio.estimate, "lo": onb.ratio.ci_low, "hi": onb.ratio.ci_high,
                         "p": onb.ratio.p_value, "inference": "AFT, team-clustered"})
    return rows


def summarise(rows: list[dict], reps: int) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    out = []
    for (design, est), g in df.groupby(["design", "estimate"], sort=False):
        err = g["value"] - g["truth"]
        has_ci = g["lo"].notna() & g["hi"].notna()
        cover = ((g["lo"] <= g["truth"]) & (g["truth"] <= g["hi"]))[has_ci]
        out.append({
            "design": design, "estimate": est, "fits": len(g), "of": reps,
            "bias": err.mean(), "rmse": math.sqrt((err**2).mean()),
            "coverage": cover.mean() if has_ci.any() else math.nan,
            "width": (g["hi"] - g["lo"])[has_ci].mean() if has_ci.any() else math.nan,
            "power": (g["p"] < 0.05).mean() if g["p"].notna().any() else math.nan,
            "inference": ", ".join(sorted(set(g["inference"]))),
        })
    return pd.DataFrame(out)


def to_markdown(table: pd.DataFrame, reps: int, seconds: float) -> str:
    lines = [f"Domain estimates on generated companies: {reps} datasets per design, {seconds:.0f} s wall.", "",
             "| design | estimate | fitted | bias | RMSE | 95% coverage | mean width | power | inference |",
             "|---|---|---|---|---|---|---|---|---|"]
    f = lambda x, d=3: "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{d}f}"  # noqa: E731
    for r in table.itertuples():
        lines.append(f"| {r.design} | {r.estimate} | {r.fits}/{r.of} | {f(r.bias)} | {f(r.rmse)} | {f(r.coverage)} | "
                     f"{f(r.width)} | {f(r.power, 2)} | {r.inference} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    seeds = np.random.SeedSequence(args.seed).generate_state(args.reps * len(DESIGNS))
    tasks = [(d, int(seeds[d * args.reps + i])) for d in range(len(DESIGNS)) for i in range(args.reps)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = [r for chunk in pool.map(one_rep, tasks, chunksize=4) for r in chunk]
    seconds = time.perf_counter() - started
    text = to_markdown(summarise(rows, args.reps), args.reps, seconds)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return text


if __name__ == "__main__":
    main()
