"""Minimum detectable effect (MDE) and power for the two pilot outcomes.

Describe the design with :class:`DidDesign` (bug turnaround, difference-in-differences on log
hours) or :class:`OnboardingDesign` (time to competency, right-censored), then call
:func:`mde` or :func:`power`. ``method="analytic"`` uses closed-form variances;
``method="simulation"`` simulates the design with a seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from peereval.errors import ArgumentError, ArgumentTypeError, EstimationError

from .display import html_table, shorten
from .options import check_option
from .result import _clean, _freeze
from .validate import integer, number

__all__ = ["DidDesign", "OnboardingDesign", "PowerResult", "mde", "power"]

PowerMethod = Literal["analytic", "simulation"]
DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class DidDesign:
    """Team x month panel of log ticket hours.

    Cell mean = team effect + month effect + effect * pilot * post + u, where u (team-month
    shock, variance ``icc * sd^2``, AR(1) across months with ``serial_corr``) plus the mean of
    ``tickets_per_team_month`` ticket errors (variance ``(1 - icc) * sd^2``). Persistent team
    differences are absorbed by team fixed effects.
    """

    n_pilot_teams: int
    n_control_teams: int
    months_pre: int
    months_post: int
    tickets_per_team_month: float
    sd_log_hours: float
    icc: float = 0.0
    serial_corr: float = 0.0


@dataclass(frozen=True)
class OnboardingDesign:
    """Hires followed from start date to a competency milestone (or censoring).

    Control times are Weibull with ``median_days`` and ``weibull_shape`` (1 = exponential);
    hires join uniformly over ``accrual_months`` and the study stops ``follow_up_months``
    after the last one joins (0 = everyone followed exactly ``follow_up_months``); random
    dropout at ``dropout_per_month`` (exponential). ``design_effect`` (>= 1, e.g.
    1 + (hires per team - 1) * ICC) deflates the events for team clustering.
    """

    n_pilot_hires: int
    n_control_hires: int
    follow_up_months: float
    median_days: float
    weibull_shape: float = 1.0
    accrual_months: float = 0.0
    dropout_per_month: float = 0.0
    design_effect: float = 1.0


@dataclass(frozen=True, repr=False)
class PowerResult:
    """MDE (percent change for bug turnaround, time ratio for onboarding) and power.

    ``design`` is the design it was computed for (None when built by hand); ``plot`` draws the
    power curve from it.
    """

    outcome: str
    mde: float
    power: float
    alpha: float
    method: str
    assumptions: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    design: DidDesign | OnboardingDesign | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "assumptions", _freeze(self.assumptions))
        object.__setattr__(self, "details", _freeze(self.details))

    def to_dict(self) -> dict[str, Any]:
        return _clean({"outcome": self.outcome, "mde": self.mde, "power": self.power, "alpha": self.alpha,
                       "method": self.method, "assumptions": dict(self.assumptions),
                       "details": dict(self.details)})

    def summary(self) -> pd.DataFrame:
        """One row indexed by outcome: mde, power, alpha, scale, method."""
        return pd.DataFrame([{"mde": self.mde, "power": self.power, "alpha": self.alpha,
                              "scale": self.assumptions.get("scale", ""), "method": self.method}],
                            index=pd.Index([self.outcome], name="outcome"))

    def plot(self, ax=None, *, color: str = "#0072B2"):
        """Power curve: probability of detecting each effect size, with the MDE marked; returns the axes."""
        from .power_plot import plot_power

        return plot_power(self, ax, color=color)

    def __repr__(self) -> str:
        return (f"PowerResult({self.outcome}: effect {self.mde:.4g} detected with power {self.power:.0%} "
                f"at alpha {self.alpha:g}; {shorten(self.method, 60)})")

    def _repr_html_(self) -> str:
        return html_table(self.summary().drop(columns="method"), title="Power", note=self.method)


# ----------------------------------------------------------------------------- DiD
def _did_se(d: DidDesign) -> tuple[float, int]:
    """SE of the DiD on log hours and its t degrees of freedom (G - 2)."""
    months = np.arange(d.months_pre + d.months_post)
    shock = d.icc * d.sd_log_hours**2 * d.serial_corr ** np.abs(months[:, None] - months[None, :])
    cov = shock + np.eye(len(months)) * (1 - d.icc) * d.sd_log_hours**2 / d.tickets_per_team_month
    w = np.r_[np.full(d.months_pre, -1 / d.months_pre), np.full(d.months_post, 1 / d.months_post)]
    var_team = float(w @ cov @ w)  # variance of one team's post-minus-pre mean
    se = math.sqrt(var_team * (1 / d.n_pilot_teams + 1 / d.n_control_teams))
    return se, d.n_pilot_teams + d.n_control_teams - 2


def _t_power(delta: float, se: float, df: float, alpha: float) -> float:
    crit = stats.t.ppf(1 - alpha / 2, df)
    ncp = abs(delta) / se
    pw = float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))
    return pw if math.isfinite(pw) else 1.0  # nct overflows only far out in the upper tail


def _did_sim_power(d: DidDesign, delta: float, alpha: float, reps: int, rng: np.random.Generator) -> float:
    g1, g = d.n_pilot_teams, d.n_pilot_teams + d.n_control_teams
    months = d.months_pre + d.months_post
    sd_u, sd_e = math.sqrt(d.icc) * d.sd_log_hours, math.sqrt(1 - d.icc) * d.sd_log_hours
    m = int(round(d.tickets_per_team_month))
    treat = np.zeros((g, months))
    treat[:g1, d.months_pre:] = 1.0
    crit = stats.t.ppf(1 - alpha / 2, g - 2)
    hits = 0
    for _ in range(reps):
        u = np.empty((g, months))
        u[:, 0] = rng.normal(0, sd_u, g)
        innov = math.sqrt(1 - d.serial_corr**2)
        for t in range(1, months):
            u[:, t] = d.serial_corr * u[:, t - 1] + innov * rng.normal(0, sd_u, g)
        tickets = rng.normal(0, sd_e, (g, months, m)).mean(2)
        y = rng.normal(0, 1, (g, 1)) + rng.normal(0, 1, (1, months)) + delta * treat + u + tickets
        # two-way within transform (balanced panel), OLS slope on the demeaned treatment
        dm = lambda a: a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()  # noqa: E731
        yt, dt = dm(y), dm(treat)
        tau = float((yt * dt).sum() / (dt**2).sum())
        # inference on team-level post-minus-pre differences: pooled two-sample t, G - 2 df
        diff = y[:, d.months_pre:].mean(1) - y[:, : d.months_pre].mean(1)
        a, b = diff[:g1], diff[g1:]
        sp2 = (((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / (g - 2)
        hits += abs(tau) / math.sqrt(sp2 * (1 / g1 + 1 / (g - g1))) > crit
    return hits / reps


# ----------------------------------------------------------------------------- onboarding
def _p_event(d: OnboardingDesign, median: float) -> float:
    k = d.weibull_shape
    scale = median / math.log(2) ** (1 / k)
    delta = d.dropout_per_month / DAYS_PER_MONTH

    def f(t: float) -> float:  # Weibull density (scipy's formula, without its per-call overhead) x staying
        x = t / scale
        return (k * x ** (k - 1) * math.exp(-(x**k)) / scale if x > 0 else 0.0) * math.exp(-delta * t)

    def by(follow: float) -> float:  # P(milestone before follow-up end and before dropout)
        return integrate.quad(f, 0, follow, limit=200)[0]

    lo = d.follow_up_months * DAYS_PER_MONTH
    if d.accrual_months <= 0:
        return by(lo)
    hi = lo + d.accrual_months * DAYS_PER_MONTH
    return integrate.quad(by, lo, hi, limit=100)[0] / (hi - lo)


def _onb_power(d: OnboardingDesign, ratio: float, alpha: float) -> tuple[float, float, float]:
    """Schoenfeld power, expected events, hazard ratio implied by the time ratio."""
    hr = ratio ** (-d.weibull_shape)
    events = (d.n_pilot_hires * _p_event(d, d.median_days * ratio)
              + d.n_control_hires * _p_event(d, d.median_days)) / d.design_effect
    p = d.n_pilot_hires / (d.n_pilot_hires + d.n_control_hires)
    z = math.sqrt(events * p * (1 - p)) * abs(math.log(hr)) - stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.cdf(z)), events, hr


def _onb_sim_power(d: OnboardingDesign, ratio: float, alpha: float, reps: int, seed: int) -> float:
    from statsmodels.duration.survfunc import survdiff

    rng = np.random.default_rng(seed)  # same stream for every ratio: smooth in ratio for bisection
    k, n1, n0 = d.weibull_shape, d.n_pilot_hires, d.n_control_hires
    scale = d.median_days / math.log(2) ** (1 / k)
    grp = np.r_[np.ones(n1), np.zeros(n0)]
    hits = 0
    for _ in range(reps):
        t = scale * rng.weibull(k, n1 + n0) * np.where(grp == 1, ratio, 1.0)
        follow = (d.follow_up_months + d.accrual_months * rng.uniform(size=n1 + n0)) * DAYS_PER_MONTH
        if d.dropout_per_month > 0:
            follow = np.minimum(follow, rng.exponential(DAYS_PER_MONTH / d.dropout_per_month, n1 + n0))
        obs, ev = np.minimum(t, follow), (t <= follow).astype(int)
        hits += survdiff(obs, ev, grp)[1] < alpha
    return hits / reps


# ----------------------------------------------------------------------------- public
def _check(design: Any, alpha: float, target: float, reps: int, seed: int) -> None:
    number(alpha, "alpha", low=0, high=1, hint=" (e.g. 0.05)")
    number(target, "power", low=0, high=1, hint=" (e.g. 0.8)")
    integer(reps, "reps", minimum=10)
    integer(seed, "seed", minimum=0)
    check_design(design)


def check_design(design: Any) -> None:
    """Refuse a design that no variance can be computed for, naming the field to change."""
    if isinstance(design, DidDesign):
        name = "DidDesign"
        counts = ("n_pilot_teams", "n_control_teams", "months_pre", "months_post")
        positive = ("tickets_per_team_month", "sd_log_hours")
        ranges = {"icc": (0.0, 1.0, True), "serial_corr": (-1.0, 1.0, False)}
    elif isinstance(design, OnboardingDesign):
        name = "OnboardingDesign"
        counts = ("n_pilot_hires", "n_control_hires")
        positive = ("follow_up_months", "median_days", "weibull_shape")
        ranges = {"accrual_months": (0.0, None, True), "dropout_per_month": (0.0, None, True),
                  "design_effect": (1.0, None, True)}
    else:
        raise ArgumentTypeError(f"design must be a DidDesign or an OnboardingDesign, not {type(design).__name__}")
    for f in counts:
        integer(getattr(design, f), f"{name}.{f}", minimum=1,
                hint=": a comparison needs at least one on each side")
    for f in positive:
        number(getattr(design, f), f"{name}.{f}", low=0)
    for f, (lo, hi, inclusive) in ranges.items():
        number(getattr(design, f), f"{name}.{f}", low=lo, high=hi, inclusive=inclusive)


def power(design: DidDesign | OnboardingDesign, effect: float, *, alpha: float = 0.05,
          method: PowerMethod = "analytic", reps: int = 1000, seed: int = 0) -> PowerResult:
    """Probability that a two-sided level-``alpha`` test detects ``effect``.

    ``effect`` is a percent change in bug turnaround hours (-0.18 = 18% faster) for a
    :class:`DidDesign`, or a time ratio for an :class:`OnboardingDesign` (0.80 = 20% faster).
    DiD: t test on the team-level DiD with G - 2 df and the AR(1)-aware variance (Bloom's
    clustered formula with Burlig et al. 2020 serial correlation); power from the noncentral t.
    Onboarding: log-rank/Cox test via Schoenfeld's events formula with HR = ratio^-shape
    (Weibull proportional hazards, exponential when shape = 1); simulation uses the log-rank test.

    Example:
        >>> d = DidDesign(4, 4, 6, 6, tickets_per_team_month=20, sd_log_hours=1.0, icc=0.05)
        >>> round(power(d, -0.18).power, 2)
        0.26
    """
    check_option("method", method, PowerMethod)
    _check(design, alpha, 0.5, reps, seed)
    effect = number(effect, "effect")
    if isinstance(design, DidDesign) and effect <= -1:
        raise ArgumentError(f"effect={effect!r} is a percent change in hours and must be above -1 (-0.18 = 18% faster)")
    if isinstance(design, OnboardingDesign) and effect <= 0:
        raise ArgumentError(f"effect={effect!r} is a time ratio and must be positive (0.80 = 20% faster)")
    if isinstance(design, DidDesign):
        delta = math.log1p(effect)
        se, df = _did_se(design)
        if method == "analytic":
            pw, how = _t_power(delta, se, df, alpha), f"analytic clustered DiD variance, noncentral t({df})"
        else:
            pw = float(_did_sim_power(design, delta, alpha, reps, np.random.default_rng(seed)))
            how = f"simulation ({reps} reps, seed {seed}): two-way FE DiD, team-level t({df}) test"
        return PowerResult("bug_turnaround", effect, pw, alpha, how, _did_assumptions(design),
                           {"se_log": se, "df": df}, design)
    pw, events, hr = _onb_power(design, effect, alpha)
    if method == "simulation":
        pw = float(_onb_sim_power(design, effect, alpha, reps, seed))
    how = ("Schoenfeld events formula (log-rank), normal approximation" if method == "analytic"
           else f"simulation ({reps} reps, seed {seed}), log-rank test")
    return PowerResult("onboarding", effect, pw, alpha, how, _onb_assumptions(design),
                       {"expected_events": events, "hazard_ratio": hr}, design)


def mde(design: DidDesign | OnboardingDesign, *, alpha: float = 0.05, power: float = 0.8,
        method: PowerMethod = "analytic", reps: int = 1000, seed: int = 0) -> PowerResult:
    """Smallest improvement detected with probability ``power`` by a two-sided level-``alpha`` test.

    Bug turnaround: percent change in hours (negative = faster), from the DiD on log hours.
    Onboarding: time ratio below 1 (pilot / control). Assumptions as in :func:`power`.

    Example:
        >>> d = OnboardingDesign(40, 40, follow_up_months=4, median_days=60)
        >>> round(mde(d).mde, 2)
        0.51
    """
    check_option("method", method, PowerMethod)
    _check(design, alpha, power, reps, seed)
    pw_of = globals()["power"]
    if isinstance(design, DidDesign):
        se, df = _did_se(design)
        if method == "analytic":
            delta = optimize.brentq(lambda x: _t_power(x, se, df, alpha) - power, 1e-12, 30 * se,
                                    xtol=1e-12)
        else:
            delta = optimize.brentq(lambda x: _did_sim_power(design, x, alpha, reps,
                                                             np.random.default_rng(seed)) - power,
                                    1e-6, 20 * se, xtol=1e-3 * se)
        res = pw_of(design, math.expm1(-delta), alpha=alpha, method="analytic")
        return PowerResult("bug_turnaround", math.expm1(-delta), power, alpha,
                           res.method if method == "analytic" else
                           f"simulation ({reps} reps, seed {seed}), bisection on the effect",
                           res.assumptions, {**res.details, "mde_log": -delta}, design)
    if method == "analytic":
        f = lambda r: _onb_power(design, r, alpha)[0] - power  # noqa: E731
    else:
        f = lambda r: _onb_sim_power(design, r, alpha, reps, seed) - power  # noqa: E731
    if f(1e-3) < 0:
        raise EstimationError("this design cannot reach the requested power for any time ratio")
    ratio = optimize.brentq(f, 1e-3, 1 - 1e-9, xtol=1e-6 if method == "analytic" else 1e-3)
    res = pw_of(design, ratio, alpha=alpha)
    return PowerResult("onboarding", ratio, power, alpha,
                       res.method if method == "analytic" else f"simulation ({reps} reps, seed {seed}), log-rank",
                       res.assumptions, res.details, design)


def _did_assumptions(d: DidDesign) -> dict[str, Any]:
    return {**asdict(d), "scale": "effect is a percent change in hours: exp(DiD on log hours) - 1",
            "model": "team and month fixed effects, AR(1) team-month shocks, equal panel per team"}


def _onb_assumptions(d: OnboardingDesign) -> dict[str, Any]:
    return {**asdict(d), "scale": "effect is a time ratio pilot/control (0.8 = 20% faster)",
            "model": "Weibull times with common shape, so HR = ratio^-shape (proportional hazards)"}
