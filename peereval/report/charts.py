"""Charts for people: titled, labelled with units, one colour per cohort in every chart.

Colours come from the Okabe–Ito palette, which stays distinguishable with colour-vision deficiency.
Every function returns a matplotlib Figure and never shows a group smaller than the minimum size.
Importing this module selects no matplotlib backend (a notebook keeps its inline one); the report
runner picks the non-interactive Agg backend for its own run.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from statsmodels.duration.survfunc import SurvfuncRight

COLORS = {"pilot": "#D55E00", "control": "#0072B2", "pilot team, before start": "#999999"}
LABELS = {"pilot": "Pilot teams", "control": "Control teams", "pilot team, before start": "Pilot teams, hired before start"}


THEME = {"style": "whitegrid", "context": "notebook", "font_scale": 0.95}  # the report's look, in one place


def _style() -> None:
    sns.set_theme(**THEME)


def theme_rc() -> dict:
    """:data:`THEME` as rcParams, for a chart drawn inside ``rc_context`` (the process's settings unchanged)."""
    return {**sns.axes_style(THEME["style"]), **sns.plotting_context(THEME["context"], font_scale=THEME["font_scale"])}


def period_start(label: str) -> pd.Timestamp:
    """First day of a ``YYYY-MM`` or ISO ``YYYY-Www`` label."""
    if "W" in label:
        return pd.Timestamp.fromisocalendar(int(label[:4]), int(label[6:]), 1)
    return pd.Timestamp(f"{label}-01")


def trend_chart(trend: pd.DataFrame, pilot_starts, month: str, *, title: str, ylabel: str,
                percent: bool = False) -> plt.Figure:
    """An outcome's monthly level (``describe.trend``), pilot vs control, with the pilot waves marked."""
    _style()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for cohort in ("control", "pilot"):
        sub = trend[trend["cohort"] == cohort]
        if sub.empty:
            continue
        x = [period_start(label) for label in sub["month"]]
        y = sub["value"] * (100 if percent else 1)
        ax.plot(x, y, marker="o", ms=3.5, color=COLORS[cohort], label=LABELS[cohort])
    for i, start in enumerate(sorted(set(pilot_starts))):
        ax.axvline(pd.Timestamp(start), color=COLORS["pilot"], lw=0.8, ls=":",
                   label="pilot start (a wave)" if i == 0 else None)
    ax.set_title(title)
    ax.set_xlabel("week" if len(trend) and "W" in str(trend["month"].iloc[0]) else "month")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    if ax.get_legend_handles_labels()[0]:
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


def effects_forest(rows: list[dict], targets: dict[str, float], *, xlabel: str = "% faster with the program",
                   title: str = "Estimated effects of the program", factor: float = 100) -> plt.Figure:
    """Effects with intervals; hollow markers for checks and the naive comparison.

    ``rows``: label, faster (the value, positive = better), lo, hi (NaN when none), kind in
    {"estimate", "check", "naive"}. Values are multiplied by ``factor`` (100 for % and points).
    """
    _style()
    fig, ax = plt.subplots(figsize=(8, max(2.6, 0.55 * len(rows) + 1.4)))
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows, strict=True):
        color = COLORS["pilot"] if r["kind"] == "estimate" else "#555555"
        face = color if r["kind"] == "estimate" else "white"
        if np.isfinite(r["lo"]) and np.isfinite(r["hi"]):
            ax.plot([r["lo"] * factor, r["hi"] * factor], [yi, yi], color=color, lw=2.2)
        if np.isfinite(r["faster"]):
            ax.plot([r["faster"] * factor], [yi], "o", ms=8, mfc=face, mec=color, mew=1.5)
    ax.axvline(0, color="#333333", lw=1)
    for name, value in targets.items():
        ax.axvline(value * factor, color=COLORS["control"], lw=1, ls="--")
        ax.text(value * factor, len(rows) - 0.45, f" target: {name}", color=COLORS["control"], fontsize=8)
    ax.set_yticks(y, [r["label"] for r in rows])
    ax.set_xlabel(f"{xlabel} (bars: 95% intervals)")
    ax.set_title(title)
    ax.set_ylim(-0.7, len(rows) - 0.2)
    fig.tight_layout()
    return fig


def event_study_chart(result, *, transform=np.expm1, factor: float = 100, title: str =
                      "Change in bug resolution time, by months since the team's pilot start",
                      ylabel: str = "% change in resolution time") -> plt.Figure:
    """Effect by months since the team's start; ``transform`` maps model units to the chart's (× ``factor``)."""
    _style()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    t = result.summary().dropna(subset=["estimate"])
    k = t.index.to_numpy(dtype=float)
    est = transform(t["estimate"].to_numpy()) * factor
    lo = transform(t["ci_low"].to_numpy()) * factor
    hi = transform(t["ci_high"].to_numpy()) * factor
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.errorbar(k[ok], est[ok], yerr=[est[ok] - lo[ok], hi[ok] - est[ok]], fmt="o", color=COLORS["pilot"],
                capsize=3, label="pilot teams vs control (95% interval)")
    ax.plot([result.reference], [0], "o", mfc="white", mec=COLORS["pilot"], label="reference month (set to 0)")
    ax.axhline(0, color="#333333", lw=0.8)
    ax.axvline(result.reference + 0.5, color="#999999", lw=0.8, ls=":")
    ax.set_title(title)
    ax.set_xlabel(f"{'weeks' if 'week' in title else 'months'} since the pilot started (negative = before)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def km_chart(result, min_group: int) -> plt.Figure:
    """Kaplan–Meier curves with at-risk counts, pilot and control in their report colours."""
    _style()
    fig, ax = plt.subplots(figsize=(8, 5.2))
    result.plot(ax=ax, palette=COLORS, at_risk_times=[0, 30, 60, 90, 120, 180])
    ax.set_title("New hires not yet competent, by days since hire (ticks: not yet competent at the cutoff)")
    ax.set_xlabel("days since hire", labelpad=2)
    ax.set_ylabel("share not yet competent")
    ax.axhline(0.5, color="#555555", lw=0.8, ls="--")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [LABELS.get(lbl, lbl) for lbl in labels], loc="upper right", fontsize=8)
    fig.subplots_adjust(bottom=0.36, top=0.92)
    return fig
