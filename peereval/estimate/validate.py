"""One validation layer for every public estimator: arguments are checked before any arithmetic.

A wrong column, type or option is refused with an :class:`~peereval.errors.ArgumentError` (a
ValueError; :class:`~peereval.errors.ArgumentTypeError` is also a TypeError) whose message names
the argument and what is available, never a KeyError, a TypeError from deep inside pandas or a
ZeroDivisionError.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from peereval.errors import ArgumentError, ArgumentTypeError

SHOWN_COLUMNS = 12


def dataframe(df: Any, arg: str = "df") -> pd.DataFrame:
    """A non-empty pandas DataFrame with unique column names."""
    if not isinstance(df, pd.DataFrame):
        raise ArgumentTypeError(f"{arg} must be a pandas DataFrame, not {type(df).__name__}")
    if len(df) == 0:
        raise ArgumentError(f"{arg} is empty: there are no rows to estimate from")
    if not df.columns.is_unique:
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise ArgumentError(f"{arg} has duplicated column names {dup}; rename them first")
    return df


def available(df: pd.DataFrame, wanted: str | None = None) -> str:
    """The columns to choose from, closest to ``wanted`` first, at most a dozen."""
    cols = [str(c) for c in df.columns]
    close = difflib.get_close_matches(str(wanted), cols, n=3, cutoff=0.6) if wanted is not None else []
    rest = [c for c in cols if c not in close]
    shown = close + rest[: max(0, SHOWN_COLUMNS - len(close))]
    more = f" and {len(cols) - len(shown)} more" if len(cols) > len(shown) else ""
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; the data has: {', '.join(repr(c) for c in shown)}{more}"


def column(df: pd.DataFrame, value: Any, arg: str, *, optional: bool = False) -> str | None:
    """A column name that exists in ``df`` (``None`` allowed when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{arg} must be a column name (text), not {type(value).__name__} {value!r}")
    if value not in df.columns:
        raise ArgumentError(f"{arg}={value!r} is not a column of the data{available(df, value)}")
    return value


def columns(df: pd.DataFrame, value: Any, arg: str) -> list[str]:
    """Column names: a list/tuple of names, or one name as text (``covariates="role"``)."""
    if value is None:
        return []
    names = [value] if isinstance(value, str) else value
    if isinstance(names, (pd.Series, pd.Index, np.ndarray)):
        names = list(names)
    if not isinstance(names, Iterable) or isinstance(names, (bytes, dict, pd.DataFrame)):
        raise ArgumentTypeError(f"{arg} must be a list of column names, not {type(value).__name__}")
    names = list(names)
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise ArgumentTypeError(f"{arg}[{i}] must be a column name (text), not {type(name).__name__} {name!r}")
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise ArgumentError(f"{arg}: {', '.join(repr(m) for m in missing)} "
                            f"{'is' if len(missing) == 1 else 'are'} not in the data{available(df, missing[0])}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ArgumentError(f"{arg} names {dup} more than once; list each column once")
    return names


def is_categorical(s: pd.Series) -> bool:
    return (isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or s.dtype == bool
            or pd.api.types.is_string_dtype(s.dtype))


def numeric(df: pd.DataFrame, name: str, arg: str) -> np.ndarray:
    """A numeric column as floats; text, missing or infinite values are refused naming ``arg``."""
    s = df[name]
    if s.dtype == bool:
        return s.to_numpy(dtype=float)
    try:
        values = pd.to_numeric(s, errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()].astype(str).unique()[:3]
        raise ArgumentError(f"{arg}={name!r} must be a numeric column; it holds values such as "
                            f"{', '.join(repr(b) for b in bad)}") from None
    if np.isnan(values).any():
        raise ArgumentError(f"{arg}={name!r} has {int(np.isnan(values).sum())} missing value(s); "
                            "drop or fill them first")
    if not np.isfinite(values).all():
        raise ArgumentError(f"{arg}={name!r} has infinite values")
    return values


def binary(series: pd.Series, arg: str, meaning: str) -> np.ndarray:
    """A 0/1 (or boolean) column as floats. Text such as yes/no is refused with the mapping to use."""
    if series.dtype == bool:
        return series.to_numpy(dtype=float)
    values = pd.to_numeric(series, errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        odd = series[values.isna() | ~values.isin([0, 1])].astype(str).unique()[:4]
        shown = ", ".join(repr(v) for v in odd)
        raise ArgumentError(
            f"{arg}={series.name!r} must be 0/1 or True/False ({meaning}); it holds {shown}: convert it "
            f"first, e.g. df[{series.name!r}].map({{'yes': 1, 'no': 0}})")
    return values.to_numpy(dtype=float)


def integer(value: Any, arg: str, *, minimum: int | None = None, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{arg} must be a whole number, not {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ArgumentError(f"{arg}={value!r} must be at least {minimum}{hint}")
    return int(value)


def number(value: Any, arg: str, *, low: float | None = None, high: float | None = None,
           inclusive: bool = False, hint: str = "") -> float:
    """A real number, optionally inside (low, high) (or [low, high] when ``inclusive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise ArgumentTypeError(f"{arg} must be a finite number, not {type(value).__name__} {value!r}")
    x = float(value)
    below = low is not None and (x < low if inclusive else x <= low)
    above = high is not None and (x > high if inclusive else x >= high)
    if below or above:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        span = f"[{lo}, {hi}]" if inclusive else f"between {lo} and {hi}"
        raise ArgumentError(f"{arg}={value!r} must be {span}{hint}")
    return x
