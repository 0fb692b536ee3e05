"""Immutable result objects shared by every estimator.

A result is a frozen value: a different variance estimator or confidence level gives a new
result (see :meth:`EffectResult.replace`), never a mutated one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .display import effect_row, html_table, interval_text, null_line, p_text, ratio_axis, shorten


class FrozenMapping(Mapping):
    """A read-only mapping that, unlike ``MappingProxyType``, can be pickled (results are cached)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None):
        object.__setattr__(self, "_data", dict(data or {}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenMapping is read-only")

    def __reduce__(self):
        return (FrozenMapping, (self._data,))

    def __repr__(self) -> str:
        return f"FrozenMapping({self._data!r})"


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return FrozenMapping(mapping)


def _clean(value: Any) -> Any:
    """JSON-friendly value: numpy scalars and arrays to Python, NaN/inf/NaT to None, dates to ISO text."""
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, (pd.Timestamp, pd.Period)):
        return None if pd.isna(value) else str(value.isoformat() if isinstance(value, pd.Timestamp) else value)
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class EffectResult:
    """One estimated quantity with its uncertainty.

    ``ci_low``/``ci_high`` are NaN when no method can give a meaningful interval for the design;
    ``method`` then says why in plain words.
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    n_obs: int
    conf_level: float = 0.95
    term: str = "effect"
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)

    @property
    def null_value(self) -> float:
        """The value of 'no effect': 1 for ratios (time ratio, hazard ratio), 0 for differences."""
        if "null" in self.details:
            return float(self.details["null"])
        return 1.0 if "ratio" in self.term else 0.0

    @property
    def p_value_text(self) -> str:
        """The p-value as reported: ``< 1/(B+1)`` when no resampling draw was as extreme."""
        from .display import draws_of

        return p_text(self.p_value, draws_of(self.details))

    def replace(self, **changes: Any) -> EffectResult:
        """A new result with some fields changed (the original is untouched)."""
        return dataclasses.replace(self, **changes)

    def summary(self) -> pd.DataFrame:
        """One row indexed by term: estimate, std_error, ci_low, ci_high, p_value, n_obs."""
        return pd.DataFrame(
            {
                "estimate": [self.estimate],
                "std_error": [self.std_error],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "p_value": [self.p_value],
                "n_obs": [self.n_obs],
            },
            index=pd.Index([self.term], name="term"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable dictionary (NaN becomes None)."""
        out = {
            "term": self.term,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "p_value_text": self.p_value_text,
            "conf_level": self.conf_level,
            "method": self.method,
            "n_obs": self.n_obs,
            "details": dict(self.details),
        }
        return _clean(out)

    def plot(self, ax=None, *, label: str | None = None, color: str | None = None):
        """Point estimate with its interval as a horizontal bar, the line of no effect dashed (1 for
        ratios, drawn on a log axis; 0 otherwise); returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 1.6))
        y = 0
        if self.has_interval:
            ax.errorbar(
                [self.estimate],
                [y],
                xerr=[[self.estimate - self.ci_low], [self.ci_high - self.estimate]],
                fmt="o",
                color=color or "#0072B2",
                capsize=4,
            )
        else:
            ax.plot([self.estimate], [y], "o", color=color or "#0072B2")
        null_line(ax, self.null_value, vertical=True)
        if self.null_value == 1.0 and self.estimate > 0 and (not self.has_interval or self.ci_low > 0):
            ratio_axis(ax)
        ax.set_yticks([y], [label or self.term])
        scale = " (ratio)" if self.null_value == 1.0 else ""
        ax.set_xlabel(f"estimate{scale} with {self.conf_level:.0%} interval")
        return ax

    def _repr_html_(self) -> str:
        row = {"term": self.term} | effect_row(self.estimate, self.ci_low, self.ci_high, self.p_value,
                                               self.n_obs, self.details, self.conf_level)
        frame = pd.DataFrame([row]).set_index("term")
        return html_table(frame, title=type(self).__name__, note=self.method)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.term}: {self.estimate:.4g} "
            f"{interval_text(self.ci_low, self.ci_high)}, p={self.p_value_text}, n={self.n_obs}; "
            f"{shorten(self.method, 70)})"
        )
