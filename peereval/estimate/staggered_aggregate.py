"""Aggregations of Callaway–Sant'Anna ATT(g,t), as R's ``did::aggte``: each is a weighted sum of
cells with its influence function (including the estimated group-share weights) and the cell
weights that randomization inference needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .result import EffectResult, _clean

if TYPE_CHECKING:
    from .staggered import StaggeredResult


def normal_ci(est, se, conf_level):
    z = stats.norm.ppf(0.5 + conf_level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * stats.norm.sf(np.abs(np.asarray(est) / np.asarray(se)))
    return est - z * se, est + z * se, p


@dataclass(frozen=True)
class DynamicEffects:
    """Event-time effects (rows by exposure e = t - g) and their overall average (e >= 0)."""

    table: pd.DataFrame
    overall: EffectResult

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", self.table.copy())

    def summary(self) -> pd.DataFrame:
        """DataFrame indexed by event time: estimate, std_error, ci_low, ci_high, p_value."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        rows = [{"event_time": int(k), **r} for k, r in self.table.to_dict("index").items()]
        return _clean({"by_event_time": rows, "overall": self.overall.to_dict()})

    def plot(self, ax=None, *, color: str = "#0072B2"):
        """Event-time effects with pointwise intervals; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        t = self.table
        ax.errorbar(t.index, t.estimate, yerr=[t.estimate - t.ci_low, t.ci_high - t.estimate],
                    fmt="o", color=color, capsize=3)
        ax.axhline(0, color="#555555", lw=0.8, ls="--")
        ax.axvline(-0.5, color="#999999", lw=0.8, ls=":")
        ax.set_xlabel("periods since start (e = t - g)")
        ax.set_ylabel(f"effect ({self.overall.conf_level:.0%} interval)")
        return ax


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
