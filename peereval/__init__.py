"""peereval: did our peer-to-peer learning program work?

Researchers: ``peereval.load`` a data folder, then ``peereval.kpis`` and ``peereval.estimate``.
Coordinators: ``peereval report DATA --month YYYY-MM`` on the command line.
"""

from importlib.metadata import PackageNotFoundError, version

from peereval import effects, estimate
from peereval.config import ProgramConfig, Targets
from peereval.data.cohort import CohortData, load
from peereval.errors import DataError, ParameterError, PeerevalError, Problem
from peereval.kpis import KPIResult, compute_kpis

try:
    __version__ = version("peereval")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "CohortData",
    "DataError",
    "KPIResult",
    "ParameterError",
    "PeerevalError",
    "Problem",
    "ProgramConfig",
    "Targets",
    "__version__",
    "compute_kpis",
    "effects",
    "estimate",
    "load",
]
