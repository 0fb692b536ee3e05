"""Repeated looks at the same pilot that stay honest: group-sequential (alpha-spending) boundaries.

Each weekly or monthly re-read of a pilot is another look at the data. Reading "clearly" whenever
p < 0.05 makes the chance of ever reading "clearly" under no effect far larger than 5%. Here the
error budget ``alpha`` is spent over the looks with a Lan-DeMets spending function alpha(t) of
the information fraction t (Lan & DeMets 1983): at look k the two-sided critical value z_k is
such that, with no effect, P(|Z_j| >= z_j at some look j <= k) = alpha(t_k).

Assumption: the looks' z statistics have the canonical joint distribution of a Brownian motion,
corr(Z_j, Z_k) = sqrt(t_j / t_k) (Jennison & Turnbull 2000, ch. 3); crossing probabilities are
computed exactly by recursive numerical integration (Armitage, McPherson & Rowe 1969; Jennison &
Turnbull ch. 19), not by simulation. Only past and current fractions enter, so the number of
looks need not be known in advance and looks may be unequally spaced.

The information fraction is calendar time (:func:`look_schedule`): elapsed pilot periods over
planned periods, capped at 1. It is fixed before any data are seen, so it cannot be gamed; for a
difference-in-differences against a fixed pre-period the true information grows more slowly
than calendar time, which makes the looks more correlated than assumed and the boundaries
conservative (``benchmarks/coverage_sequential.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np
from scipy import optimize, special, stats

from peereval.errors import ArgumentError, ArgumentTypeError

from .options import Spending, check_option
from .result import _clean, _freeze

__all__ = ["LookSchedule", "SequentialDecision", "SequentialPlan", "alpha_spent", "boundaries",
           "interim", "look_schedule"]

_Z_LIMIT = 8.5  # |z| beyond this carries < 1e-16 probability: the grid stops there
_MAX_STEP = 0.05  # largest grid spacing on the z scale (Simpson's rule)
_PER_KERNEL_SD = 10  # grid points per standard deviation of the next look's increment
SPENDING_NAMES = {"obrien_fleming": "O'Brien-Fleming-type", "pocock": "Pocock-type"}


def alpha_spent(t: float | np.ndarray, alpha: float = 0.05, spending: Spending = "obrien_fleming"):
    """Cumulative two-sided alpha alpha(t) that may be spent by information fraction ``t``.

    ``"obrien_fleming"``: 4 (1 - Phi(z_{1-alpha/4} / sqrt(t))), Lan-DeMets' O'Brien-Fleming-type
    function spending alpha/2 on each side (R gsDesign ``sfLDOF`` with ``test.type = 2``, rpact
    ``typeOfDesign = "asOF", sided = 2``): almost nothing early, close to alpha at the end.
    ``"pocock"``: alpha ln(1 + (e - 1) t), spread nearly evenly over the looks.

    Example:
        >>> round(float(alpha_spent(0.5)), 5), float(alpha_spent(1.0))
        (0.00305, 0.05)
    """
    spending = check_option("spending", spending, Spending)
    t = np.minimum(np.asarray(t, dtype=float), 1.0)
    if spending == "obrien_fleming":
        with np.errstate(divide="ignore"):
            out = 4 * stats.norm.sf(stats.norm.isf(alpha / 4) / np.sqrt(t))
    else:
        out = alpha * np.log1p((math.e - 1) * t)
    out = np.where(t >= 1, alpha, out)  # exactly alpha at the end, not alpha up to rounding
    return out if out.ndim else float(out)


@dataclass(frozen=True)
class SequentialPlan:
    """Two-sided boundaries for looks at ``information_fractions`` (one entry per look).

    ``critical_z[k]`` is the |z| needed to read "clearly" at look k; ``nominal_alpha[k]`` =
    2 (1 - Phi(critical_z[k])) is the same rule as a p-value threshold and ``1 - nominal_alpha[k]``
    the level of the repeated confidence interval at that look. ``cumulative_alpha[k]`` is the
    chance, with no effect, of reading "clearly" at any look up to k. ``inf`` / 0 where a look
    spends nothing.
    """

    information_fractions: tuple[float, ...]
    alpha: float
    spending: str
    critical_z: tuple[float, ...]
    nominal_alpha: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return _clean({"information_fractions": list(self.information_fractions), "alpha": self.alpha,
                       "spending": self.spending, "critical_z": list(self.critical_z),
                       "nominal_alpha": list(self.nominal_alpha),
                       "cumulative_alpha": list(self.cumulative_alpha)})


def _simpson(lo: float, hi: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and Simpson weights on [lo, hi] with spacing at most ``step``."""
    n = 2 * max(2, math.ceil((hi - lo) / step / 2)) + 1
    nodes = np.linspace(lo, hi, n)
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return nodes, w * (hi - lo) / (n - 1) / 3


