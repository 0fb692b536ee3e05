"""Conformal inference for a pilot of one or two teams: time, not teams, is the replication.

Chernozhukov, V., Wüthrich, K. and Zhu, Y. (2021), "An exact and robust conformal inference
method for counterfactual and synthetic controls", JASA 116(536), 1849-1864. Under the null
"the effect is theta in every post-start period", the pilot's post-start values are shifted by
theta, the counterfactual is fitted on ALL periods, and the post-start residuals are compared
with the residuals of every other block of as many periods (circular shifts) or of random
subsets of periods (iid permutations). The interval collects every theta not rejected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from peereval.errors import ArgumentError, EstimationError

from .options import (
    ConformalPermutation,
    ConformalStatistic,
    ConformalWeighting,
    check_level,
    check_option,
)
from .result import EffectResult
from .twfe import numeric_column, require_columns
from .validate import binary, integer, number

# Fewest pre-start periods accepted (benchmarks/coverage_conformal.py: with 14 weekly pre periods
# and persistent shocks, AR(1) 0.8, coverage was 92.2%; from 20 on it stayed inside 93-97%).
MIN_PRE_PERIODS = 20
MIN_CONTROL_COVERAGE = 0.9  # a control team observed in fewer of the periods is left out
_DENSE = np.arange(1, 51) * 0.2  # grid offsets for the inversion, in units of a rough SE
_FAR = 10.0 * 2.0 ** np.arange(1, 31)


@dataclass
class _Panel:
    """The pilot's average series and the control teams' series on the periods used."""

    pilot: np.ndarray  # T
    controls: np.ndarray  # T x J
    post: np.ndarray  # T bool, a suffix
    periods: list
    control_names: list
    pilot_names: list
    n_obs: int
    left_out: dict = field(default_factory=dict)

    @property
    def n_pre(self) -> int:
        return int((~self.post).sum())

    @property
    def n_post(self) -> int:
        return int(self.post.sum())


def _show(value) -> str:
    """A team or period as the user wrote it (numpy scalars as plain Python values)."""
    value = value.item() if hasattr(value, "item") else value
    return repr(value) if isinstance(value, str) else str(value)


def _plain(values) -> list:
    """Labels as plain JSON-friendly values: ints, floats and text kept, anything else (dates) as text."""
    return [v if isinstance(v, (int, float, str)) else str(v) for v in pd.Index(values).tolist()]


def _cells(df: pd.DataFrame, outcome: str, unit: str, time: str, treated: str, weights: str | None):
    """Team x period matrices: weighted mean outcome, treated (NaN where no row), weight and row count."""
    require_columns(df, {"outcome": outcome, "unit": unit, "time": time, "treated": treated,
                         "weights": weights})
    y = numeric_column(df, outcome, "outcome")
    d = binary(df[treated], "treated", "1 for a pilot team from its start on")
    w = np.ones(len(df)) if weights is None else numeric_column(df, weights, "weights")
    if (w < 0).any() or not (w > 0).any():
        raise ArgumentError(f"column {weights!r} (weights) must be non-negative and not all zero")
    keep = w > 0
    ucode, units = pd.factorize(df[unit].to_numpy()[keep], sort=True)
    tcode, periods = pd.factorize(df[time].to_numpy()[keep], sort=True)
    shape = (len(units), len(periods))
    cell = ucode * shape[1] + tcode

    def total(values=None):
        return np.bincount(cell, weights=values, minlength=shape[0] * shape[1]).reshape(shape)

    rows, wsum, wy, dsum = total(), total(w[keep]), total((w * y)[keep]), total(d[keep])
    mixed = (dsum > 0) & (dsum < rows)
    if mixed.any():
        i, j = np.argwhere(mixed)[0]
        raise EstimationError(
            f"column {treated!r} (treated) varies inside {int(mixed.sum())} team-period(s), e.g. {unit}="
            f"{_show(units[i])} at {time}={_show(periods[j])}; conformal_did compares whole periods, so leave out a "
            "pilot team's start period when it mixes rows from before and after the start")
    has = rows > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ymat = np.where(has, wy / wsum, np.nan)
    dmat = np.where(has, (dsum > 0).astype(float), np.nan)
    return _plain(units), _plain(periods), ymat, dmat, wsum, rows, int((~keep).sum())


def _no_post(time: str, pilots: list) -> EstimationError:
    return EstimationError(
        f"no {time} after the start of every pilot team ({', '.join(map(_show, pilots))}) has data for the pilot and "
        "the control teams yet; conformal_did needs at least one period after the start")


def _panel(df, outcome, unit, time, treated, weights) -> _Panel:
    units, periods, ymat, dmat, wsum, rows, n_zero = _cells(df, outcome, unit, time, treated, weights)
    ever = np.nanmax(dmat, axis=1) == 1
    if not ever.any():
        raise EstimationError(f"no team has {treated}=1: there is no pilot period to estimate an effect for yet "
                              "(a pilot team with no rows since its start looks like a control team)")
    if ever.all():
        raise EstimationError("every team is in the pilot; conformal_did compares the pilot with teams that never "
                              "start, so keep at least one control team in the data")
    pil, ctl = np.flatnonzero(ever), np.flatnonzero(~ever)
    names = [units[i] for i in pil]
    for i in pil:
        seen = np.flatnonzero(~np.isnan(dmat[i]))
        down = np.flatnonzero(np.diff(dmat[i, seen]) < 0)
        if down.size:
            raise EstimationError(
                f"pilot team {_show(units[i])} has {treated}=1 and then 0 again at {time}="
                f"{_show(periods[seen[down[0] + 1]])}; conformal_did assumes the pilot, once started, stays on: code "
                "the team as treated from its start on (intention to treat) or leave out its periods after it stopped")
    dp = dmat[pil]
    all_on, all_off = (dp == 1).all(axis=0), (dp == 0).all(axis=0)  # NaN (missing) counts as neither
    seen = ~np.isnan(dp).any(axis=0)
    usable = all_on | all_off
    if not all_on.any():
        raise _no_post(time, names)
    left: dict[str, list] = {}
    if (seen & ~usable).any():
        left["only some pilot teams had started"] = [periods[j] for j in np.flatnonzero(seen & ~usable)]
    if (~seen).any():
        left["a pilot team has no data"] = [periods[j] for j in np.flatnonzero(~seen)]
    share = (~np.isnan(ymat[np.ix_(ctl, usable)])).mean(axis=1)
    sparse, ctl = ctl[share < MIN_CONTROL_COVERAGE], ctl[share >= MIN_CONTROL_COVERAGE]
    if ctl.size == 0:
        raise EstimationError(
            f"no control team has data in at least {MIN_CONTROL_COVERAGE:.0%} of the periods; conformal_did needs "
            "control teams observed (almost) every period to follow the counterfactual")
    gaps = usable & np.isnan(ymat[ctl]).any(axis=0)
    if gaps.any():
        left["a control team has no data"] = [periods[j] for j in np.flatnonzero(gaps)]
    cols = np.flatnonzero(usable & ~gaps)
    tw = wsum[np.ix_(pil, cols)].sum(axis=1)
    pilot = tw @ ymat[np.ix_(pil, cols)] / tw.sum()
    used = int(rows[np.ix_(np.r_[pil, ctl], cols)].sum())
    rows_left = {"weight 0": n_zero} if n_zero else {}
    if sparse.size:
        rows_left["control team observed too rarely"] = int(rows[sparse].sum())
    others = int(rows.sum()) - used - int(rows[sparse].sum())
    if others:
        rows_left["period left out"] = others
    info = {"periods_left_out": left, "controls_left_out": [units[i] for i in sparse], "rows_left_out": rows_left}
    return _Panel(pilot, ymat[np.ix_(ctl, cols)].T, all_on[cols], [periods[j] for j in cols],
                  [units[i] for i in ctl], names, used, info)


def _simplex_ls(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ||y - x w|| over w >= 0, sum(w) = 1 (NNLS with a heavy sum row, then exact on the support)."""
    j = x.shape[1]
    big = 1e4 * (np.linalg.norm(x) + np.linalg.norm(y) + 1e-12)
    w, _ = nnls(np.vstack([x, np.full(j, big)]), np.append(y, big), maxiter=50 * j)
    w = w / w.sum() if w.sum() > 0 else np.full(j, 1.0 / j)
    s = w > 1e-12
    k = int(s.sum())
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k], kkt[:k, k], kkt[k, :k] = x[:, s].T @ x[:, s], 1.0, 1.0
    try:
        sol = np.linalg.solve(kkt, np.append(x[:, s].T @ y, 1.0))
    except np.linalg.LinAlgError:
        return w
    if (sol[:k] >= 0).all():
        w = np.zeros(j)
        w[s] = sol[:k]
    return w


