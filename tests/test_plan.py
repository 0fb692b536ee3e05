"""Pilot planning: MDEs behave as they must, teams-needed is the smallest sufficient design."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import SAMPLE

from peereval.estimate.power import power
from peereval.plan import (
    PlanInputs,
    _bug_design,
    current_power,
    inputs_from_history,
    mde_by_length,
    teams_needed,
)

WEEKS = (4, 8, 16, 26)


@pytest.fixture(scope="module")
def default_plan():
    p = PlanInputs().validate()
    return p, mde_by_length(p, WEEKS), teams_needed(p, WEEKS)


def test_mde_shrinks_with_longer_pilots_and_more_teams(default_plan):
    p, m, _ = default_plan
    assert np.all(np.diff(m["bug_mde_faster"]) <= 1e-12)
    finite = m["onboarding_mde_faster"].dropna()
    assert np.all(np.diff(finite) <= 1e-9)
    bigger = mde_by_length(dataclasses.replace(p, n_pilot_teams=6, n_control_teams=6), (8,))
    assert bigger["bug_mde_faster"].iloc[0] < m.loc[m.weeks == 8, "bug_mde_faster"].iloc[0]


def test_the_six_to_eight_week_single_team_pilot_rarely_detects_20_percent(default_plan):
    p, _, _ = default_plan
    pw = current_power(p, 8)
    assert pw["bug"] < 0.3 and pw["onboarding"] < 0.3


def test_teams_needed_is_the_smallest_sufficient_number(default_plan):
    p, _, teams = default_plan
    for row in teams.itertuples():
        n = row.bug_teams
        assert n is not None and n > 1
        def pw(k, weeks=row.weeks):
            plan = dataclasses.replace(p, n_control_teams=max(p.n_control_teams, k))
            return power(_bug_design(plan, weeks, k), p.bug_target).power
        assert pw(n) >= 0.8 > pw(n - 1)


def test_history_estimates_match_the_generator():
    est = inputs_from_history(SAMPLE)
    assert est.source == "estimated from sample"
    assert 0.8 < est.sd_log_hours < 1.1  # ticket noise sd 0.9 plus priority and shocks
    assert 0 <= est.icc < 0.05
    assert 70 < est.median_days_competency < 100  # generator median 90 days (x0.75–1.1 by role)
    assert 30 < est.tickets_per_team_month < 50
    with_override = inputs_from_history(SAMPLE, icc=0.2)
    assert with_override.icc == 0.2 and with_override.sd_log_hours == est.sd_log_hours


def test_bad_inputs_are_refused():
    from peereval.errors import ParameterError

    with pytest.raises(ParameterError, match="n_pilot_teams must be at least 1"):
        PlanInputs(n_pilot_teams=0).validate()
    with pytest.raises(ParameterError, match="bug_target must be a negative share"):
        PlanInputs(bug_target=0.2).validate()


def test_one_team_pilot_is_planned_over_time_and_matches_the_conformal_monte_carlo():
    """The recommended pilot (one team, weekly, 4-12 weeks) is compared over time, as the report does.

    Power of the analytic approximation against the conformal Monte Carlo in docs/validation.md
    (one pilot of 12, 52 pre weeks, AR(1) 0.5 shocks sd 0.15, 10-40 tickets a week of sd 1):
    6 weeks 0.265 / 0.849 and 8 weeks 0.288 / 0.872 for -20% / -40%.
    """
    import math

    from scipy import stats

    from peereval.plan import bug_mde, make_plan, time_se, weeks_needed

    share = 7 / 30.4375
    p = PlanInputs(n_pilot_teams=1, n_control_teams=11, tickets_per_team_month=25 / share,
                   sd_log_hours=math.sqrt(1.0225), icc=0.0225 / 1.0225, serial_corr=0.5 ** (1 / share),
                   months_history=52 * share).validate()
    for weeks, expected in ((6, (0.265, 0.849)), (8, (0.288, 0.872))):
        got = [stats.norm.sf(1.96 - abs(math.log1p(e)) / time_se(p, weeks)) for e in (-0.2, -0.4)]
        assert got == pytest.approx(expected, abs=0.05)
    plan = make_plan(n_pilot_teams=1, n_control_teams=11, months_history=12)
    m = plan.mde[plan.mde.weeks <= 12]
    assert list(m.weeks) == list(range(4, 13)) and (m.bug_compared == "over time (conformal)").all()
    assert np.all(np.diff(m.bug_mde_faster) < 0)
    big = dataclasses.replace(plan.inputs, bug_target=-0.5)
    n = weeks_needed(big)
    assert n is not None and bug_mde(big, n)[0] >= -0.5 and (n == 1 or bug_mde(big, n - 1)[0] < -0.5)
    assert plan.to_dict()["weeks_for_target"] == plan.weeks_for_target
