"""peereval: did our peer-to-peer learning program work?

Researchers: ``peereval.load`` a data folder or database, then ``peereval.effect`` /
``peereval.panel`` (the report's outcomes with your own choices), ``peereval.compute_kpis``,
``peereval.estimate`` and ``peereval.table``. ``peereval.load_aggregated`` leaves a database's clean
tickets in the database, summed there, for ``effect`` and ``panel``.
Coordinators: ``peereval report DATA --month YYYY-MM`` on the command line.
"""

from importlib.metadata import PackageNotFoundError, version

from peereval.config import ProgramConfig, Targets
from peereval.data.cohort import CohortData, load
from peereval.errors import DataError, EstimationError, ParameterError, PeerevalError, Problem

try:
    __version__ = version("peereval")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "CohortData",
    "DataError",
    "EstimationError",
    "KPIResult",
    "ParameterError",
    "PeerevalError",
    "Problem",
    "ProgramConfig",
    "Targets",
    "__version__",
    "compute_kpis",
    "effect",
    "effects",
    "estimate",
    "load",
    "load_aggregated",
    "panel",
    "table",
]


def __getattr__(name: str):
    """Heavy parts (scipy, statsmodels) load on first use, so `peereval validate` starts fast."""
    import importlib

    if name in ("effects", "estimate", "kpis"):
        return importlib.import_module(f"peereval.{name}")
    if name in ("effect", "panel"):
        return getattr(importlib.import_module("peereval.research"), name)
    if name in ("load_aggregated", "EngineData"):
        return getattr(importlib.import_module("peereval.engine"), name)
    if name == "table":
        return importlib.import_module("peereval.tables").table
    if name in ("compute_kpis", "KPIResult"):
        return getattr(importlib.import_module("peereval.kpis"), name)
    raise AttributeError(f"module 'peereval' has no attribute {name!r}")
