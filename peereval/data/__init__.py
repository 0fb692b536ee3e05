"""Data contract, loading, validation and the sample generator."""

from peereval.data.cohort import CohortData, load
from peereval.data.ledger import Ledger

__all__ = ["CohortData", "Ledger", "load"]
