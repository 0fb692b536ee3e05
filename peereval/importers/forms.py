"""Google Forms / Microsoft Forms responses (CSV or .xlsx) → ``surveys.csv``.

The flavour is recognised from the header: Google writes ``Timestamp``, ``Email address``, then
one column per question; Microsoft writes ``ID``, ``Start time``, ``Completion time``, ``Email``,
``Name`` (and quiz columns), then the questions. The date is the day of ``Timestamp`` /
``Completion time``. The respondent's email is matched to person_id through the folder's people
table and ``[forms.people]``; emails and names are never written.

A question column is a Likert question when most of its answers are on the 1–5 scale (or when it
is listed in ``questions``): one surveys row per respondent and answered Likert question.
Free-text answers are written only for ``comment_question``, as the ``comment`` of the
respondent's row for ``comment_on`` (default: the respondent's first answered Likert question,
so that the comment is not lost with a skipped question).
"""

from __future__ import annotations

import re
from pathlib import Path

from peereval.data.reading import normalise_column
from peereval.errors import DataError, Problem
from peereval.importers.dates import GOOGLE_FORMATS, UNREADABLE, date_reader, day_text
from peereval.importers.merge import Skips
from peereval.importers.sources import (
    SourceTable,
    Target,
    is_outsider,
    people_by_email,
    read_source,
    text,
)

SETTINGS = {"people": dict, "likert": dict, "questions": list, "comment_question": str,
            "comment_on": str, "date_format": str, "locale": str, "timezone": (str, dict)}
TABLES = ("surveys",)
UNIT = "response"

LIKERT = {
    "strongly disagree": 1, "disagree": 2, "somewhat disagree": 2, "neither agree nor disagree": 3, "neither agree or disagree": 3,
    "neutral": 3, "somewhat agree": 4, "agree": 4, "strongly agree": 5,
    "very dissatisfied": 1, "dissatisfied": 2, "somewhat dissatisfied": 2,
    "neither satisfied nor dissatisfied": 3, "somewhat satisfied": 4, "satisfied": 4, "very satisfied": 5,
}
GOOGLE_META = {"timestamp", "email_address", "username", "score"}
MS_META = {"id", "start_time", "completion_time", "email", "name", "last_modified_time", "total_points",
           "quiz_feedback", "grade_posted_to_students"}
_LEADING = re.compile(r"^([1-5])(?:\s*[-–:.)]\s+\S.*)?$")


def likert_score(answer: str, extra: dict[str, int]) -> int | None:
    """1–5 for a Likert answer ('Strongly agree' → 5, '4' → 4, '5 - Very useful' → 5), else None.

    Example::

        >>> likert_score("Very dissatisfied", {}), likert_score(" agree ", {}), likert_score("7", {})
        (1, 4, None)
    """
    s = " ".join(re.sub(r"[^\w\s]", " ", answer.lower()).split())
    if s in extra:
        return extra[s]
    if s in LIKERT:
        return LIKERT[s]
    m = _LEADING.match(answer.strip())
    return int(m.group(1)) if m else None


FIX_EMAIL = ("collect respondents' emails (Google: Settings › Responses › Collect email addresses; "
             "Microsoft: 'Only people in my organization can respond' with 'Record name'), then export again")


def _flavour(src: SourceTable) -> tuple[str, str, str, set[str]]:
    """(flavour, date column, email column, meta columns) from the header."""
    fix_email = FIX_EMAIL
    if src.has("Timestamp"):
        email = next((c for c in ("Email address", "Username") if src.has(c)), None)
        if email is None:
            raise DataError([Problem(src.file, "required column 'Email address' is missing", fix_email,
                                     column="Email address")])
        return "Google Forms", "Timestamp", email, GOOGLE_META
    if src.has("Completion time"):
        if not src.has("Email"):
            raise DataError([Problem(src.file, "required column 'Email' is missing", fix_email, column="Email")])
        return "Microsoft Forms", "Completion time", "Email", MS_META
    raise DataError([Problem(src.file, "required column 'Timestamp' (Google Forms) or 'Completion time' "
                                       "(Microsoft Forms) is missing",
                             "export the responses as they are: Google Forms › Responses › Download responses "
                             "(.csv), or Microsoft Forms › Responses › Open in Excel", column="Timestamp")])


