"""balance(): standardized mean differences checked against numbers worked by hand."""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from peereval.estimate.balance import balance  # noqa: E402


def _data() -> pd.DataFrame:
    return pd.DataFrame({
        "pilot": [1, 1, 1, 0, 0, 0, 0],
        "tenure": [2.0, 4.0, 6.0, 1.0, 2.0, 3.0, np.nan],
        "site": ["a", "b", "b", "a", "a", "b", "a"],
    })


def test_numeric_smd_by_hand():
    # treated 2,4,6: mean 4, var 4; control 1,2,3 (NaN dropped): mean 2, var 1
    # SMD = (4 - 2) / sqrt((4 + 1) / 2) = 2 / sqrt(2.5) = 1.264911...
    row = balance(_data(), group="pilot", covariates=["tenure"]).summary().iloc[0]
    assert row["mean_treated"] == 4.0 and row["mean_control"] == 2.0
    assert row["smd"] == pytest.approx(2 / math.sqrt(2.5), abs=1e-12)
    assert bool(row["flag"]) and row["level"] is None


def test_categorical_smd_by_hand():
    # site b: treated 2/3, control 1/4 -> (2/3 - 1/4) / sqrt((2/9 + 3/16) / 2)
    s = balance(_data(), group="pilot", covariates=["site"]).summary().set_index("level")
    pt, pc = 2 / 3, 1 / 4
    want = (pt - pc) / math.sqrt((pt * (1 - pt) + pc * (1 - pc)) / 2)
    assert s.loc["b", "smd"] == pytest.approx(want, abs=1e-12)
    assert s.loc["a", "smd"] == pytest.approx(-want, abs=1e-12)
    assert s.loc["b", "mean_treated"] == pytest.approx(pt)


def test_flag_threshold_treated_value_plot_and_dict():
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"arm": np.repeat(["pilot", "control"], 500), "x": rng.normal(size=1000)})
    d.loc[d.arm == "pilot", "x"] += 0.5
    res = balance(d, group="arm", covariates=["x"], treated_value="pilot")
    assert res.n_flagged == 1 and res.summary()["smd"].iloc[0] == pytest.approx(0.5, abs=0.15)
    same = balance(d.assign(x=0.0), group="arm", covariates=["x"], treated_value="pilot")
    assert same.summary()["smd"].iloc[0] == 0.0 and not same.summary()["flag"].iloc[0]
    with pytest.raises(ValueError, match="treated_value"):
        balance(d, group="arm", covariates=["x"])
    ax = res.plot()
    assert len(ax.collections) == 1
    json.dumps(res.to_dict())


@pytest.mark.parametrize("team_dtype", [object, "category"])
def test_team_balance_inputs_equal_plain_groupbys_of_the_frame_rows(monkeypatch, team_dtype):
    """checks.team_balance's per-team pre-start volume and median against pandas on the frame's rows."""
    import dataclasses

    from conftest import SAMPLE

    import peereval
    from peereval import checks
    from peereval.outcomes import build_all

    data = peereval.load(SAMPLE, cutoff="2026-10-31")
    frames = build_all(data)
    bug = frames["bug_turnaround"]
    frames = {k: (dataclasses.replace(f, rows=f.rows.astype({"team": team_dtype})) if k == "bug_turnaround" else f)
              for k, f in frames.items()}
    seen = {}
    monkeypatch.setattr(checks, "balance", lambda df, **kw: seen.setdefault("df", df))
    checks.team_balance(data, frames)
    got = seen["df"].set_index("team")
    first = data.pilot_teams["pilot_start"].min()
    rows = bug.rows.astype({"team": object})
    rows = rows[(rows["date"] < first) & ~rows["open"]]
    months = rows["period"].nunique()
    per_team = rows.groupby("team")["hours"]
    assert got["bugs per month"].to_dict() == pytest.approx((per_team.size() / months).reindex(got.index)
                                                            .fillna(0).to_dict())
    assert got["median hours to fix a bug"].to_dict() == pytest.approx(per_team.median().reindex(got.index).to_dict())
