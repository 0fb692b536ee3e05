"""Monte Carlo of the placebo pre-trend check: false alarms under parallel trends, power under divergence.

The report's pre-trend check (``effects.placebo_pretrend``) pretends each pilot team started six
months early and runs the same DiD, with did()'s automatic inference, on tickets created before
any real start; an alert is raised at p < ``checks.PRETREND_ALERT_P``. For comparison the event
study's joint Wald test of the pre-period coefficients (CR1, F reference) is run on the same data.
Data come from ``coverage_midmonth.simulate`` (ticket level, starts on any weekday); under
"diverging" the pilot teams' log resolution time drifts by ``slope`` per month relative to controls.

    python benchmarks/coverage_checks.py --reps 500 --jobs 2
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from coverage_midmonth import simulate  # noqa: E402

from peereval.checks import PRETREND_ALERT_P  # noqa: E402
from peereval.effects import placebo_pretrend  # noqa: E402
from peereval.estimate.event_study import event_study  # noqa: E402

DESIGNS = (  # label, teams, pilot teams
    ("1 of 12 teams", 12, 1), ("4 of 12 teams", 12, 4), ("8 of 24 teams", 24, 8), ("20 of 60 teams", 60, 20),
)
SLOPES = (0.0, -0.01, -0.02)  # per month, pilot minus control (negative: pilots were getting faster)
WAVES = (17, 20)


def one_rep(args: tuple[int, float, int, np.random.SeedSequence]) -> dict:
    d, slope, rep, seq = args
    label, n_teams, n_pilot = DESIGNS[d]
    df = simulate(np.random.default_rng(seq), n_teams, n_pilot, WAVES, "uniform", pilot_trend=slope)
    df = df[~((df.start_month >= 0) & (df.month == df.start_month) & (df.treated == 0))]
    frame = df.rename(columns={"month": "period", "y": "log_hours"})
    starts = frame.loc[frame.start_month >= 0].groupby("team")["start_month"].first()
    res, _ = placebo_pretrend(frame, starts, seed=rep)
    es = event_study(frame.assign(first=frame.start_month.where(frame.start_month >= 0)), outcome="log_hours",
                     unit="team", time="period", first_treated="first", cluster="team")
    return {"design": label, "slope": slope, "placebo_p": res.p_value if res else math.nan,
            "inference": res.details["inference"] if res else "", "wald_p": es.pretrend_test.p_value}


def summarise(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    g = df.groupby(["design", "slope"], sort=False)
    return pd.DataFrame({
        "reps": g.size(), "placebo inference": g.inference.agg(lambda s: "/".join(sorted(set(s)))),
        f"placebo alert (p<{PRETREND_ALERT_P})": g.placebo_p.agg(lambda p: float((p < PRETREND_ALERT_P).mean())),
        "placebo p<0.05": g.placebo_p.agg(lambda p: float((p < 0.05).mean())),
        "event-study Wald p<0.10": g.wald_p.agg(lambda p: float((p < 0.10).mean())),
        "event-study Wald p<0.05": g.wald_p.agg(lambda p: float((p < 0.05).mean())),
    }).reset_index()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261130)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cells = [(d, s) for d in range(len(DESIGNS)) for s in SLOPES]
    tasks = [(d, s, rep, seq) for (d, s), root in zip(cells, np.random.SeedSequence(args.seed).spawn(len(cells)),
                                                       strict=True)
             for rep, seq in enumerate(root.spawn(args.reps))]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(one_rep, tasks, chunksize=4))
    else:
        rows = [one_rep(t) for t in tasks]
    table = summarise(rows)
    print(f"### Pre-trend checks: {args.reps} simulated pilots per design and slope "
          f"(Monte Carlo SE of a 5% rate: {math.sqrt(0.05 * 0.95 / args.reps):.3f}, of 10%: "
          f"{math.sqrt(0.1 * 0.9 / args.reps):.3f})\n")
    cols = list(table.columns)
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for _, r in table.iterrows():
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r) + " |")
    print(f"\nWall time: {time.perf_counter() - t0:.0f} s.")


if __name__ == "__main__":
    main()
