"""Dose–response and pre-declared subgroups (Holm checked against statsmodels)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLE
from statsmodels.stats.multitest import multipletests

import peereval
from peereval import heterogeneity
from peereval.outcomes import build_all


@pytest.fixture(scope="module")
def sample():
    return peereval.load(SAMPLE, cutoff="2026-10-31")


@pytest.fixture(scope="module")
def frames(sample):
    return build_all(sample)


def test_holm_matches_statsmodels():
    rng = np.random.default_rng(5)
    for _ in range(20):
        p = rng.uniform(0, 0.2, size=rng.integers(1, 8))
        expected = multipletests(p, method="holm")[1]
        np.testing.assert_allclose(heterogeneity.holm(p), expected, atol=1e-12)


def test_dose_response_is_labelled_observational(sample, frames):
    dose = heterogeneity.dose_response(sample, frames["bug_turnaround"])
    assert "Observational" in dose.method
    assert set(dose.table["dose"]) <= {"0", "1–2", "3+"}
    assert (dose.table["ci_low"] <= dose.table["change"]).all() and (dose.table["change"] <= dose.table["ci_high"]).all()


def test_subgroups_suppress_small_levels_and_adjust(sample, frames):
    sub = heterogeneity.subgroups(sample, frames["onboarding"], ("role",)).table
    small = (sub["n_pilot"] < 5) | (sub["n_control"] < 5)
    assert not sub.loc[small, "shown"].any()
    assert sub.loc[small, "speedup"].isna().all()
    shown = sub[sub["shown"]]
    assert (shown["p_holm"] >= shown["p_value"] - 1e-12).all()
    np.testing.assert_allclose(shown["p_holm"], multipletests(shown["p_value"], method="holm")[1])


def test_subgroups_must_be_declared(tmp_path, tiny_tables):
    from conftest import write_folder

    from peereval.errors import DataError

    folder = write_folder(tmp_path / "t", tiny_tables, config='[program]\nsubgroups = ["shoe_size"]\n')
    with pytest.raises(DataError, match="subgroup column 'shoe_size' is not available"):
        peereval.load(folder)


def test_count_weighted_cell_means_reproduce_ticket_level_did():
    """Why dose_response may fit on team-month means: same coefficient, same cluster scores."""
    import pandas as pd

    from peereval.estimate.did import did

    rng = np.random.default_rng(3)
    rows = []
    for team in range(10):
        for month in range(12):
            dose = float(team < 4 and month >= 6) * (1 + (team % 2))
            for _ in range(rng.integers(1, 15)):
                rows.append((team, month, float(dose == 1), float(dose == 2), rng.normal(team * 0.1 - 0.2 * dose, 1)))
    t = pd.DataFrame(rows, columns=["team", "month", "d1", "d2", "y"])
    cells = t.groupby(["team", "month"], as_index=False).agg(y=("y", "mean"), n=("y", "size"), d1=("d1", "first"),
                                                             d2=("d2", "first"))
    a = did(t, outcome="y", unit="team", time="month", treated="d1", covariates=["d2"], inference="cluster")
    b = did(cells, outcome="y", unit="team", time="month", treated="d1", covariates=["d2"], inference="cluster",
            weights="n")
    assert abs(a.estimate - b.estimate) < 1e-10
    ratio = b.std_error / a.std_error
    assert 1.0 <= ratio < 1.1  # only the (N-1)/(N-K) small-sample factor differs: cells are fewer than tickets