class _Model:
    """Residuals under H0: effect = theta, with the counterfactual fitted on all periods."""

    def __init__(self, p: _Panel, weighting: str):
        self.p, self.weighting = p, weighting
        self.x = p.controls - p.controls.mean(axis=0)
        self.d = p.post.astype(float)

    def residuals(self, theta: float) -> np.ndarray:
        y = self.p.pilot - theta * self.d
        y = y - y.mean()
        if self.weighting == "equal":
            return y - self.x.mean(axis=1)
        return y - self.x @ _simplex_ls(self.x, y)

    def estimate(self) -> tuple[float, np.ndarray]:
        """Point estimate and control weights, fitted on the pre-start periods only."""
        pre, post, c = ~self.p.post, self.p.post, self.p.controls
        j = c.shape[1]
        if self.weighting == "equal":
            w = np.full(j, 1.0 / j)
        else:
            xp = c[pre] - c[pre].mean(axis=0)
            w = _simplex_ls(xp, self.p.pilot[pre] - self.p.pilot[pre].mean())
        gap = self.p.pilot - c @ w
        return float(gap[post].mean() - gap[pre].mean()), w


def _windows(p: _Panel, permutation: str, n_perm: int, seed: int) -> np.ndarray:
    """Index matrix (K x T_post) of the post positions' images; row 0 is the observed one."""
    t, post = len(p.post), np.flatnonzero(p.post)
    if permutation == "moving_block":
        return (post[None, :] + np.arange(t)[:, None]) % t
    rng = np.random.default_rng(seed)
    draws = np.argsort(rng.random((n_perm, t)), axis=1)[:, : len(post)]
    return np.vstack([post, draws])


