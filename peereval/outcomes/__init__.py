"""Outcomes: what a program targets, declared in program.toml, each turned into one analysis frame.

``declare`` reads declarations (and is imported by the config, so this package imports nothing
heavy at first); ``build`` turns each into an :class:`~peereval.outcomes.frame.OutcomeFrame`.
"""

from __future__ import annotations

__all__ = ["Outcome", "OutcomeFrame", "build", "build_all"]


def __getattr__(name: str):
    import importlib

    if name in ("build", "build_all"):
        return getattr(importlib.import_module("peereval.outcomes.builder"), name)
    if name == "OutcomeFrame":
        return importlib.import_module("peereval.outcomes.frame").OutcomeFrame
    if name == "Outcome":
        return importlib.import_module("peereval.outcomes.declare").Outcome
    raise AttributeError(f"module 'peereval.outcomes' has no attribute {name!r}")