def _solve_boundary(log_mass: np.ndarray, u: np.ndarray, a: float, b: float, s: float,
                    increment: float) -> float:
    """|z| at the next look such that P(continue so far and cross now) = ``increment``."""
    if not increment > 0:
        return math.inf

    def log_cross(c: float) -> float:
        up = special.log_ndtr((a * u - b * c) / s)
        down = special.log_ndtr((-a * u - b * c) / s)
        return float(special.logsumexp(np.r_[log_mass + up, log_mass + down]))

    target = math.log(increment)
    if log_cross(0.0) <= target:
        raise ArgumentError("the alpha to spend exceeds the probability of reaching this look; "
                         "use a smaller alpha")
    hi = 4.0
    while log_cross(hi) > target:
        hi *= 2
        if hi > 1e3:
            return math.inf
    return optimize.brentq(lambda c: log_cross(c) - target, 0.0, hi, xtol=1e-12, rtol=1e-12)


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    try:
        t = np.asarray(list(fractions), dtype=float)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"information fractions must be numbers, got {fractions!r}") from None
    if t.ndim != 1 or len(t) == 0:
        raise ArgumentError("give at least one information fraction, e.g. [1/6, 2/6, 3/6]")
    if not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(t > 1):
        raise ArgumentError(f"information fractions must lie in (0, 1], got {list(t)}; cap a look "
                         "after the planned end at 1")
    if np.any(np.diff(t) <= 0):
        raise ArgumentError(f"information fractions must increase from look to look, got {list(t)}")
    return t


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ArgumentError(f"alpha={alpha!r} must be between 0 and 1 (e.g. 0.05)")
    return float(alpha)


def boundaries(information_fractions: Sequence[float], alpha: float = 0.05,
               spending: Spending = "obrien_fleming") -> SequentialPlan:
    """Two-sided critical values for looks at the given information fractions (increasing, in (0, 1]).

    Under the canonical joint distribution (corr(Z_j, Z_k) = sqrt(t_j / t_k)), the chance of
    |Z_j| >= z_j at some look j <= k is exactly ``alpha_spent(t_k)``; it is ``alpha`` when the
    last fraction is 1.

    Example (reproduces R rpact 3.3.4 ``getDesignGroupSequential(kMax = 5, alpha = 0.05,
    sided = 2, typeOfDesign = "asOF")``: 4.877, 3.357, 2.680, 2.290, 2.031):
        >>> [round(z, 3) for z in boundaries([0.2, 0.4, 0.6, 0.8, 1.0]).critical_z]
        [4.877, 3.357, 2.68, 2.29, 2.031]
    """
    spending = check_option("spending", spending, Spending)
    alpha = _check_alpha(alpha)
    t = _check_fractions(information_fractions)
    cum = np.atleast_1d(alpha_spent(t, alpha, spending))
    inc = np.diff(np.r_[0.0, cum])
    crit: list[float] = []
    log_mass = u = None
    for k in range(len(t)):
        if k == 0:
            c = float(stats.norm.isf(inc[0] / 2)) if inc[0] > 0 else math.inf
        else:
            a, b, s = math.sqrt(t[k - 1]), math.sqrt(t[k]), math.sqrt(t[k] - t[k - 1])
            c = _solve_boundary(log_mass, u, a, b, s, float(inc[k]))
        crit.append(c)
        if k == len(t) - 1:
            break
        # sub-density of Z_k on the continuation region |z| < c, on a grid fine enough for the
        # next increment's kernel (standard deviation sqrt((t_{k+1} - t_k) / t_k) in z_k)
        half = min(c, _Z_LIMIT)
        step = min(_MAX_STEP, math.sqrt((t[k + 1] - t[k]) / t[k]) / _PER_KERNEL_SD)
        z, w = _simpson(-half, half, step)
        if k == 0:
            log_f = stats.norm.logpdf(z)
        else:
            kern = stats.norm.logpdf((b * z[:, None] - a * u[None, :]) / s) + math.log(b / s)
            log_f = special.logsumexp(kern + log_mass[None, :], axis=1)
        log_mass, u = log_f + np.log(w), z
    crit_arr = np.array(crit)
    nominal = 2 * stats.norm.sf(crit_arr)
    return SequentialPlan(tuple(float(x) for x in t), alpha, spending, tuple(float(x) for x in crit_arr),
                          tuple(float(x) for x in nominal), tuple(float(x) for x in cum))


# --------------------------------------------------------------------------- one look
Stage = Literal["interim", "final", "after_plan"]


