"""Group-sequential boundaries: published values (R rpact), an independent multivariate-normal
computation, a Monte Carlo of the canonical process, the calendar schedule and the plan settings."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from peereval.config import ProgramConfig, load_config
from peereval.errors import DataError
from peereval.estimate.sequential import alpha_spent, boundaries, interim, look_schedule

REF = Path(__file__).parent / "reference" / "sequential" / "rpact_boundaries.json"


@pytest.mark.parametrize("case", json.loads(REF.read_text())["cases"], ids=lambda c: c["call"][40:110])
def test_reproduces_rpact_getDesignGroupSequential(case):
    """R rpact 3.3.4 getDesignGroupSequential(..., sided = 2, typeOfDesign = "asOF"/"asP"), see the .R file."""
    plan = boundaries(case["information_fractions"], case["alpha"], case["spending"])
    np.testing.assert_allclose(plan.cumulative_alpha, case["cumulative_alpha"], rtol=1e-6, atol=1e-12)
    ref_nominal = 2 * np.array(case["one_sided_stage_levels"])
    for z, ref_z, nominal, ref_nom in zip(plan.critical_z, case["critical_z"], plan.nominal_alpha, ref_nominal, strict=True):
        np.testing.assert_allclose(nominal, ref_nom, rtol=2e-3, atol=1e-7)
        if ref_z is not None and ref_nom > 1e-6:  # rpact's own tolerance shows where it spends < 1e-6
            assert z == pytest.approx(ref_z, abs=2e-5)


def test_classic_obrien_fleming_five_equal_looks():
    """Lan-DeMets O'Brien-Fleming type, two-sided 0.05, five equally spaced looks (rpact, gsDesign sfLDOF)."""
    z = boundaries([0.2, 0.4, 0.6, 0.8, 1.0]).critical_z
    assert [round(v, 3) for v in z] == [4.877, 3.357, 2.680, 2.290, 2.031]


def test_first_look_is_a_closed_form_and_tiny_spends_are_exact():
    plan = boundaries([1 / 12, 2 / 12, 3 / 12])
    spend = alpha_spent(np.array([1 / 12, 2 / 12]))
    assert plan.critical_z[0] == pytest.approx(stats.norm.isf(spend[0] / 2), rel=1e-12)
    # with 8e-8 to spend at look 2, crossing at look 1 is negligible: P(|Z2| >= z2) is the increment
    assert 2 * stats.norm.sf(plan.critical_z[1]) == pytest.approx(spend[1] - spend[0], rel=1e-5)


@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock"])
@pytest.mark.parametrize("fractions", [(0.3, 0.55, 1.0), (0.25, 0.5, 0.75, 1.0), (0.4, 0.7, 0.9)])
def test_agrees_with_scipy_multivariate_normal(fractions, spending):
    """P(no crossing) from Genz's multivariate normal CDF with corr sqrt(t_j / t_k) is 1 - alpha(t_K)."""
    plan = boundaries(fractions, 0.05, spending)
    t = np.array(fractions)
    corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    c = np.array(plan.critical_z)
    inside = stats.multivariate_normal.cdf(c, np.zeros(len(t)), corr, lower_limit=-c, abseps=1e-7, releps=1e-7,
                                           maxpts=2_000_000, rng=np.random.default_rng(1))
    assert 1 - inside == pytest.approx(plan.cumulative_alpha[-1], abs=2e-6)
    assert plan.cumulative_alpha[-1] == pytest.approx(alpha_spent(t[-1], 0.05, spending), rel=1e-12)


@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock"])
def test_canonical_process_crosses_with_probability_alpha(spending):
    """Monte Carlo: 200,000 Brownian paths looked at 8 unequal times cross in 5% of cases."""
    t = np.array([0.1, 0.2, 0.35, 0.5, 0.6, 0.75, 0.9, 1.0])
    plan = boundaries(t, 0.05, spending)
    rng = np.random.default_rng(20260901)
    n = 200_000
    paths = np.cumsum(rng.normal(size=(n, len(t))) * np.sqrt(np.diff(np.r_[0.0, t])), axis=1)
    z = paths / np.sqrt(t)
    first = np.abs(z) >= np.array(plan.critical_z)
    rate = first.any(axis=1).mean()
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / n)  # within 4 MC standard errors (0.0020)
    # and cumulatively look by look
    by_look = np.maximum.accumulate(first, axis=1).mean(axis=0)
    np.testing.assert_allclose(by_look, plan.cumulative_alpha, atol=4 * math.sqrt(0.05 * 0.95 / n))
    naive = (np.abs(z) >= stats.norm.isf(0.025)).any(axis=1).mean()
    assert naive > 0.10  # reading p < 0.05 at each of 8 looks: the inflation the boundaries remove


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.02, 1.0), min_size=1, max_size=10, unique=True),
       st.sampled_from(["obrien_fleming", "pocock"]), st.sampled_from([0.01, 0.05, 0.1]))