def _pfun(model: _Model, win: np.ndarray, statistic: str):
    root = math.sqrt(win.shape[1])

    def pfun(theta: float) -> float:
        u = model.residuals(theta)[win]
        s = np.abs(u.sum(axis=1)) / root if statistic == "mean" else np.abs(u).sum(axis=1) / root
        return float(np.mean(s >= s[0] * (1 - 1e-9) - 1e-300))

    return pfun


def _invert(pfun, center: float, scale: float, alpha: float) -> tuple[float, float, str]:
    """Hull of {theta: p(theta) > alpha} on a grid (0.2 rough SEs to 10, then doubling), ends bisected."""
    offsets = np.concatenate([_FAR[::-1], _DENSE[::-1]])
    pts = np.concatenate([center - scale * offsets, [center], center + scale * offsets[::-1]])
    acc = np.array([pfun(x) > alpha for x in pts])
    if acc[0] or acc[-1]:
        return math.nan, math.nan, "unbounded"
    if not acc.any():
        return math.nan, math.nan, "empty"
    i, k = int(np.argmax(acc)), len(acc) - 1 - int(np.argmax(acc[::-1]))
    return _bisect(pfun, pts[i], pts[i - 1], alpha, scale), _bisect(pfun, pts[k], pts[k + 1], alpha, scale), "ok"


def _bisect(pfun, inside: float, outside: float, alpha: float, scale: float) -> float:
    for _ in range(200):
        if abs(outside - inside) <= 1e-7 * scale:
            break
        mid = 0.5 * (inside + outside)
        if pfun(mid) > alpha:
            inside = mid
        else:
            outside = mid
    return 0.5 * (inside + outside)