@dataclass(frozen=True)
class SequentialDecision:
    """What one look may say. ``crossed``: the result may be read as clear at this look.

    ``rci_level`` is the confidence level of the repeated confidence interval to show at this
    look (1 - ``nominal_alpha``; intervals at that level hold simultaneously over all looks with
    probability 1 - alpha). It is None after the plan's last look: no error budget remains,
    so the read is descriptive.
    """

    look: int
    n_looks: int | None
    stage: Stage
    information_fraction: float
    p_value: float
    critical_z: float
    nominal_alpha: float
    cumulative_alpha: float
    alpha: float
    spending: str
    crossed: bool
    rci_level: float | None
    words: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))

    def explain(self) -> str:
        """One plain sentence on what this look may conclude and why."""
        head = self.words[0].upper() + self.words[1:]
        if self.stage == "after_plan":
            return (f"{head}: the plan's error budget was spent by its last look, so this read is "
                    "descriptive and cannot make a result clear on its own.")
        looks = f"all {self.n_looks} looks" if self.n_looks else "all looks"
        rule = (f"{SPENDING_NAMES[self.spending]} boundaries keep the chance of a false \"clearly\" "
                f"across {looks} at {self.alpha:.0%}")
        if not self.nominal_alpha > 0:
            return f"{head}: too early for any result to be clear ({rule})."
        verdict = "it is, so the result is clear" if self.crossed else "it is not yet"
        return (f"{head}: a result is clear now only if its p-value is below "
                f"{_fmt_p(self.nominal_alpha)} ({rule}); {verdict} (p = {_fmt_p(self.p_value)}).")

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("look", "n_looks", "stage", "information_fraction",
                                             "p_value", "critical_z", "nominal_alpha",
                                             "cumulative_alpha", "alpha", "spending", "crossed",
                                             "rci_level", "words")}
        return _clean(out | {"explain": self.explain(), "details": dict(self.details)})


def _number(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) or np.isnan(value):
        raise ArgumentTypeError(f"{name}={value!r} must be a number")
    return float(value)


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _words(look: int, n_looks: int | None, stage: Stage, t: float) -> str:
    if stage == "after_plan":
        plan = f"; the plan had {n_looks}" if n_looks else ""
        return f"read after the planned end (look {look}{plan})"
    if n_looks is None:
        return f"{'final' if stage == 'final' else 'interim'} look {look} ({t:.0%} of the planned time)"
    if stage == "final":
        return f"final look ({look} of {n_looks})"
    return f"interim look {look} of {n_looks}"


def interim(look_fraction: float, previous_fractions: Sequence[float] = (), *,
            p_value: float | None = None, z: float | None = None, alpha: float = 0.05,
            spending: Spending = "obrien_fleming", look: int | None = None,
            n_looks: int | None = None) -> SequentialDecision:
    """Whether this look crosses its boundary, given this and the earlier looks' information fractions.

    Give the look's two-sided ``p_value`` (any method: randomization, bootstrap, conformal) or
    its ``z``; a p-value crosses when p <= the nominal level (for a continuous test the same as
    |z| >= critical z). ``look_fraction`` above 1 is capped at 1: the first look at or after the
    planned end spends what remains; a later one finds nothing left (stage ``"after_plan"``).
    ``look`` (default: number of earlier looks + 1) and ``n_looks`` (planned looks) only shape
    the words, e.g. "interim look 3 of 6".

    Example:
        >>> d = interim(3 / 6, [1 / 6, 2 / 6], p_value=0.0004, look=3, n_looks=6)
        >>> d.words, d.crossed, round(d.nominal_alpha, 4), round(d.rci_level, 4)
        ('interim look 3 of 6', True, 0.003, 0.997)
    """
    spending = check_option("spending", spending, Spending)
    alpha = _check_alpha(alpha)
    if (p_value is None) == (z is None):
        raise ArgumentError("give exactly one of p_value and z")
    if p_value is not None:
        p = _number(p_value, "p_value")
        if not 0 <= p <= 1:
            raise ArgumentError(f"p_value={p_value!r} must be between 0 and 1")
    else:
        p = float(2 * stats.norm.sf(abs(_number(z, "z"))))
    if not _number(look_fraction, "look_fraction") > 0:
        raise ArgumentError(f"look_fraction={look_fraction!r} must be positive")
    t = min(float(look_fraction), 1.0)
    prev = [min(float(f), 1.0) for f in previous_fractions]
    while len(prev) > 1 and prev[-1] == prev[-2] == 1.0:  # several reads after the planned end
        prev.pop()
    if prev:
        _check_fractions(prev)
    look = len(prev) + 1 if look is None else int(look)
    if n_looks is not None and (isinstance(n_looks, bool) or not isinstance(n_looks, (int, np.integer))
                                or n_looks < 1):
        raise ArgumentError(f"n_looks={n_looks!r} must be a whole number >= 1")
    common = {"look": look, "n_looks": n_looks, "information_fraction": t, "p_value": p,
              "alpha": alpha, "spending": spending}
    if prev and prev[-1] >= t:
        if t < 1:
            raise ArgumentError(f"this look's fraction {t:g} must be later than the previous looks' "
                             f"({prev[-1]:g}); list earlier looks in time order")
        return SequentialDecision(**common, stage="after_plan", critical_z=math.inf, nominal_alpha=0.0,
                                  cumulative_alpha=alpha, crossed=False, rci_level=None,
                                  words=_words(look, n_looks, "after_plan", t),
                                  details={"previous_fractions": prev})
    plan = boundaries([*prev, t], alpha, spending)
    nominal = plan.nominal_alpha[-1]
    stage: Stage = "final" if t >= 1 else "interim"
    return SequentialDecision(
        **common, stage=stage, critical_z=plan.critical_z[-1], nominal_alpha=nominal,
        cumulative_alpha=plan.cumulative_alpha[-1], crossed=bool(nominal > 0 and p <= nominal),
        rci_level=1 - nominal if nominal > 0 else None, words=_words(look, n_looks, stage, t),
        details={"previous_fractions": prev, "plan": plan.to_dict()},
    )