def test_boundaries_properties(raw, spending, alpha):
    t = sorted(raw)
    if np.any(np.diff(t) < 1e-3):
        return
    plan = boundaries(t, alpha, spending)
    z = np.array(plan.critical_z)
    # spending sums to alpha(t_K) (alpha at t = 1); nominal levels are below it
    assert plan.cumulative_alpha[-1] == pytest.approx(alpha_spent(t[-1], alpha, spending), rel=1e-12)
    assert all(0 <= a <= plan.cumulative_alpha[-1] + 1e-15 for a in plan.nominal_alpha)
    assert np.all(np.diff(plan.cumulative_alpha) > 0)
    assert np.all(z > stats.norm.isf(alpha / 2) - 1e-9)  # always stricter than one look at alpha
    # only past and current looks matter: the number of looks need not be known in advance
    prefix = boundaries(t[:-1], alpha, spending).critical_z if len(t) > 1 else ()
    np.testing.assert_allclose(prefix, z[:-1], rtol=1e-12)


@pytest.mark.parametrize("n_looks", [2, 3, 6, 12, 26])
def test_equally_spaced_boundaries_fall_look_by_look(n_looks):
    """O'Brien-Fleming type with equal spacing: a later look is never stricter (unequal spacing can
    break this: a look just after another spends little). Pocock type stays within 0.5 of flat."""
    t = [k / n_looks for k in range(1, n_looks + 1)]
    of = np.array(boundaries(t).critical_z)
    pocock = np.array(boundaries(t, spending="pocock").critical_z)
    assert np.all(np.diff(of) < 0)
    assert pocock.max() - pocock.min() < (0.1 if n_looks <= 6 else 0.5)
    assert of[-1] < pocock[-1] and of[0] > pocock[0]  # strict early, close to a single test at the end


def test_interim_decisions_and_words():
    prev = [1 / 6, 2 / 6]
    d = interim(3 / 6, prev, p_value=0.01, look=3, n_looks=6)
    assert (d.words, d.stage, d.crossed) == ("interim look 3 of 6", "interim", False)
    assert d.rci_level == pytest.approx(1 - d.nominal_alpha) and d.rci_level > 0.99
    assert "not yet" in d.explain() and "6 looks at 5%" in d.explain()
    same = interim(3 / 6, prev, z=stats.norm.isf(0.005), look=3, n_looks=6)
    assert same.p_value == pytest.approx(0.01) and same.nominal_alpha == d.nominal_alpha
    assert interim(3 / 6, prev, z=-(d.critical_z + 1e-6)).crossed  # two-sided
    final = interim(1.0, [k / 6 for k in range(1, 6)], p_value=0.04, look=6, n_looks=6)
    assert final.stage == "final" and final.words == "final look (6 of 6)" and final.crossed
    assert final.cumulative_alpha == pytest.approx(0.05)
    late = interim(8 / 6, [min(k / 6, 1) for k in range(1, 8)], p_value=1e-9, look=8, n_looks=6)
    assert (late.stage, late.crossed, late.rci_level) == ("after_plan", False, None)
    assert late.words == "read after the planned end (look 8; the plan had 6)"
    assert "descriptive" in late.explain()
    assert json.dumps(late.to_dict()) and json.dumps(d.to_dict())
    first = interim(1 / 6, p_value=0.0)
    assert first.words == "interim look 1 (17% of the planned time)" and first.crossed  # p = 0 crosses any level


def test_a_late_first_look_spends_what_remains():
    """A look after the planned end when the earlier looks stopped short of it spends the rest."""
    d = interim(1.4, [0.25, 0.5], p_value=0.03)
    assert d.stage == "final" and d.information_fraction == 1.0 and d.cumulative_alpha == pytest.approx(0.05)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"p_value": 0.1, "z": 1.0}, "exactly one of p_value and z"),
    ({}, "exactly one of p_value and z"),
    ({"p_value": 1.5}, "between 0 and 1"),
    ({"z": float("nan")}, "must be a number"),
    ({"p_value": 0.1, "spending": "haybittle"}, "not an option"),
    ({"p_value": 0.1, "alpha": 0.0}, "between 0 and 1"),
])
def test_interim_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        interim(0.5, [0.25], **kwargs)