def _prepare(df, outcome, unit, time, treated, weights, permutation, weighting, statistic,
             n_perm, seed, min_pre_periods):
    permutation = check_option("method", permutation, ConformalPermutation)
    weighting = check_option("weighting", weighting, ConformalWeighting)
    statistic = check_option("statistic", statistic, ConformalStatistic)
    n_perm = integer(n_perm, "n_perm", minimum=99, hint=" (999 or more is better)")
    seed = integer(seed, "seed")
    min_pre_periods = integer(min_pre_periods, "min_pre_periods", minimum=2)
    p = _panel(df, outcome, unit, time, treated, weights)
    if p.n_post == 0:
        raise _no_post(time, p.pilot_names)
    if p.n_pre < min_pre_periods:
        raise EstimationError(
            f"only {p.n_pre} {time}(s) before {'the first pilot team' if len(p.pilot_names) > 1 else 'the pilot'}'s "
            f"start; conformal_did needs at least {min_pre_periods} "
            f"(coverage was checked from {MIN_PRE_PERIODS} on, weekly and monthly): add earlier history "
            "or use did() with more pilot teams")
    if p.n_pre <= p.n_post:
        raise EstimationError(
            f"{p.n_post} {time}s after the start but only {p.n_pre} before; conformal_did compares the "
            f"post-start stretch with stretches of the same length and needs more periods before the start than "
            f"after: add earlier history or analyse the first {p.n_pre - 1} post-start periods")
    model = _Model(p, weighting)
    gap = p.pilot - p.controls.mean(axis=1)
    sd = float(np.std(gap[~p.post], ddof=1))
    if not sd > 1e-12 * max(1.0, float(np.abs(gap).max())):
        raise EstimationError(
            f"column {outcome!r} (outcome): the pilot's series moves exactly with the control teams' mean before "
            "the start, so there is no variation to measure uncertainty from; check the outcome column")
    scale = sd * math.sqrt(1 / p.n_pre + 1 / p.n_post)
    win = _windows(p, permutation, n_perm, seed)
    return p, model, _pfun(model, win, statistic), len(win), scale


def conformal_pvalue(df: pd.DataFrame, *, effect: float, outcome: str, unit: str, time: str, treated: str,
                     weights: str | None = None, method: ConformalPermutation = "moving_block",
                     weighting: ConformalWeighting = "equal", statistic: ConformalStatistic = "mean",
                     n_perm: int = 999, seed: int = 0, min_pre_periods: int = MIN_PRE_PERIODS) -> float:
    """p-value of the conformal test of H0 'the effect is ``effect`` in every post-start period'.

    Same arguments and assumptions as :func:`conformal_did`.
    """
    _, _, pfun, _, _ = _prepare(df, outcome, unit, time, treated, weights, method, weighting, statistic,
                                n_perm, seed, min_pre_periods)
    return pfun(number(effect, "effect"))


