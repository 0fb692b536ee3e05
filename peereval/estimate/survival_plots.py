"""Pictures of time-to-event results: Kaplan–Meier curves with numbers at risk, Cox forest plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .display import null_line, ratio_axis

if TYPE_CHECKING:
    from .survival import CoxResult, KMResult

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


def at_risk_ticks(tmax: float) -> list[float]:
    """Round times from 0 that cover ``tmax`` (0, 25, 50, … rather than 0, 50.2, 100.4, …)."""
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(0, max(tmax, 1e-9))
    return [float(x) for x in ticks if x >= 0]


def plot_km(res: KMResult, ax=None, *, palette: Mapping[str, str] | Sequence[str] | None = None,
            at_risk_times: Sequence[float] | None = None):
    """Step curves with censoring ticks; numbers at risk printed under each x tick."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    keys = list(res.curves)
    if isinstance(palette, Mapping):
        colours = {k: palette.get(k, PALETTE[i % 6]) for i, k in enumerate(keys)}
    else:
        pal = list(palette) if palette is not None else list(PALETTE)
        colours = {k: pal[i % len(pal)] for i, k in enumerate(keys)}
    tmax = max(float(np.max(v)) for v in res.durations.values())
    ticks = list(at_risk_times) if at_risk_times is not None else at_risk_ticks(tmax)
    end = max(tmax, max(ticks))
    for k in keys:
        c = res.curves[k]
        t = np.r_[0.0, c["time"].to_numpy(), end]
        s = np.r_[1.0, c["survival"].to_numpy(), c["survival"].to_numpy()[-1] if len(c) else 1.0]
        ax.step(t, s, where="post", color=colours[k], label=k)
        cens = np.asarray(res.censored[k], dtype=float)
        if len(cens):
            idx = np.searchsorted(t, cens, side="right") - 1
            ax.plot(cens, s[idx], "|", color=colours[k], ms=8, mew=1.2)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(min(ticks[0], 0.0), end)
    ax.set_xticks(ticks)
    ax.set_xlabel("time")
    ax.set_ylabel("share not yet at milestone")
    if len(keys) > 1:
        ax.legend(frameon=False)
    # numbers at risk, aligned with the x ticks (x in data units, y in points under the axis)
    ax.annotate("at risk", xy=(0, 0), xycoords="axes fraction", xytext=(-18, -42), textcoords="offset points",
                ha="right", va="top", fontsize=8, fontweight="bold")
    for r, k in enumerate(keys):
        y = -54 - 12 * r
        ax.annotate(k, xy=(0, 0), xycoords="axes fraction", xytext=(-18, y), textcoords="offset points",
                    ha="right", va="top", fontsize=8, color=colours[k])
        for x in ticks:
            n = int(np.sum(res.durations[k] >= x))
            ax.annotate(f"{n}", xy=(x, 0), xycoords=("data", "axes fraction"), xytext=(0, y),
                        textcoords="offset points", ha="center", va="top", fontsize=8)
    ax.figure.subplots_adjust(bottom=min(0.45, 0.2 + 0.05 * len(keys)))
    return ax


def plot_cox(res: CoxResult, ax=None, *, color: str = "#0072B2"):
    """Forest plot: hazard ratio per term with its interval on a log axis, null line at 1."""
    import matplotlib.pyplot as plt

    s = res.summary()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.45 * len(s) + 1.3))
    y = np.arange(len(s))[::-1]
    hr = s["hazard_ratio"].to_numpy()
    ax.errorbar(hr, y, xerr=[hr - s["ci_low"].to_numpy(), s["ci_high"].to_numpy() - hr], fmt="o",
                color=color, capsize=3)
    null_line(ax, 1.0, vertical=True)
    ratio_axis(ax)
    ax.set_yticks(y, list(s.index))
    ax.set_xlabel(f"hazard ratio ({res.conf_level:.0%} interval; > 1 = milestone reached sooner)")
    return ax
