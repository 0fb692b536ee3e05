"""The power curve of a design: probability that the test detects each effect size."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .power import PowerResult


def curve(res: PowerResult, points: int = 41) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes (on the result's scale) and the analytic power of each."""
    from .power import DidDesign, power

    d = res.design
    if isinstance(d, DidDesign):
        span = max(abs(res.mde) * 2.5, 0.05) if np.isfinite(res.mde) else 0.5
        effects = np.linspace(-min(span, 0.95), 0.0, points) if res.mde <= 0 else np.linspace(0.0, span, points)
    else:
        gap = (1 - res.mde) * 2.5 if np.isfinite(res.mde) and res.mde < 1 else 0.5
        effects = np.linspace(max(0.05, 1 - gap), 1.0, points)
    values = np.array([power(d, float(e), alpha=res.alpha).power for e in effects])
    return effects, values


def plot_power(res: PowerResult, ax=None, *, color: str = "#0072B2"):
    """Analytic power against the effect size, the MDE and the target power marked."""
    import matplotlib.pyplot as plt

    from peereval.errors import ArgumentError

    if res.design is None:
        raise ArgumentError("this PowerResult has no design to draw a curve from; get it from power() or mde()")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    effects, values = curve(res)
    ax.plot(effects, values, color=color)
    ax.axhline(res.power, color="#999999", lw=0.8, ls=":")
    if np.isfinite(res.mde):
        ax.axvline(res.mde, color="#D55E00", lw=0.8, ls="--", label=f"effect {res.mde:.3g}: power {res.power:.0%}")
        ax.legend(frameon=False, fontsize=8)
    ax.set_ylim(0, 1.02)
    ratio = "time ratio (pilot / control; 1 = no effect)" if res.outcome == "onboarding" else \
        "change in hours (-0.2 = 20% faster; 0 = no effect)"
    ax.set_xlabel(ratio)
    ax.set_ylabel(f"power (two-sided, alpha {res.alpha:g})")
    return ax
