"""Errors a user can act on: every message names file, row, column, what is wrong and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, phrased for the person who exported it."""

    file: str
    what: str
    fix: str
    column: str | None = None
    row: int | str | None = None  # a file line, or the key of a database row

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        col = f" {self.column}:" if self.column else ""
        return f"{where}:{col} {self.what} — {self.fix}"


class PeerevalError(Exception):
    """Base class for errors that are the user's to fix (exit code 2, no traceback)."""

    exit_code = 2


class DataError(PeerevalError):
    """The input folder cannot be used as it is; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self, limit: int = 50) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"… and {len(self.problems) - limit} more problems of the same kinds")
        n = len(self.problems)
        head = f"The data cannot be used as it is ({n} problem{'s' if n != 1 else ''}):"
        return "\n".join([head, *("  " + line for line in lines)])


class ParameterError(PeerevalError):
    """A report parameter or option is invalid."""


class EstimationError(PeerevalError, ValueError):
    """The estimator cannot answer with this data; the message names what to change."""


class ArgumentError(PeerevalError, ValueError):
    """A function was called with an argument it cannot use: a column that is not in the data, an
    option that does not exist, a value out of range. The message names the argument and what is
    available."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type (e.g. a number where a column name is expected)."""
