"""Two-way fixed-effects difference-in-differences with inference that holds with few teams.

The fixed effects are absorbed by demeaning (closed form on balanced panels, alternating
projections otherwise), never with dummy matrices, so the estimator scales to millions of rows.
After Frisch-Waugh-Lovell the treatment is a single regressor; the wild bootstrap and the
randomization test work with cluster-level sums and never refit the model per draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from peereval.errors import EstimationError

from .cross import ClusterCross
from .multiway import did_multiway
from .options import Inference, WeightType, WildWeights, check_level, check_option
from .resampling import _assignments, _invert
from .result import EffectResult
from .twfe import DidFit, fit_twfe
from .validate import integer

EXACT_RI_LIMIT = 20_000

# The auto rule (justified by benchmarks/coverage_did.py and coverage_did_cr1.py, see did()).
AUTO_MIN_ARM_FOR_BOOTSTRAP = 8  # fewer treated (or control) clusters than this -> RI, else wild
# CR1 is never chosen automatically: with 50-60 clusters it covered 87-93% in
# benchmarks/coverage_did_cr1.py (1,000 replications), the wild bootstrap 94-96%.


# --------------------------------------------------------------------------- inference
def _wild_draws(n_clusters: int, kind: str, n_boot: int, seed: int) -> tuple[np.ndarray, bool]:
    if kind == "rademacher" and 2**n_clusters <= n_boot:
        grid = (np.arange(2**n_clusters)[:, None] >> np.arange(n_clusters)[None, :]) & 1
        return (2.0 * grid - 1.0).T, True
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        v = rng.choice(np.array([-1.0, 1.0]), size=(n_clusters, n_boot))
    else:
        webb = np.sqrt(np.array([0.5, 1.0, 1.5]))
        v = rng.choice(np.concatenate([-webb, webb]), size=(n_clusters, n_boot))
    return v, False


def wild_pvalue_function(fit: DidFit, kind: str, n_boot: int, seed: int):
    """p(b0) of the restricted wild cluster bootstrap-t test of H0: effect = b0."""
    g = fit.n_clusters
    cross = ClusterCross(fit)  # cy[c, c'] = (1_c d)' W M (1_c' y): cluster c's draw moves c' scores
    cy, cd = cross.cross(fit.d, fit.y), cross.cross(fit.d, fit.d)
    b = fit.cluster_sum(fit.w * fit.d * fit.d)
    v, exact = _wild_draws(g, kind, n_boot, seed)
    se = fit.cr1_se
    # everything is linear in b0: precompute the G x B pieces once
    cyv, cdv = cy @ v, cd @ v
    nyv, ndv = cy.sum(axis=0) @ v, cd.sum(axis=0) @ v

    def pfun(b0: float) -> float:
        num = nyv - b0 * ndv
        scores = np.multiply(cdv, b0)  # cyv - b0 cdv - b (num / s_dd)', in place: G x B temporaries are large
        np.subtract(cyv, scores, out=scores)
        scores -= np.outer(b, num / fit.s_dd)
        den = np.sqrt(fit.ssc * np.einsum("gb,gb->b", scores, scores))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.where(den > 0, num / den, 0.0)
        t_obs = (fit.beta - b0) / se
        return float(np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-10) - 1e-300))

    return pfun, v.shape[1], exact


class _RIObstacle(EstimationError):
    """Randomization inference's requirement does not hold; ``short`` says why in a clause."""

    def __init__(self, short: str, fix: str):
        self.short = short
        super().__init__(f"randomization inference is not possible: {short}; {fix}")


def _cluster_paths(fit: DidFit) -> np.ndarray:
    """Cluster x period treatment paths (completed for staggered adoption), for permutation.

    Raises ``_RIObstacle`` (an EstimationError) when the paths cannot be permuted.
    """
    g, t = fit.n_clusters, fit.fe.n_time
    cell = fit.cluster * t + fit.fe.time
    cnt = np.bincount(cell, minlength=g * t).reshape(g, t)
    tot = np.bincount(cell, weights=fit.treated, minlength=g * t).reshape(g, t)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = tot / cnt
    mixed = (cnt > 0) & (share > 0) & (share < 1)
    if np.any(mixed):
        raise _RIObstacle(
            f"it permutes treatment paths across clusters, so 'treated' must be the same for "
            f"every row of a cluster in a period, and it varies in {int(mixed.sum())} "
            "cluster-period(s)",
            "cluster by the unit whose start defines 'treated', or use inference='wild' "
            "(inference='auto' then chooses it)",
        )
    if (cnt > 0).all():
        return share
    observed = pd.DataFrame(np.where(cnt > 0, share, np.nan))
    filled = observed.bfill(axis=1).ffill(axis=1).to_numpy()
    if np.any(np.diff(filled, axis=1) < 0):
        raise _RIObstacle(
            "some clusters are missing periods and their treatment stops, so their treatment "
            "paths cannot be completed for permutation",
            "use inference='wild' (inference='auto' then chooses it) or fill the missing "
            "cluster-periods",
        )
    return filled


