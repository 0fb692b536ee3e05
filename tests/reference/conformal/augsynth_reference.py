"""Regenerate augsynth_py.json: CWZ conformal p-values from augsynth-py 0.6.0 (a port of R augsynth).

Run in a separate environment (augsynth-py needs cvxpy and polars, which peereval does not):
    python -m venv /tmp/aug && /tmp/aug/bin/pip install augsynth-py==0.6.0
    /tmp/aug/bin/python augsynth_reference.py
"""

import json

GRID_N = 33
CASES = {"one_pilot.csv": (0, 40), "two_pilots.csv": ([0, 1], 30)}  # treated team(s), first post week


def main() -> None:
    import numpy as np
    import polars as pl
    from augsynth_py import Synth, conformal_pvalue

    grid = [round(float(x), 4) for x in np.linspace(-1.2, 0.4, GRID_N)]
    out = {"package": "augsynth-py 0.6.0", "call": "Synth(fixedeff=True).fit(...); conformal_pvalue(fit, h0, "
           "permutation_type='block', side='two-sided')", "grid": grid}
    for name, (treated, start) in CASES.items():
        d = pl.read_csv(name)
        fit = Synth(fixedeff=True).fit(d, unit="team", time="week", outcome="y", treated=treated,
                                       treatment_time=start)
        out[name] = {"att": float(fit.att_), "weights": {str(k): float(v) for k, v in fit.weights_.items()},
                     "p_values": [conformal_pvalue(fit, h, permutation_type="block", side="two-sided")
                                  for h in grid]}
    with open("augsynth_py.json", "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
