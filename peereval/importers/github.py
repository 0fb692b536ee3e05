"""GitHub issues (``gh issue list --json number,createdAt,closedAt,labels,assignees``) → ``tickets.csv``.

ticket_id is ``<repo>#<number>`` (``repo`` setting, else taken from each issue's ``url`` when the
export has it). The team comes from the first label found in ``[github.labels]`` (label → team);
type is ``bug`` when a label is in ``bug_labels`` (default ``["bug"]``), else ``issue``.
GitHub times are UTC (``…Z``) and are written as UTC. Row numbers in messages are the 1-based
position of the issue in the JSON array.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from peereval.errors import DataError, Problem
from peereval.importers.dates import parse, timestamp_text
from peereval.importers.merge import Skips

SETTINGS = {"repo": str, "labels": dict, "bug_labels": list, "priority_labels": dict}
TABLES = ("tickets",)
FIX = "export again with: gh issue list --state all --limit 10000 --json number,createdAt,closedAt,labels,assignees,url"
_URL = re.compile(r"github\.com/([^/]+/[^/]+)/(?:issues|pull)/\d+")


def _load(source: Path) -> list:
    if not source.is_file():
        raise DataError([Problem(source.name, "file not found", f"check the path {source}")])
    try:
        items = json.loads(source.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError([Problem(source.name, "is not UTF-8 text", FIX)]) from None
    except json.JSONDecodeError as exc:
        raise DataError([Problem(source.name, f"is not valid JSON ({exc.msg})", FIX, row=exc.lineno)]) from None
    if not isinstance(items, list):
        raise DataError([Problem(source.name, "is not a JSON array of issues", FIX)])
    return items


def extract(source: Path, settings: dict, into: Path, skips: Skips) -> dict[str, list[dict]]:
    """Rows of ``tickets.csv`` from a ``gh issue list --json …`` export.

    Example::

        >>> rows = extract(Path("issues.json"), {"repo": "acme/shop",
        ...                "labels": {"team:checkout": "team-bravo"}}, Path("data"), Skips())  # doctest: +SKIP
        >>> rows["tickets"][0]["ticket_id"]                                               # doctest: +SKIP
        'acme/shop#412'
    """
    items = _load(source)
    file = source.name
    objects = [i for i in items if isinstance(i, dict)]
    for field in ("number", "createdAt", "labels"):
        if objects and not any(field in i for i in objects):
            raise DataError([Problem(file, f"required field '{field}' is missing from every issue", FIX,
                                     column=field)])
    labels = {k.strip().lower(): v.strip() for k, v in settings.get("labels", {}).items()}
    if not labels:
        raise DataError([Problem("mapping.toml", "no label → team map",
                                 'add [github.labels] to mapping.toml, e.g. "team:checkout" = "team-bravo"',
                                 column="github.labels")])
    bug_labels = {b.strip().lower() for b in settings.get("bug_labels", ["bug"])}
    priorities = {k.strip().lower(): v.strip() for k, v in settings.get("priority_labels", {}).items()}
    repo = settings.get("repo", "").strip()
    if not repo and objects and not any(_URL.search(str(i.get("url", ""))) for i in objects):
        raise DataError([Problem(file, "the repository of the issues is not known",
                                 'set it in mapping.toml: [github] repo = "owner/name" (or export with the url field)',
                                 column="repo")])
    rows = []
    for n, item in enumerate(items, start=1):
        where = f"{file}:{n}"
        if not isinstance(item, dict):
            skips.add("not an issue object", where)
            continue
        number = item.get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            skips.add("number missing or not a whole number", where)
            continue
        created = parse(item.get("createdAt"))
        if created is None:
            skips.add("createdAt missing or unreadable", where)
            continue
        closed_raw = item.get("closedAt") or ""
        closed = None if str(closed_raw).startswith("0001-01-01") else parse(closed_raw)
        if closed_raw and closed is None and not str(closed_raw).startswith("0001-01-01"):
            skips.add("closedAt unreadable", where)
            continue
        names = [str(lab.get("name", "")).strip() for lab in item.get("labels") or [] if isinstance(lab, dict)]
        lower = [x.lower() for x in names]
        teams = sorted({labels[x] for x in lower if x in labels})
        if not teams:
            skips.add("no team: no label in [github.labels]", where)
            continue
        if len(teams) > 1:
            skips.add("labels map to several teams", where)
            continue
        issue_repo = repo or _repo_from_url(item)
        if not issue_repo:
            skips.add("repository unknown (no url, no repo setting)", where)
            continue
        rows.append({
            "ticket_id": f"{issue_repo}#{number}", "team": teams[0],
            "created_at": timestamp_text(created), "resolved_at": timestamp_text(closed) if closed else "",
            "priority": next((priorities[x] for x in lower if x in priorities), ""),
            "type": "bug" if bug_labels & set(lower) else "issue", "_where": where,
        })
    return {"tickets": rows}


def _repo_from_url(item: dict) -> str:
    m = _URL.search(str(item.get("url", "")))
    return m.group(1) if m else ""