def ri_pvalue_function(fit: DidFit, n_draws: int, seed: int, limit: int = EXACT_RI_LIMIT):
    """p(tau0) of the randomization test of the sharp null 'effect = tau0 for everyone'."""
    paths = _cluster_paths(fit)
    uniq, types = np.unique(paths, axis=0, return_inverse=True)
    types = types.ravel()
    n_types, g = len(uniq), fit.n_clusters
    path_vals = uniq[:, fit.fe.time]  # (K, n): path k evaluated at each row's period
    a = np.stack([fit.cluster_sum(fit.w * path_vals[k] * fit.y) for k in range(n_types)], 1)
    b = np.stack([fit.cluster_sum(fit.w * path_vals[k] * fit.d) for k in range(n_types)], 1)
    q = np.zeros((g * n_types, g * n_types))  # q[(c,k),(c',k')] = <1_c path_k, M 1_c' path_k'>
    cross = ClusterCross(fit)
    paths = [np.ascontiguousarray(path_vals[k], dtype=float) for k in range(n_types)]
    for kk in range(n_types):
        for k in range(n_types):
            q[k::n_types, kk::n_types] = cross.cross(paths[k], paths[kk])
    assign, exact, total = _assignments(types, n_types, limit, n_draws, seed)
    idx = np.arange(g)[None, :] * n_types + assign
    num_y = a[np.arange(g)[None, :], assign].sum(1)
    num_d = b[np.arange(g)[None, :], assign].sum(1)
    den = np.empty(len(assign))
    step = max(1, 20_000_000 // (g * g))
    for s in range(0, len(assign), step):
        part = idx[s : s + step]
        den[s : s + step] = q[part[:, :, None], part[:, None, :]].sum((1, 2))
    ok = den > 1e-12 * fit.s_dd

    def pfun(tau0: float) -> float:
        stat = np.zeros(len(den))
        stat[ok] = (num_y[ok] - tau0 * num_d[ok]) / den[ok]
        extreme = np.abs(stat) >= abs(fit.beta - tau0) * (1 - 1e-10) - 1e-300
        if exact:
            return float(np.mean(extreme))
        return float((1 + extreme.sum()) / (1 + len(stat)))

    return pfun, len(assign), exact, total


# --------------------------------------------------------------------------- public API
def did(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    cluster: str | Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    inference: Inference = "auto",
    weights: str | None = None,
    conf_level: float = 0.95,
    wild_weights: WildWeights = "rademacher",
    n_boot: int = 999,
    seed: int = 0,
    weight_type: WeightType = "analytic",
) -> EffectResult:
    """Two-way fixed-effects difference-in-differences estimate of the pilot's effect.

    Estimand: the coefficient on ``treated`` (1 for pilot units from their start on) in a
    regression with unit and period fixed effects; it is the average effect on the treated
    under parallel trends, no anticipation and an effect that does not change over time or
    across start waves (use ``staggered_did`` when starts are staggered and effects may vary).

    ``inference``: ``"cluster"`` (CR1, fixest small-sample factor, t(G-1)), ``"wild"``
    (restricted wild cluster bootstrap-t, interval by test inversion), ``"randomization"``
    (permutes the clusters' treatment paths; exact when there are at most 20,000
    assignments; assumes the pilot clusters were as good as randomly chosen) or ``"auto"``:
    randomization inference when fewer than 8 clusters are treated (or untreated), the wild
    bootstrap otherwise, however many clusters there are (rule chosen from the Monte Carlo in
    ``benchmarks/coverage_did.py`` and ``coverage_did_cr1.py``: CR1 covered only 87-93% with
    8-20 of 50-60 pilot teams and persistent team-month shocks). When randomization inference's requirement
    does not hold (``treated`` varies inside a cluster in a period, or clusters miss periods and
    their treatment stops), ``"auto"`` falls back to the wild bootstrap and says why in
    ``method``; an explicit ``"randomization"`` then raises EstimationError. With the wild
    bootstrap and randomization inference ``std_error`` is NaN (they give a p-value and an
    interval, not a standard error; ``details["cr1_std_error"]`` keeps the CR1 value).

    ``weight_type="frequency"``: each row of ``df`` stands for ``weights`` identical rows (a
    cell's count, with the cell's mean outcome), so N is the sum of the weights; when every
    regressor is constant within the cells this gives exactly the row-level estimate, CR1 error,
    wild bootstrap and randomization p-values (``"analytic"``, the default, counts rows of ``df``).

    Rows with weight 0 are dropped before fitting (``n_obs`` counts the rows used,
    ``details["n_zero_weight_rows"]`` the dropped ones). A constant outcome, or one the fixed
    effects fit exactly, raises EstimationError: there is no variation to estimate from.

    Example:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> panel = pd.DataFrame([(u, t) for u in range(12) for t in range(24)], columns=["team", "month"])
        >>> panel["treated"] = ((panel.team < 4) & (panel.month >= 12)).astype(int)
        >>> panel["days"] = 10 + 0.1 * panel.month - 2 * panel.treated + rng.normal(size=len(panel))
        >>> res = did(panel, outcome="days", unit="team", time="month", treated="treated")
        >>> round(res.estimate, 1), res.details["inference"]
        (-2.1, 'randomization')
    """
    inference = check_option("inference", inference, Inference)
    wild_weights = check_option("wild_weights", wild_weights, WildWeights)
    conf_level = check_level(conf_level)
    n_boot = integer(n_boot, "n_boot", minimum=99, hint=" (999 or more is better)")
    seed = integer(seed, "seed", minimum=0)
    weight_type = check_option("weight_type", weight_type, WeightType)
    if weight_type == "frequency" and weights is None:
        from peereval.errors import ArgumentError

        raise ArgumentError("weight_type='frequency' needs weights=, the column of counts")
    fit = fit_twfe(
        df, outcome=outcome, unit=unit, time=time, treated=treated, cluster=cluster,
        covariates=covariates, weights=weights, weight_type=weight_type,
    )
    alpha = 1 - conf_level
    if len(fit.cluster_names) > 1:
        return did_multiway(fit, inference, treated, conf_level)
    cname = fit.cluster_names[0] if fit.cluster_names else unit
    g = fit.n_clusters
    ever = np.bincount(fit.cluster, weights=fit.treated, minlength=g) > 0
    g1 = int(ever.sum())
    g0 = g - g1
    reason = ""
    chosen = inference
    if inference == "auto":
        chosen, reason = _auto_rule(g, g1, g0, cname)
        if chosen == "randomization":
            try:
                _cluster_paths(fit)
            except _RIObstacle as exc:
                chosen, reason = _auto_fallback(g, g1, g0, cname, exc.short)
    se = fit.cr1_se
    if not se > 0:
        raise EstimationError(
            f"the cluster-robust variance is zero: the residuals sum to zero within every "
            f"{cname} cluster; cluster by a coarser grouping or check the outcome column"
        )
    n_obs = fit.n_obs
    base = {
        "n_clusters": g,
        "n_treated_clusters": g1,
        "n_units": fit.fe.n_unit,
        "n_periods": fit.fe.n_time,
        "cluster": cname,
        "inference": chosen,
        "inference_requested": inference,
        "dof_k": fit.n_params,
        "small_sample_factor": fit.ssc,
        "cr1_std_error": se,
        "n_zero_weight_rows": fit.n_zero_weight,
        "covariate_terms": list(fit.covariates.terms),
        "reference_levels": dict(fit.covariates.reference_levels),
        "dropped_levels": list(fit.covariates.dropped),
    }
    note = f" {fit.covariates.note}" if fit.covariates.note else ""
    est = "Two-way fixed-effects difference-in-differences (unit and period fixed effects)"
    if chosen == "cluster":
        df_t = g - 1
        tstat = fit.beta / se
        crit = stats.t.ppf(1 - alpha / 2, df_t)
        method = (
            f"{est} with cluster-robust (CR1) standard errors by {cname} and a t({df_t}) "
            f"reference distribution{reason}.{note}"
        )
        return EffectResult(
            fit.beta, se, fit.beta - crit * se, fit.beta + crit * se,
            float(2 * stats.t.sf(abs(tstat), df_t)), method, n_obs, conf_level, treated,
            base | {"df": df_t, "t_stat": tstat},
        )
    if chosen == "wild":
        pfun, n_draws, exact = wild_pvalue_function(fit, wild_weights, int(n_boot), seed)
        min_p = 2.0 / n_draws if (exact and wild_weights == "rademacher") else 1.0 / n_draws
        draws = f"all {n_draws} sign vectors" if exact else f"{n_draws} {wild_weights.capitalize()} draws"
        method = (
            f"{est} with a restricted (null-imposed) wild cluster bootstrap-t by {cname} "
            f"({draws}); p-value and interval by test inversion{reason}.{note}"
        )
        info = base | {"n_boot": n_draws, "exact": exact, "wild_weights": wild_weights}
    else:
        pfun, n_draws, exact, total = ri_pvalue_function(fit, int(n_boot), seed)
        min_p = 1.0 / n_draws if exact else 1.0 / (n_draws + 1)
        how = f"all {total} possible assignments" if exact else f"{n_draws} random assignments of {total}"
        method = (
            f"{est} with randomization inference over which {cname} clusters were treated ({how}); "
            f"interval by inverting tests of a constant effect{reason}.{note}"
        )
        info = base | {"n_draws": n_draws, "exact": exact, "n_assignments": total}
    p0 = pfun(0.0)
    if min_p > alpha:
        method += (
            f" No {conf_level:.0%} interval is reported: with this design the smallest "
            f"attainable p-value is {min_p:.3g}, so no effect size can ever be ruled out at "
            f"this level."
        )
        return EffectResult(fit.beta, math.nan, math.nan, math.nan, p0, method, n_obs, conf_level, treated, info | {"min_p_value": min_p})
    lo, hi, bounded = _invert(pfun, fit.beta, se, alpha)
    if not bounded:
        method += f" The {conf_level:.0%} confidence set is unbounded, so no interval is reported."
    # No standard error is reported: these methods give a p-value and an interval, and
    # estimate +/- 1.96 * (CR1 SE) would under-cover here (CR1 is kept in details).
    return EffectResult(fit.beta, math.nan, lo, hi, p0, method, n_obs, conf_level, treated, info | {"min_p_value": min_p})


def _auto_rule(g: int, g1: int, g0: int, cname: str, *, allow_ri: bool = True) -> tuple[str, str]:
    small = min(g1, g0)
    arm = "in the pilot" if g1 <= g0 else "outside the pilot"
    verb = "is" if small == 1 else "are"
    if small < AUTO_MIN_ARM_FOR_BOOTSTRAP and allow_ri:
        return "randomization", (
            f", chosen because only {small} of {g} clusters ({cname}) {verb} {arm}; cluster-robust "
            "errors under-cover and the wild bootstrap is unreliable with so few clusters on one "
            "side (this assumes the pilot clusters were as good as randomly chosen)"
        )
    if small < AUTO_MIN_ARM_FOR_BOOTSTRAP:
        few = (f"every one of the {g} clusters ({cname}) has pilot rows" if small == 0 else
               f"only {small} of {g} clusters ({cname}) {verb} {arm}")
        return "wild", (
            f"; as {few}, the wild bootstrap is used: conservative (wide intervals) here rather "
            "than too narrow, unlike cluster-robust errors"
        )
    return "wild", (
        f", chosen because cluster-robust (CR1) intervals under-cover with {g} clusters ({cname}), "
        f"{g1} in the pilot, when shocks persist over months (87-93% instead of 95% with 50-60 "
        "teams in peereval's Monte Carlo)"
    )


def _auto_fallback(g: int, g1: int, g0: int, cname: str, why: str) -> tuple[str, str]:
    """The rule's next choice when randomization inference cannot be used."""
    chosen, reason = _auto_rule(g, g1, g0, cname, allow_ri=False)
    reason = reason.removeprefix(", chosen because ").removeprefix("; ")
    return chosen, f", chosen because randomization inference was not possible ({why}); {reason}"
