"""The monthly report: analysis, presentation, wording and the runner that publishes it."""

from peereval.report import present, wording
from peereval.report.analysis import MonthlyAnalysis, ReportParameters, analyze
from peereval.report.runner import ReportError, ReportOutcome, run_report

__all__ = [
    "MonthlyAnalysis",
    "ReportError",
    "ReportOutcome",
    "ReportParameters",
    "analyze",
    "present",
    "run_report",
    "wording",
]