# --------------------------------------------------------------------------- calendar looks
@dataclass(frozen=True)
class LookSchedule:
    """Looks by calendar time: every read period from the pilot's start is a look.

    ``look`` is the read's period counted from the period holding the pilot start (1 = that
    period; 0 = the read ends before the pilot starts); ``n_looks`` the planned periods.
    ``fraction`` = min(look / n_looks, 1) and ``previous`` the fractions of looks 1..look-1.
    """

    look: int
    n_looks: int
    period: Literal["week", "month"]

    @property
    def fraction(self) -> float:
        return min(self.look / self.n_looks, 1.0)

    @property
    def previous(self) -> tuple[float, ...]:
        return tuple(min(j / self.n_looks, 1.0) for j in range(1, max(self.look, 1)))

    @property
    def started(self) -> bool:
        return self.look >= 1


def _as_date(value: Any, name: str) -> date:
    if isinstance(value, datetime):  # also a pandas Timestamp
        return value.date()
    if not isinstance(value, date):
        raise ArgumentTypeError(f"{name} must be a date, got {value!r}")
    return value


def _index(day: date, period: str) -> int:
    if period == "week":
        return (day - date(1970, 1, 5)).days // 7  # 1970-01-05 is a Monday: ISO weeks
    return day.year * 12 + day.month - 1


def look_schedule(pilot_start: date, cutoff: date, *, period: Literal["week", "month"] = "week",
                  planned_end: date | None = None, planned_weeks: int | None = None) -> LookSchedule:
    """Which look a read is and how many are planned, by calendar time.

    Periods are ISO weeks (Monday to Sunday) or calendar months; the period holding
    ``pilot_start`` is look 1 and the period holding ``cutoff`` (the read's last day) is this
    look. Planned looks: the periods from the start's period through ``planned_end``'s; with
    ``planned_weeks`` and weekly reads exactly that many weeks (a mid-week start's first week
    counts as week 1), with monthly reads the months up to ``pilot_start + 7 * planned_weeks - 1``
    days. Give exactly one of ``planned_end`` and ``planned_weeks``.

    Example:
        >>> s = look_schedule(date(2026, 9, 1), date(2026, 9, 20), planned_weeks=6)
        >>> s.look, s.n_looks, s.previous
        (3, 6, (0.16666666666666666, 0.3333333333333333))
    """
    check_option("period", period, Literal["week", "month"])
    pilot_start, cutoff = _as_date(pilot_start, "pilot_start"), _as_date(cutoff, "cutoff")
    if (planned_end is None) == (planned_weeks is None):
        raise ArgumentError("give exactly one of planned_end and planned_weeks")
    if planned_weeks is not None:
        if isinstance(planned_weeks, bool) or not isinstance(planned_weeks, int) or planned_weeks < 1:
            raise ArgumentError(f"planned_weeks={planned_weeks!r} must be a whole number >= 1")
        if period == "week":
            n_looks = planned_weeks
        else:
            planned_end = pilot_start + timedelta(days=7 * planned_weeks - 1)
    if planned_end is not None:
        planned_end = _as_date(planned_end, "planned_end")
        if planned_end < pilot_start:
            raise ArgumentError(f"planned_end {planned_end} is before the pilot start {pilot_start}")
        n_looks = _index(planned_end, period) - _index(pilot_start, period) + 1
    look = max(_index(cutoff, period) - _index(pilot_start, period) + 1, 0)
    return LookSchedule(look, n_looks, period)
