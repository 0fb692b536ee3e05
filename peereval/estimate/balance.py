"""Covariate balance between pilot and control: standardized mean differences (SMD)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from peereval.errors import ArgumentError

from .display import html_table
from .result import _clean, _freeze
from .validate import column, columns, dataframe, number

__all__ = ["BalanceResult", "balance", "SMD_THRESHOLD"]

SMD_THRESHOLD = 0.1


@dataclass(frozen=True, repr=False)
class BalanceResult:
    """One row per numeric covariate and per level of each categorical covariate."""

    table: pd.DataFrame
    threshold: float = SMD_THRESHOLD
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))

    @property
    def n_flagged(self) -> int:
        return int(self.table["flag"].sum())

    def summary(self) -> pd.DataFrame:
        """covariate, level (None for numeric), mean_treated, mean_control, smd, flag."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return _clean({"threshold": self.threshold, "rows": self.table.to_dict(orient="records"),
                       "details": dict(self.details)})

    def __repr__(self) -> str:
        t = self.table
        worst = t.smd.abs().max() if len(t) else float("nan")
        return (f"BalanceResult({len(t)} rows, {self.n_flagged} with |SMD| > {self.threshold:g}, "
                f"largest |SMD| {worst:.3g}; {self.details.get('n_treated', '?')} treated, "
                f"{self.details.get('n_control', '?')} control)")

    def _repr_html_(self) -> str:
        t = self.table.assign(level=self.table["level"].astype(object).where(self.table["level"].notna(), ""))
        return html_table(t, title=repr(self), index=False, note=str(self.details.get("formula", "")))

    def plot(self, ax=None):
        """Love plot: SMD per row with dashed lines at +/- threshold; returns the axes."""
        import matplotlib.pyplot as plt

        t = self.table
        labels = [c if lv is None else f"{c}: {lv}" for c, lv in zip(t["covariate"], t["level"], strict=True)]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.35 * len(t) + 1.2))
        y = np.arange(len(t))[::-1]
        colours = np.where(t["flag"], "#D55E00", "#0072B2")
        ax.scatter(t["smd"], y, c=colours, zorder=3)
        for x in (-self.threshold, self.threshold):
            ax.axvline(x, color="#555555", ls="--", lw=0.8)
        ax.axvline(0, color="#999999", lw=0.8)
        ax.set_yticks(y, labels)
        ax.set_xlabel("standardized mean difference (pilot - control)")
        return ax


def _smd(mt: float, mc: float, vt: float, vc: float) -> float:
    pooled = math.sqrt((vt + vc) / 2)
    if pooled == 0 or not np.isfinite(pooled):
        return 0.0 if mt == mc else math.copysign(math.inf, mt - mc)
    return (mt - mc) / pooled


def balance(df: pd.DataFrame, *, group: str, covariates: Sequence[str],
            treated_value: Any = None, threshold: float = SMD_THRESHOLD) -> BalanceResult:
    """Standardized mean differences of baseline covariates, pilot minus control.

    Numeric: (mean_t - mean_c) / sqrt((var_t + var_c) / 2) with sample variances (ddof=1).
    Categorical (text, category, boolean): one row per level with proportions p and
    (p_t - p_c) / sqrt((p_t(1-p_t) + p_c(1-p_c)) / 2). |SMD| > ``threshold`` (0.1) is flagged.
    Missing values are dropped per covariate. ``group`` as in ``time_ratio`` (bool, 0/1, or
    ``treated_value=``). Zero pooled spread gives 0 (equal means) or +/-inf.

    Example:
        >>> import pandas as pd
        >>> d = pd.DataFrame({"pilot": [1, 1, 0, 0], "tenure": [2.0, 4.0, 1.0, 3.0],
        ...                   "site": ["a", "b", "a", "a"]})
        >>> balance(d, group="pilot", covariates=["tenure", "site"]).summary()["smd"].round(3).tolist()
        [0.707, -1.414, 1.414]
    """
    dataframe(df)
    column(df, group, "group")
    covariates = columns(df, covariates, "covariates")
    threshold = number(threshold, "threshold", low=0)
    g = df[group]
    if treated_value is not None:
        treated = (g == treated_value).to_numpy()
    elif g.dtype == bool or set(pd.unique(g.dropna())) <= {0, 1}:
        treated = g.fillna(0).astype(bool).to_numpy()
    else:
        values = ", ".join(repr(v) for v in sorted(map(str, pd.unique(g.dropna())))[:4])
        raise ArgumentError(f"group={group!r} is not boolean or 0/1 (it holds {values}): pass treated_value= "
                            "to say which value is treated")
    if treated.all() or not treated.any():
        raise ArgumentError(f"group={group!r} needs both treated and control rows; all rows are "
                            f"{'treated' if treated.all() else 'control'}")
    rows = []
    for c in covariates:
        s = df[c]
        keep = s.notna().to_numpy()
        st, sc = s[keep & treated], s[keep & ~treated]
        categorical = (isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object
                       or s.dtype == bool or s.dtype == "string")
        if categorical:
            levels = list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else sorted(s.dropna().unique())
            for lv in levels:
                pt, pc = float((st == lv).mean()), float((sc == lv).mean())
                rows.append((c, lv, pt, pc, _smd(pt, pc, pt * (1 - pt), pc * (1 - pc))))
        else:
            xt, xc = st.astype(float), sc.astype(float)
            rows.append((c, None, float(xt.mean()), float(xc.mean()),
                         _smd(float(xt.mean()), float(xc.mean()), float(xt.var(ddof=1)), float(xc.var(ddof=1)))))
    table = pd.DataFrame(rows, columns=["covariate", "level", "mean_treated", "mean_control", "smd"])
    table["level"] = table["level"].astype(object).where(table["level"].notna(), None)
    table["flag"] = table["smd"].abs() > threshold
    return BalanceResult(table, threshold, {"n_treated": int(treated.sum()), "n_control": int((~treated).sum()),
                                            "formula": "difference in means / sqrt(mean of the two variances)"})
