"""Aggregations of Callaway–Sant'Anna ATT(g,t), as R's ``did::aggte``: each is a weighted sum of
cells with its influence function (including the estimated group-share weights) and the cell
weights that randomization inference needs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .display import html_table, null_line
from .result import EffectResult, _clean

if TYPE_CHECKING:
    from .staggered import StaggeredResult


def normal_ci(est, se, conf_level):
    z = stats.norm.ppf(0.5 + conf_level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * stats.norm.sf(np.abs(np.asarray(est) / np.asarray(se)))
    return est - z * se, est + z * se, p


@dataclass(frozen=True, repr=False)
class AggregateResult(EffectResult):
    """An aggregate of ATT(g,t) (``StaggeredResult.aggregate``): the overall effect, as every
    EffectResult, plus its components in ``table`` (one row per group, period or event time, as
    named by ``by``; empty for ``"simple"``). The same type for every aggregation."""

    by: str = ""
    table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "table", self.table.copy())

    @property
    def overall(self) -> AggregateResult:
        """The overall effect (the aggregate itself; kept for code written against earlier versions)."""
        return self

    def summary(self) -> pd.DataFrame:
        """One row per component (indexed by ``by``) and a last row ``"overall"``: estimate,
        std_error, ci_low, ci_high, p_value."""
        cols = ["estimate", "std_error", "ci_low", "ci_high", "p_value"]
        overall = pd.DataFrame([[getattr(self, c) for c in cols]], columns=cols, index=["overall"])
        if self.table.empty:
            return overall.rename_axis(self.by or "term")
        parts = self.table[cols].copy()
        parts.index = parts.index.astype(object)
        return pd.concat([parts, overall]).rename_axis(self.by)

    def to_dict(self) -> dict[str, Any]:
        rows = [{self.by: k, **r} for k, r in self.table.to_dict("index").items()] if self.by else []
        return _clean(super().to_dict() | {"aggregation": self.term, "by": self.by or None, "rows": rows})

    def plot(self, ax=None, *, label: str | None = None, color: str | None = None):
        """Components with pointwise intervals against group, period or event time, the overall
        effect as a band; the simple aggregate is drawn as one estimate. Returns the axes."""
        if self.table.empty:
            return super().plot(ax, label=label, color=color)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        t = self.table
        x = t.index.to_numpy(dtype=float)
        ok = (t.ci_low.notna() & t.ci_high.notna()).to_numpy()
        c = color or "#0072B2"
        ax.errorbar(x[ok], t.estimate[ok], yerr=[(t.estimate - t.ci_low)[ok], (t.ci_high - t.estimate)[ok]],
                    fmt="o", color=c, capsize=3, label="component")
        ax.plot(x[~ok], t.estimate[~ok], "o", color=c, mfc="white")
        ax.axhline(self.estimate, color=c, lw=1, alpha=0.6, label=f"overall ({label or self.term})")
        if self.has_interval:
            ax.axhspan(self.ci_low, self.ci_high, color=c, alpha=0.1)
        null_line(ax, 0.0, vertical=False)
        if self.by == "event_time":
            ax.axvline(-0.5, color="#999999", lw=0.8, ls=":")
        names = {"event_time": "periods since start (e = t - g)", "group": "start period (group g)",
                 "time": "period t"}
        ax.set_xlabel(names.get(self.by, self.by))
        ax.set_ylabel(f"ATT ({self.conf_level:.0%} interval)")
        ax.legend(frameon=False, fontsize=8)
        return ax

    def _repr_html_(self) -> str:
        head = super()._repr_html_()
        if self.table.empty:
            return head
        rows = self.table[["estimate", "ci_low", "ci_high", "p_value"]]
        return head + html_table(rows, title=f"by {self.by}")


DynamicEffects = AggregateResult  # the name of the event-time aggregate in earlier versions


@dataclass(frozen=True)
class Target:
    """A linear combination of ATT(g,t) cells: its estimate, influence function and cell weights."""

    key: float
    est: float
    phi: np.ndarray
    weights: np.ndarray
    label: str = ""
    pre: bool = False


def build_targets(res: StaggeredResult, kind: str) -> tuple[list[Target], list[float]]:
    """The overall target first, then one per group / period / event time (R's aggte)."""
    t = res.table
    ok = t.att.notna().to_numpy()
    g, tt, att = t.group.to_numpy(float), t.time.to_numpy(float), np.nan_to_num(t.att.to_numpy())
    post = g <= tt
    inf, gu = res.influence, res.unit_group
    pg = np.array([np.mean(gu == x) for x in g])

    def wif(pg_k: np.ndarray, groups_k: np.ndarray) -> np.ndarray:
        ind = (gu[:, None] == groups_k[None, :]).astype(float) - pg_k[None, :]
        s = pg_k.sum()
        return ind / s - np.outer(ind.sum(1), pg_k / s**2)

    def combine(keep: np.ndarray, with_wif: bool, key: float = 0.0, label: str = "") -> Target:
        w = pg[keep] / pg[keep].sum() if with_wif else np.full(len(keep), 1.0 / len(keep))
        phi = inf[:, keep] @ w
        if with_wif:
            phi = phi + wif(pg[keep], g[keep]) @ att[keep]
        weights = np.zeros(len(t))
        weights[keep] = w
        return Target(key, float(att[keep] @ w), phi, weights, label, bool(not post[keep].all()))

    def mean_of(parts: list[Target], label: str, pg_k: np.ndarray | None = None,
                groups_k: np.ndarray | None = None) -> Target:
        share = np.full(len(parts), 1.0 / len(parts)) if pg_k is None else pg_k / pg_k.sum()
        est = float(sum(s * x.est for s, x in zip(share, parts, strict=True)))
        phi = np.column_stack([x.phi for x in parts]) @ share
        if pg_k is not None:
            phi = phi + wif(pg_k, groups_k) @ np.array([x.est for x in parts])
        weights = np.column_stack([x.weights for x in parts]) @ share
        return Target(0.0, est, phi, weights, label)

    cells_post = np.flatnonzero(ok & post)
    if len(cells_post) == 0:
        return [], []
    left_out: list[float] = []
    if kind == "simple":
        return [combine(cells_post, True, label="post-treatment ATT(g,t) weighted by group size")], left_out
    if kind == "group":
        all_groups = sorted(set(g.tolist()))
        parts = [combine(np.flatnonzero(ok & post & (g == x)), False, x) for x in all_groups
                 if np.any(ok & post & (g == x))]
        left_out = [x for x in all_groups if not np.any(ok & post & (g == x))]
        glist = np.array([x.key for x in parts])
        pgg = np.array([np.mean(gu == x) for x in glist])
        label = "average of each group's post-treatment effects, weighted by group size"
        if left_out:
            which = f"group{'s' if len(left_out) > 1 else ''} {', '.join(f'{x:g}' for x in left_out)}"
            label += (f" ({which} left out: no estimable post-start cell, i.e. no units left to "
                      "compare with after the start)")
        return [mean_of(parts, label, pgg, glist), *parts], left_out
    if kind == "calendar":
        parts = [combine(np.flatnonzero(ok & post & (tt == x)), True, x) for x in sorted(set(tt[cells_post]))]
        return [mean_of(parts, "average over periods of the effects in each period"), *parts], left_out
    ev = tt - g
    parts = [combine(np.flatnonzero(ok & (ev == x)), True, x) for x in sorted(set(ev[ok]))]
    overall = mean_of([x for x in parts if x.key >= 0], "average of the event-time effects over e >= 0")
    return [overall, *parts], left_out


def no_post_cell_message(res: StaggeredResult) -> str:
    starts = sorted(set(res.unit_group[res.unit_group > 0].tolist()))
    nev = int(np.sum(res.unit_group == 0))
    if res.control == "not_yet_treated" and nev == 0:
        when = f"period{'s' if len(starts) > 1 else ''} {', '.join(f'{x:g}' for x in starts)}"
        return (f"no post-start ATT(g,t) can be estimated: there are no never-treated units and by "
                f"each group's start ({when}) every other unit has started too, so nobody is left to "
                "compare with; add units that stay out of the pilot (never treated) or stagger the "
                "starts so that some units start later")
    return ("no post-start ATT(g,t) can be estimated (no comparison units in any period after a "
            "start); add never-treated units or use a longer panel")


def plot_att_gt(res: StaggeredResult, ax=None):
    """ATT(g,t) by event time, one colour per group (see ``StaggeredResult.plot``)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    t = res.table.dropna(subset=["att"])
    palette = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
    groups = sorted(t.group.unique())
    width = 0.6 / max(len(groups), 1)
    for i, g in enumerate(groups):
        sub = t[t.group == g]
        e = (sub.time - sub.group).to_numpy(float) + (i - (len(groups) - 1) / 2) * width
        ok = sub.ci_low.notna().to_numpy()
        c = palette[i % len(palette)]
        ax.errorbar(e[ok], sub.att[ok], yerr=[(sub.att - sub.ci_low)[ok], (sub.ci_high - sub.att)[ok]],
                    fmt="o", ms=4, color=c, capsize=2, label=f"group {g:g}")
        ax.plot(e[~ok], sub.att[~ok], "o", ms=4, color=c, mfc="white")
    null_line(ax, 0.0, vertical=False)
    ax.axvline(-0.5, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel("periods since start (e = t - g)")
    ax.set_ylabel(f"ATT(g,t) ({res.conf_level:.0%} interval)")
    if groups:
        ax.legend(frameon=False, fontsize=8, title="start period", title_fontsize=8)
    return ax


def sup_t_crit(inf: np.ndarray, se: np.ndarray, conf_level: float, n_boot: int, seed: int) -> float:
    """Critical value of the simultaneous (sup-t) band over all ATT(g,t): multiplier bootstrap
    with Mammen weights, as R's did::att_gt(cband=TRUE)."""
    ok = np.isfinite(se) & (se > 0)
    if not ok.any() or n_boot < 1:
        return math.nan
    rng = np.random.default_rng(seed)
    n = inf.shape[0]
    s5 = math.sqrt(5)
    kappa = np.where(rng.random((n_boot, n)) < (s5 + 1) / (2 * s5), (1 - s5) / 2, (1 + s5) / 2)
    boot = kappa @ inf[:, ok] / n
    tmax = np.max(np.abs(boot) / se[ok], axis=1)
    return float(np.quantile(tmax, conf_level))