def extract(source: Path, settings: dict, into: Target, skips: Skips) -> dict[str, list[dict]]:
    """Rows of ``surveys.csv`` from a Google Forms or Microsoft Forms export.

    Example::

        >>> out = extract(Path("google_forms.csv"),
        ...               {"comment_question": "Anything else you'd like to tell us?"},
        ...               Path("data"), Skips())                              # doctest: +SKIP
        >>> out["surveys"][0]                                                # doctest: +SKIP
        {'person_id': 'P00002', 'date': '2026-03-27', 'score': '4', 'question': '…', 'comment': ''}
    """
    src = read_source(source)
    _, date_col, email_col, meta = _flavour(src)
    extra = {}
    for answer, score in settings.get("likert", {}).items():
        if score.strip() not in {"1", "2", "3", "4", "5"}:
            raise DataError([Problem("mapping.toml", f"[forms.likert] maps '{answer}' to '{score}'",
                                     'map answers to "1" … "5"', column=answer)])
        extra[" ".join(re.sub(r"[^\w\s]", " ", answer.lower()).split())] = int(score)
    candidates = [i for i, c in enumerate(src.columns) if c not in meta
                  and not c.startswith(("points_", "feedback_")) and src.headers[i]]
    comment_q = settings.get("comment_question")
    for name in [*settings.get("questions", []), *([comment_q] if comment_q else []),
                 *([settings["comment_on"]] if settings.get("comment_on") else [])]:
        if not src.has(name):
            raise DataError([Problem(src.file, f"question column '{name}' (named in mapping.toml) is missing",
                                     "copy the question text exactly from the export's header row",
                                     column=name)])
    comment_idx = src.columns.index(normalise_column(comment_q)) if comment_q else None
    if settings.get("questions"):
        wanted = {normalise_column(q) for q in settings["questions"]}
        likert = [i for i in candidates if src.columns[i] in wanted]
    else:
        likert = [i for i in candidates if i != comment_idx and _is_likert(src, i, extra)]
    for i in candidates:
        if i not in likert and i != comment_idx:
            n = sum(1 for _, cells in src.rows if i < len(cells) and text(cells[i]))
            if n:
                skips.add(f"free-text answers not imported ('{src.headers[i][:40]}')", f"{src.file}:{src.rows[0][0]}",
                          n, unit="answer", expected=True,
                          fix="only Likert questions and comment_question are imported")
    if not likert:
        raise DataError([Problem(src.file, "no question with answers on a 1–5 scale was found",
                                 "list the Likert questions in mapping.toml: [forms] questions = [\"…\"], and map "
                                 'unusual answers in [forms.likert], e.g. "Very useful" = "5"')])
    comment_on = src.columns.index(normalise_column(settings["comment_on"])) if settings.get("comment_on") else None
    people = people_by_email(into, settings.get("people", {}), "forms")
    reader = date_reader((src.get(c, date_col) for _, c in src.rows), settings, src.file,
                         src.header(date_col), "forms", GOOGLE_FORMATS)
    rows = []
    off_scale: dict[str, int] = {}
    for n, cells in src.rows:
        where = f"{src.file}:{n}"
        skips.read()
        email = text(src.get(cells, email_col)).lower()
        if not email or email == "anonymous":
            skips.add("anonymous response (no email)", where, fix=FIX_EMAIL)
            continue
        if email not in people:
            if is_outsider(email, people):
                skips.add("respondent from outside the company (email domain not in people)", where,
                          expected=True, fix='add them to [forms.people] if they belong to a team')
            else:
                skips.add("email not in people (add it to [forms.people])", where,
                          fix='import the people first, or add it to [forms.people]: "ada@example.com" = "P00001"')
            continue
        raw = src.get(cells, date_col)
        when = reader.parse(raw)
        if when is None:
            why, fix = reader.failure(raw)
            col = src.header(date_col)
            skips.add(f"{col} missing or unreadable" if why == UNREADABLE else f"{col} {why}", where,
                      fix=fix or f'set the format in mapping.toml: [forms] date_format = "…" (as {col} is written)')
            continue
        comment = text(cells[comment_idx]) if comment_idx is not None and comment_idx < len(cells) else ""
        answered = [i for i in likert if i < len(cells) and likert_score(text(cells[i]), extra) is not None]
        attach = comment_on if comment_on is not None else (answered or likert)[0]
        for i in likert:
            answer = text(cells[i]) if i < len(cells) else ""
            note = comment if i == attach else ""
            if not answer and not note:
                skips.add("question left blank", where, unit="answer", expected=True)
                continue
            skips.read(unit="answer")
            score = likert_score(answer, extra) if answer else None
            if answer and score is None:
                off_scale[answer] = off_scale.get(answer, 0) + 1
                skips.add("answer not on the 1–5 scale", where, unit="answer")
                continue
            rows.append({"person_id": people[email], "date": day_text(when),
                         "score": "" if score is None else str(score), "question": src.headers[i],
                         "comment": note, "_where": where})
    if off_scale:
        shown = ", ".join(f'"{a}" = "3"' for a in sorted(off_scale, key=lambda a: (-off_scale[a], a))[:3])
        skips.set_fix("answer not on the 1–5 scale", f"map the answers to scores in [forms.likert], e.g. {shown}")
    return {"surveys": rows}


def _is_likert(src: SourceTable, i: int, extra: dict[str, int]) -> bool:
    answers = [text(cells[i]) for _, cells in src.rows if i < len(cells) and text(cells[i])]
    on_scale = sum(likert_score(a, extra) is not None for a in answers)
    return bool(answers) and on_scale * 2 > len(answers)
