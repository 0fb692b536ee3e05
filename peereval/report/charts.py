"""Charts for people: titled, labelled with units, one colour per cohort in every chart.

Colours come from the Okabe–Ito palette, which stays distinguishable with colour-vision deficiency.
Every function returns a matplotlib Figure and never shows a group smaller than the minimum size.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from statsmodels.duration.survfunc import SurvfuncRight  # noqa: E402

COLORS = {"pilot": "#D55E00", "control": "#0072B2", "pilot team, before start": "#999999"}
LABELS = {"pilot": "Pilot teams", "control": "Control teams", "pilot team, before start": "Pilot teams, hired before start"}


def _style() -> None:
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)


def turnaround_trend(monthly: pd.DataFrame, pilot_starts: pd.Series, month: str) -> plt.Figure:
    """Median hours to resolve a bug, by month the ticket was created, pilot vs control."""
    _style()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for cohort in ("control", "pilot"):
        sub = monthly[monthly["cohort"] == cohort]
        if sub.empty:
            continue
        x = pd.PeriodIndex(sub["month"], freq="M").to_timestamp()
        ax.plot(x, sub["median_hours"], marker="o", ms=3.5, color=COLORS[cohort], label=LABELS[cohort])
    for i, start in enumerate(sorted(pilot_starts.dropna().unique())):
        ax.axvline(pd.Timestamp(start), color=COLORS["pilot"], lw=0.8, ls=":",
                   label="pilot start (a wave)" if i == 0 else None)
    ax.set_title("Median time to resolve a bug, by month the bug was reported")
    ax.set_xlabel("month the bug was reported")
    ax.set_ylabel("median hours to resolve")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize=8, frameon=True)
    fig.tight_layout()
    return fig


def onboarding_curves(frame: pd.DataFrame, min_group: int) -> tuple[plt.Figure, list[str]]:
    """Share of new hires not yet competent over days since hire (Kaplan–Meier), by group.

    Returns the figure and the groups left out because they had fewer than ``min_group`` hires.
    """
    _style()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    suppressed = []
    for group in ("control", "pilot"):
        sub = frame[frame["group"] == group]
        if len(sub) < min_group:
            suppressed.append(group)
            continue
        sf = SurvfuncRight(sub["days"].to_numpy(float), sub["event"].to_numpy(int))
        x = np.concatenate([[0.0], sf.surv_times])
        y = np.concatenate([[1.0], sf.surv_prob])
        ax.step(x, y, where="post", color=COLORS[group], label=f"{LABELS[group]} (n = {len(sub)})")
    ax.axhline(0.5, color="#555555", lw=0.8, ls="--")
    ax.set_title("New hires not yet competent, by days since hire")
    ax.set_xlabel("days since hire")
    ax.set_ylabel("share not yet competent")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig, suppressed
