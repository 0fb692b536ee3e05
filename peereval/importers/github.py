"""GitHub issues → ``tickets.csv``, from ``gh`` JSON or the REST API's JSON.

Two shapes are read:

* ``gh issue list --json number,createdAt,closedAt,labels,url`` (also ``gh search issues
  --include-prs --json …``, whose pull requests carry ``isPullRequest: true``);
* the REST API's ``GET /repos/{owner}/{repo}/issues`` (what ``gh api`` and most export tools
  write: ``number``, ``html_url``, ``created_at``, ``closed_at``, ``labels[].name``, ``state``,
  and a ``pull_request`` key on pull requests), including ``gh api --paginate`` output, which
  writes one array per page one after another (``[…][…]``), ``--slurp`` output (an array of
  pages) and the search API's ``{"items": […]}``.

Pull requests (``isPullRequest``, a ``pull_request`` key, or a ``/pull/`` URL) are never tickets:
they are counted as left out by design and do not count toward the skip limit. ticket_id is
``<repo>#<number>`` (``repo`` setting, else each issue's URL or repository). The team comes from
the label in ``[github.labels]``; type is ``bug`` when a label is in ``bug_labels`` (default
``["bug"]``), else ``issue``; priority from ``[github.priority_labels]``, else blank (none is made
up). GitHub times are UTC and are written as UTC. Row numbers in messages are the 1-based position
of the issue in the file (across pages).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from peereval.errors import DataError, Problem
from peereval.importers.dates import parse, timestamp_text
from peereval.importers.merge import Skips
from peereval.importers.sources import Target

SETTINGS = {"repo": str, "labels": dict, "bug_labels": list, "priority_labels": dict}
TABLES = ("tickets",)
UNIT = "issue"
FIX = ("export again with: gh issue list --state all --limit 10000 --json number,createdAt,closedAt,labels,url "
       "(or gh api --paginate 'repos/OWNER/REPO/issues?state=all&per_page=100')")
_URL = re.compile(r"github\.com/(?:repos/)?([^/\s]+/[^/\s]+)/(?:issues|pull|pulls)/\d+")
_REPO_URL = re.compile(r"github\.com/repos/([^/\s]+/[^/\s]+?)/?$")
PULL_REQUEST = "pull request (not an issue)"


def _load(source: Path) -> list:
    """Every JSON value of the file, pages flattened: ``[…]``, ``[…][…]``, ``[[…], […]]``, ``{"items": […]}``."""
    if not source.is_file():
        raise DataError([Problem(source.name, "file not found", f"check the path {source}")])
    try:
        content = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError([Problem(source.name, "is not UTF-8 text", FIX)]) from None
    decoder = json.JSONDecoder()
    values, pos = [], 0
    while True:
        while pos < len(content) and content[pos].isspace():
            pos += 1
        if pos >= len(content):
            break
        try:
            value, pos = decoder.raw_decode(content, pos)
        except json.JSONDecodeError as exc:
            raise DataError([Problem(source.name, f"is not valid JSON ({exc.msg})", FIX, row=exc.lineno)]) from None
        values.append(value)
    items: list = []
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("items"), list):
            value = value["items"]
        if not isinstance(value, list):
            raise DataError([Problem(source.name, "is not a JSON array of issues", FIX)])
        for item in value:
            items.extend(item if isinstance(item, list) else [item])
    return items


def is_pull_request(item: dict) -> bool:
    """A pull request in either shape: ``isPullRequest`` (gh), a ``pull_request`` key (REST), a /pull/ URL."""
    if item.get("isPullRequest") is True or item.get("pull_request"):
        return True
    return any("/pull/" in str(item.get(k, "")) for k in ("url", "html_url"))


def _repo(item: dict) -> str:
    for key in ("html_url", "url"):
        m = _URL.search(str(item.get(key, "")))
        if m:
            return m.group(1)
    m = _REPO_URL.search(str(item.get("repository_url", "")))
    if m:
        return m.group(1)
    repository = item.get("repository")
    if isinstance(repository, dict) and isinstance(repository.get("nameWithOwner"), str):
        return repository["nameWithOwner"]
    return ""


def _label_names(item: dict) -> list[str]:
    out = []
    for lab in item.get("labels") or []:
        name = lab.get("name", "") if isinstance(lab, dict) else lab if isinstance(lab, str) else ""
        if str(name).strip():
            out.append(str(name).strip())
    return out


def extract(source: Path, settings: dict, into: Target, skips: Skips) -> dict[str, list[dict]]:
    """Rows of ``tickets.csv`` from a ``gh`` or REST API issues export.

    Example::

        >>> rows = extract(Path("issues.json"), {"repo": "acme/shop",
        ...                "labels": {"team:checkout": "team-bravo"}}, Path("data"), Skips())  # doctest: +SKIP
        >>> rows["tickets"][0]["ticket_id"]                                               # doctest: +SKIP
        'acme/shop#412'
    """
    items = _load(source)
    file = source.name
    objects = [i for i in items if isinstance(i, dict)]
    rest = any("created_at" in i or "html_url" in i for i in objects)
    created_key, closed_key = ("created_at", "closed_at") if rest else ("createdAt", "closedAt")
    for field in ("number", created_key, "labels"):
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
    if not repo and objects and not any(_repo(i) for i in objects):
        raise DataError([Problem(file, "the repository of the issues is not known",
                                 'set it in mapping.toml: [github] repo = "owner/name" (or export with the url field)',
                                 column="repo")])
    rows = []
    unlabelled: dict[str, int] = {}
    for n, item in enumerate(items, start=1):
        where = f"{file}:{n}"
        if isinstance(item, dict) and is_pull_request(item):
            skips.add(PULL_REQUEST, where, unit="pull request", expected=True,
                      fix="pull requests are not issues; they are never imported as tickets")
            continue
        skips.read()
        if not isinstance(item, dict):
            skips.add("not an issue object", where, fix=FIX)
            continue
        number = item.get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            skips.add("number missing or not a whole number", where, fix=FIX)
            continue
        created = parse(item.get(created_key))
        if created is None:
            skips.add(f"{created_key} missing or unreadable", where, fix=FIX)
            continue
        closed_raw = item.get(closed_key) or ""
        closed = None if str(closed_raw).startswith("0001-01-01") else parse(closed_raw)
        if closed_raw and closed is None and not str(closed_raw).startswith("0001-01-01"):
            skips.add(f"{closed_key} unreadable", where, fix=FIX)
            continue
        names = _label_names(item)
        lower = [x.lower() for x in names]
        teams = sorted({labels[x] for x in lower if x in labels})
        if not teams:
            for x in names:
                unlabelled[x] = unlabelled.get(x, 0) + 1
            skips.add("no team: no label in [github.labels]", where,
                      fix="give each issue its team label in GitHub, or map its labels in [github.labels]")
            continue
        if len(teams) > 1:
            skips.add("labels map to several teams", where, fix="keep one team label per issue in GitHub")
            continue
        issue_repo = repo or _repo(item)
        if not issue_repo:
            skips.add("repository unknown (no url, no repo setting)", where,
                      fix='set it in mapping.toml: [github] repo = "owner/name"')
            continue
        rows.append({
            "ticket_id": f"{issue_repo}#{number}", "team": teams[0],
            "created_at": timestamp_text(created), "resolved_at": timestamp_text(closed) if closed else "",
            "priority": next((priorities[x] for x in lower if x in priorities), ""),
            "type": "bug" if bug_labels & set(lower) else "issue", "_where": where,
        })
    if unlabelled:
        seen = ", ".join(f'"{x}"' for x in sorted(unlabelled, key=lambda x: (-unlabelled[x], x))[:4])
        skips.set_fix("no team: no label in [github.labels]",
                      f"map the team labels in [github.labels] (labels on these issues: {seen}), or label the "
                      "issues with their team in GitHub")
    return {"tickets": rows}
