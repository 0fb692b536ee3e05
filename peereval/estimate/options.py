"""Typed options for the estimators, validated in one place."""

from __future__ import annotations

from typing import Literal, get_args

Inference = Literal["auto", "cluster", "wild", "randomization"]
WildWeights = Literal["rademacher", "webb"]
Ties = Literal["efron", "breslow"]
Control = Literal["never_treated", "not_yet_treated"]
StaggeredInference = Literal["auto", "influence", "randomization"]
Aggregation = Literal["simple", "dynamic", "group", "calendar"]
TimeRatioMethod = Literal["lognormal", "weibull"]
ConformalPermutation = Literal["moving_block", "iid"]
ConformalWeighting = Literal["equal", "synthetic"]
ConformalStatistic = Literal["mean", "s1"]
Spending = Literal["obrien_fleming", "pocock"]  # Lan-DeMets alpha spending for repeated looks
WeightType = Literal["analytic", "frequency"]  # frequency: each row stands for `weight` identical rows


def check_option(name: str, value: object, allowed: object) -> str:
    """Return ``value`` if it is one of the ``Literal`` choices, else raise a clear ValueError."""
    from peereval.errors import ArgumentError

    choices = get_args(allowed)
    if not isinstance(value, str) or value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ArgumentError(f"{name}={value!r} is not an option; choose one of {shown}")
    return value  # type: ignore[return-value]


def check_level(conf_level: float) -> float:
    """Confidence level strictly between 0 and 1."""
    from .validate import number

    return number(conf_level, "conf_level", low=0, high=1, hint=" (e.g. 0.95)")