@pytest.mark.parametrize(("fractions", "message"), [
    ([], "at least one"), ([0.5, 0.5], "increase"), ([0.2, 1.2], r"\(0, 1\]"), ([0.0, 1.0], r"\(0, 1\]"),
])
def test_boundaries_refuse_bad_fractions(fractions, message):
    with pytest.raises(ValueError, match=message):
        boundaries(fractions)


def test_interim_refuses_looks_out_of_order():
    with pytest.raises(ValueError, match="time order"):
        interim(0.3, [0.25, 0.5], p_value=0.2)


def test_look_schedule_by_calendar():
    start = date(2026, 9, 1)  # a Tuesday
    week3 = look_schedule(start, date(2026, 9, 20), planned_weeks=6)  # Sunday of the third ISO week
    assert (week3.look, week3.n_looks, week3.fraction) == (3, 6, 0.5)
    assert look_schedule(start, date(2026, 8, 30), planned_weeks=6).started is False
    after = look_schedule(start, date(2026, 11, 1), planned_weeks=6)
    assert after.look == 9 and after.fraction == 1.0 and after.previous[-3:] == (1.0, 1.0, 1.0)
    d = interim(after.fraction, after.previous, p_value=0.001, look=after.look, n_looks=after.n_looks)
    assert d.stage == "after_plan"
    by_end = look_schedule(start, date(2026, 9, 20), planned_end=date(2026, 10, 31))
    assert by_end.n_looks == 9  # ISO weeks 36..44
    monthly = look_schedule(start, date(2026, 9, 30), period="month", planned_end=date(2026, 10, 31))
    assert (monthly.look, monthly.n_looks, monthly.previous) == (1, 2, ())
    six_weeks_monthly = look_schedule(start, date(2026, 10, 31), period="month", planned_weeks=6)
    assert (six_weeks_monthly.look, six_weeks_monthly.n_looks) == (2, 2)  # Sep 1 + 41 days = Oct 12
    across_new_year = look_schedule(date(2026, 12, 30), date(2027, 1, 10), planned_weeks=4)
    assert across_new_year.look == 2
    stamps = look_schedule(pd.Timestamp("2026-09-01"), pd.Timestamp("2026-09-20 23:59"), planned_weeks=6)
    assert stamps == week3
    with pytest.raises(ValueError, match="exactly one"):
        look_schedule(start, date(2026, 9, 20))
    with pytest.raises(ValueError, match="before the pilot start"):
        look_schedule(start, date(2026, 9, 20), planned_end=date(2026, 8, 1))


# --------------------------------------------------------------------------- program.toml
def _config(tmp_path, lines: str):
    (tmp_path / "program.toml").write_text("[program]\n" + lines, encoding="utf-8")
    return load_config(tmp_path)


def test_plan_settings_are_read(tmp_path):
    cfg = _config(tmp_path, 'planned_end = "2026-10-31"\nsequential_spending = "pocock"\n')
    assert cfg.planned_end == date(2026, 10, 31) and cfg.planned_weeks is None
    assert cfg.sequential_spending == "pocock" and cfg.to_dict()["planned_end"] == "2026-10-31"
    assert _config(tmp_path, "planned_end = 2026-10-31\n").planned_end == date(2026, 10, 31)  # TOML date
    cfg = _config(tmp_path, "planned_weeks = 6\n")
    assert cfg.planned_weeks == 6 and cfg.sequential_spending == "obrien_fleming"
    assert json.dumps(cfg.to_dict())
    assert ProgramConfig().planned_end is None and ProgramConfig().planned_weeks is None


@pytest.mark.parametrize(("lines", "expected"), [
    ('planned_end = "2026-10-31"\nplanned_weeks = 6\n', "keep one of them"),
    ('planned_end = "31/10/2026"\n', 'planned_end = "2026-10-31"'),
    ("planned_end = 2026-10-31T09:00:00\n", "must be a date"),
    ("planned_weeks = 0\n", "planned_weeks = 6"),
    ("planned_weeks = 6.5\n", "whole number of weeks"),
    ("planned_weeks = true\n", "whole number of weeks"),
    ('sequential_spending = "obf"\n', '"obrien_fleming"'),
])
def test_plan_settings_mistakes_name_the_fix(tmp_path, lines, expected):
    with pytest.raises(DataError) as err:
        _config(tmp_path, lines)
    assert expected in str(err.value) and "program.toml" in str(err.value)


def test_plan_overrides_are_checked():
    with pytest.raises(DataError, match="keep one of them"):
        ProgramConfig(planned_weeks=6).with_overrides(planned_end=date(2026, 10, 31))
    assert ProgramConfig().with_overrides(planned_weeks=8).planned_weeks == 8