def conformal_did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    weights: str | None = None,
    conf_level: float = 0.95,
    method: ConformalPermutation = "moving_block",
    weighting: ConformalWeighting = "equal",
    statistic: ConformalStatistic = "mean",
    n_perm: int = 999,
    seed: int = 0,
    min_pre_periods: int = MIN_PRE_PERIODS,
) -> EffectResult:
    """Effect of a pilot of one or a few teams, with a conformal interval over time (CWZ 2021).

    Estimand: the average post-start change of the pilot's ``outcome`` relative to its
    counterfactual, assumed constant over the post periods. Assumptions: without the pilot the
    pilot-minus-counterfactual gap would be stationary and weakly dependent over time (no trend
    or break of its own at the start; team and common period effects cancel) and there is no
    anticipation. ``df`` is a team-period panel, or rows (e.g. tickets) that are averaged into
    team-period cells with ``weights``; ``treated`` is 1 for a pilot team from its start on and
    stays on. With several pilot teams their series are averaged with fixed weights (each team's
    total weight); periods in which only some have started are left out.

    ``weighting``: ``"equal"`` compares with the mean of the control teams plus a constant (the
    DiD model of CWZ); ``"synthetic"`` with non-negative control weights summing to one plus a
    constant (demeaned synthetic control), refitted under every null. ``method``:
    ``"moving_block"`` compares the post block with all circular shifts (robust to serial
    dependence; smallest p-value 1/T); ``"iid"`` with ``n_perm`` seeded random permutations
    (exact only for exchangeable errors; 84-90% coverage with persistent shocks). ``statistic``:
    ``"mean"`` |sum of post residuals|/sqrt(T1), or ``"s1"`` (CWZ's S_q, q=1: sum of |residuals|
    /sqrt(T1)). The defaults won in ``benchmarks/coverage_conformal.py`` (93.6-97.1% coverage with
    one or two pilot teams and >= 20 pre periods; synthetic weights and S_1 only widened it).
    The interval is the hull of the non-rejected effects; NaN (with the reason in ``method``)
    when the smallest attainable p-value exceeds 1 - conf_level or the set is unbounded or empty.
    ``std_error`` is NaN: the method gives a p-value and an interval, not a standard error.

    Example:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(2)
        >>> panel = pd.DataFrame([(u, t) for u in range(12) for t in range(60)], columns=["team", "week"])
        >>> panel["treated"] = ((panel.team == 0) & (panel.week >= 52)).astype(int)
        >>> panel["y"] = 0.1 * panel.team + 0.01 * panel.week - 0.5 * panel.treated + rng.normal(0, 0.2, len(panel))
        >>> res = conformal_did(panel, outcome="y", unit="team", time="week", treated="treated")
        >>> round(res.estimate, 2), res.has_interval, bool(res.ci_high < 0)
        (-0.42, True, True)
    """
    conf_level = check_level(conf_level)
    alpha = 1 - conf_level
    p, model, pfun, n_win, scale = _prepare(df, outcome, unit, time, treated, weights, method, weighting,
                                            statistic, n_perm, seed, min_pre_periods)
    est, w = model.estimate()
    t, j = len(p.post), p.controls.shape[1]
    min_p = 1.0 / n_win
    who = (f"pilot team {p.pilot_names[0]}" if len(p.pilot_names) == 1 else
           f"the {len(p.pilot_names)} pilot teams' average (weighted by their total weight)")
    fit = (f"the mean of {j} control teams plus a constant" if weighting == "equal" else
           f"a synthetic control: non-negative weights on {j} control teams summing to one, plus a constant, "
           "refitted under each hypothesised effect")
    perm = (f"every circular shift of the residuals ({t} moving blocks)" if method == "moving_block" else
            f"{n_win - 1} random permutations of the {t} periods (seed {seed}; assumes exchangeable errors, so it is too narrow when shocks persist over periods)")
    stat = ("the absolute sum of the post-start residuals" if statistic == "mean" else
            "the sum of absolute post-start residuals (S_1)")
    text = (f"Conformal inference over time (Chernozhukov, Wüthrich & Zhu 2021) on {who}: under each "
            f"hypothesised constant effect the {p.n_post} post-start {time} values are shifted, the counterfactual "
            f"({fit}) is fitted on all {t} periods ({p.n_pre} before the start), and {stat} is compared with "
            f"{perm}; the interval inverts these tests. Assumes that without the pilot the gap to the "
            "counterfactual would have stayed stationary and weakly dependent over time (no trend or break of its "
            "own), no anticipation, and an effect constant over the post-start periods.")
    left = {k: v for k, v in p.left_out["periods_left_out"].items() if v}
    if left or p.left_out["controls_left_out"]:
        parts = [f"{len(v)} {time}(s) because {k}" for k, v in left.items()]
        if p.left_out["controls_left_out"]:
            parts.append(f"control team(s) {', '.join(map(str, p.left_out['controls_left_out']))} observed in "
                         f"fewer than {MIN_CONTROL_COVERAGE:.0%} of the periods")
        text += f" Left out: {'; '.join(parts)}."
    details = {"inference": "conformal", "n_pre_periods": p.n_pre, "n_post_periods": p.n_post, "n_periods": t, "n_control_teams": j,
               "n_pilot_teams": len(p.pilot_names), "pilot_teams": p.pilot_names, "permutation": method,
               "weighting": weighting, "statistic": statistic, "n_permutations": n_win, "min_p_value": min_p,
               "first_post_period": p.periods[int(np.argmax(p.post))], "rough_scale": scale,
               "control_weights": {str(k): float(v) for k, v in zip(p.control_names, w, strict=True)}} | p.left_out
    p0 = pfun(0.0)
    if min_p > alpha:
        need = math.ceil(1 / alpha - 1e-9)
        text += (f" No {conf_level:.0%} interval is reported: with {t} periods the smallest attainable p-value is "
                 f"{min_p:.3g}, so no effect size can be ruled out at this level; {need} periods (before plus "
                 "after the start) are needed.")
        return EffectResult(est, math.nan, math.nan, math.nan, p0, text, p.n_obs, conf_level, treated,
                            details | {"interval": "min_p"})
    lo, hi, status = _invert(pfun, est, scale, alpha)
    if status == "unbounded":
        text += f" The {conf_level:.0%} confidence set is unbounded, so no interval is reported."
    elif status == "empty":
        text += (f" No constant effect is consistent with the data at the {conf_level:.0%} level (the gap changes "
                 "too much over the post-start periods), so no interval is reported.")
    return EffectResult(est, math.nan, lo, hi, p0, text, p.n_obs, conf_level, treated, details | {"interval": status})
