"""Several models side by side, as fixest's ``etable``: ``peereval.table(results, format=...)``.

One column per model, one row per term (the estimate, and under it the interval or standard
error), then the p-value, N, clusters, inference method and scale. Markdown is written directly;
HTML and LaTeX come from pandas' Styler (jinja2, already a dependency), so a table needs no web
fonts or scripts and works offline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from peereval.errors import ArgumentError, ArgumentTypeError
from peereval.estimate.display import draws_of, p_text
from peereval.estimate.options import check_option

TableFormat = Literal["markdown", "latex", "html", "dataframe"]
Uncertainty = Literal["interval", "se"]
STAT_ROWS = ("p-value", "N", "clusters", "inference", "scale")


def table(results: Any, format: TableFormat = "markdown", *, digits: int = 3,
          uncertainty: Uncertainty = "interval", labels: Mapping[str, str] | None = None,
          caption: str | None = None) -> str | pd.DataFrame:
    """Models side by side: ``results`` is a list (columns (1), (2), …) or a dict name → result.

    Accepts :class:`~peereval.estimate.EffectResult` (``did``, ``time_ratio``, aggregates of
    ``staggered_did``, …), :class:`~peereval.effects.OutcomeEffect` (effects on the report's
    scale) and :class:`~peereval.estimate.CoxResult` (one row per term, hazard ratios). Terms keep
    their names (the ``treated`` column of a DiD, ``time_ratio``, ``ATT (simple)``, ``effect`` for
    outcome effects) unless ``labels`` renames them, so the same term lines up across models.
    ``uncertainty="interval"`` prints the confidence interval under each estimate, ``"se"`` the
    standard error (blank where the method gives none, e.g. the wild bootstrap). A resampling
    p-value of 0 is printed as ``< 1/(B+1)``.

    Example:
        >>> import numpy as np, pandas as pd, peereval
        >>> from peereval.estimate import did
        >>> rng = np.random.default_rng(1)
        >>> p = pd.DataFrame([(u, t) for u in range(12) for t in range(10)], columns=["team", "month"])
        >>> p["treated"] = ((p.team < 6) & (p.month >= 5)).astype(int)
        >>> p["y"] = 0.1 * p.month - 1.0 * p.treated + rng.normal(size=len(p))
        >>> fits = {"CR1": did(p, outcome="y", unit="team", time="month", treated="treated", inference="cluster"),
        ...         "two-way": did(p, outcome="y", unit="team", time="month", treated="treated",
        ...                        cluster=["team", "month"])}
        >>> print(peereval.table(fits).splitlines()[2])
        | treated | -0.854 | -0.854 |
    """
    fmt = check_option("format", format, TableFormat)
    check_option("uncertainty", uncertainty, Uncertainty)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 10:
        raise ArgumentError(f"digits={digits!r} must be a whole number from 0 to 10")
    models = _models(results)
    frame = _frame(models, digits, uncertainty, dict(labels or {}))
    if fmt == "dataframe":
        return frame
    if fmt == "markdown":
        return _markdown(frame, caption)
    styler = frame.style.set_uuid("peereval")  # a fixed id: the same results give the same bytes
    if caption:
        styler = styler.set_caption(caption)
    if fmt == "html":
        styler = styler.set_table_styles([
            {"selector": "", "props": "border-collapse: collapse; font-variant-numeric: tabular-nums;"},
            {"selector": "th, td", "props": "padding: 2px 10px; text-align: right;"},
            {"selector": "th.row_heading", "props": "text-align: left;"},
            {"selector": "thead th", "props": "border-bottom: 1px solid #333;"}])
        return styler.to_html()
    latex = styler.format_index(escape="latex", axis=0).format_index(escape="latex", axis=1).format(
        escape="latex").to_latex(hrules=True)
    for char, tex in (("×", r"$\times$"), ("−", "-"), ("∞", r"$\infty$"), ("<", r"$<$")):
        latex = latex.replace(char, tex)
    return latex


def _models(results: Any) -> dict[str, Any]:
    if isinstance(results, Mapping):
        models = {str(k): v for k, v in results.items()}
    elif isinstance(results, Sequence) and not isinstance(results, str):
        models = {f"({i + 1})": r for i, r in enumerate(results)}
    elif _kind(results) is not None:
        models = {"(1)": results}
    else:
        raise ArgumentTypeError(f"results must be a list or a dict of results, not {type(results).__name__}")
    if not models:
        raise ArgumentError("results is empty; pass at least one result")
    for name, r in models.items():
        if _kind(r) is None:
            hint = (" (use .aggregate('simple') or another aggregation)" if type(r).__name__ == "StaggeredResult"
                    else "")
            raise ArgumentTypeError(
                f"results[{name!r}] is a {type(r).__name__}{hint}; table() takes EffectResult (did, time_ratio, "
                "aggregates), OutcomeEffect and CoxResult")
    return models


def _kind(r: Any) -> str | None:
    name = type(r).__name__
    if name == "CoxResult":
        return "cox"
    if name == "OutcomeEffect":
        return "outcome"
    if all(hasattr(r, a) for a in ("estimate", "ci_low", "ci_high", "p_value", "term", "details")):
        return "effect"
    return None


def _num(x: float, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}f}"


def _below(est_lo_hi_se: tuple[float, float, float], digits: int, uncertainty: str) -> str:
    lo, hi, se = est_lo_hi_se
    if uncertainty == "se":
        return f"({_num(se, digits)})" if se is not None and math.isfinite(se) else ""
    if lo is None or not (math.isfinite(lo) or math.isfinite(hi)):
        return "no interval"
    return f"[{_num(lo, digits)}, {_num(hi, digits)}]"


def _rows(r: Any) -> tuple[list[tuple[str, float, float, float, float]], dict[str, Any], str]:
    """(term, estimate, ci_low, ci_high, std_error) rows, details for the stat rows, scale."""
    kind = _kind(r)
    if kind == "cox":
        s = r.summary()
        return ([(t, row.hazard_ratio, row.ci_low, row.ci_high, math.nan) for t, row in s.iterrows()],
                {"n": r.n_obs, "n_clusters": r.n_clusters, "p": None, "inference": _cox_inference(r)},
                "hazard ratio")
    if kind == "outcome":
        m = r.model
        details = dict(m.details) if m is not None else {}
        info = {"n": r.n_rows, "n_clusters": details.get("n_clusters", r.n_teams), "p": (r.p_value, details),
                "inference": _inference(details, r.method)}
        return [("effect", r.estimate, r.ci_low, r.ci_high, math.nan)], info, r.scale
    term = f"ATT ({r.term})" if type(r).__name__ == "AggregateResult" else r.term
    d = dict(r.details)
    scale = "ratio" if getattr(r, "null_value", 0.0) == 1.0 else ""
    info = {"n": r.n_obs, "n_clusters": d.get("n_clusters"), "p": (r.p_value, d),
            "inference": _inference(d, r.method)}
    return [(term, r.estimate, r.ci_low, r.ci_high, r.std_error)], info, scale


def _frame(models: dict[str, Any], digits: int, uncertainty: str, labels: dict[str, str]) -> pd.DataFrame:
    cells: dict[str, dict[str, str]] = {}
    order: list[str] = []
    for name, r in models.items():
        rows, info, scale = _rows(r)
        col = cells.setdefault(name, {})
        for term, est, lo, hi, se in rows:
            label = labels.get(term, term)
            if label not in order:
                order.append(label)
            col[label] = _num(est, digits)
            col[label + "\u200b"] = _below((lo, hi, se), digits, uncertainty)  # the line under it
        if len(rows) == 1 and info["p"] is not None:
            p, d = info["p"]
            col["p-value"] = p_text(p, draws_of(d))
        col["N"] = f"{int(info['n']):,}" if info["n"] is not None else ""
        col["clusters"] = _clusters(info["n_clusters"])
        col["inference"] = info["inference"]
        col["scale"] = scale
    index = [x for t in order for x in (t, t + "\u200b")] + list(STAT_ROWS)
    frame = pd.DataFrame({name: [cells[name].get(i, "") for i in index] for name in models}, index=index)
    frame.index = [("" if i.endswith("\u200b") else i) for i in index]
    empty = [i for i in STAT_ROWS if (frame.loc[i] == "").all()]
    return frame.drop(index=empty)


def _clusters(n: Any) -> str:
    if n is None:
        return ""
    if isinstance(n, Mapping):
        return " × ".join(f"{int(v)}" for v in n.values())
    return f"{int(n):,}"


def _inference(d: Mapping[str, Any], method: str) -> str:
    how = d.get("inference")
    cl = d.get("cluster")
    by = " × ".join(cl) if isinstance(cl, (list, tuple)) else (cl or "")
    if how == "cluster":
        return f"CR1 by {by}" if by else "CR1"
    if how == "wild":
        return f"wild bootstrap by {by}"
    if how == "randomization":
        return "randomization" + (" (exact)" if d.get("exact") else "")
    if how == "influence":
        return "influence function"
    if "cluster sandwich" in method:
        by = method.split("by ", 1)[1].split(" ")[0].strip("'") if "by " in method else ""
        return f"cluster sandwich by {by}" if by else "cluster sandwich"
    if "model-based" in method:
        return "model-based"
    return method.split(";")[0][:40]


def _cox_inference(r: Any) -> str:
    return f"robust by {r.cluster}" if r.cluster else "model-based"


def _markdown(frame: pd.DataFrame, caption: str | None) -> str:
    cols = [""] + list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|"]
    for label, row in frame.iterrows():
        lines.append("| " + " | ".join([str(label), *[str(v) for v in row]]) + " |")
    text = "\n".join(lines)
    return f"{caption}\n\n{text}" if caption else text
