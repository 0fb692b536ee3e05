"""Estimators on plain DataFrames: column names as keyword arguments, frozen results out.

Every result has ``estimate, std_error, ci_low, ci_high, p_value, method, n_obs``, ``summary()``,
``to_dict()``, a notebook display (``_repr_html_``), a one-line ``repr`` and, where a picture fits,
``plot(ax=None)`` returning the axes. Wrong columns, types or options are refused with an
``ArgumentError`` (a ValueError) naming the argument and what is available.
"""

from peereval.estimate.aft import time_ratio
from peereval.estimate.balance import BalanceResult, balance
from peereval.estimate.conformal import conformal_did, conformal_pvalue
from peereval.estimate.did import did
from peereval.estimate.event_study import EventStudyResult, event_study
from peereval.estimate.power import DidDesign, OnboardingDesign, PowerResult, mde, power
from peereval.estimate.result import EffectResult
from peereval.estimate.staggered import StaggeredResult, staggered_did
from peereval.estimate.staggered_aggregate import AggregateResult
from peereval.estimate.survival import CoxResult, KMResult, cox, km

__all__ = [
    "AggregateResult",
    "BalanceResult",
    "CoxResult",
    "DidDesign",
    "EffectResult",
    "EventStudyResult",
    "KMResult",
    "OnboardingDesign",
    "PowerResult",
    "StaggeredResult",
    "balance",
    "conformal_did",
    "conformal_pvalue",
    "cox",
    "did",
    "event_study",
    "km",
    "mde",
    "power",
    "staggered_did",
    "time_ratio",
]
