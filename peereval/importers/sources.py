"""Reading what the importers are given: source exports, ``mapping.toml`` and known people.

Source exports are read as raw cells with their row numbers (the header is row 1), so that a
skipped row can be pointed at. Column names are compared case-insensitively with spaces folded
(``Issue key`` = ``issue_key``), as the loader does. Columns that appear several times (Jira
repeats ``Component/s`` once per component) are all kept.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from peereval.data.reading import find_files, normalise_column, read_table
from peereval.errors import DataError, Problem
from peereval.importers.into_database import DatabaseTarget

MAPPING_SECTIONS = ("jira", "github", "ics", "forms", "hr")

#: where an import goes: a data folder, or a database (its known people are read from there)
Target = Path | DatabaseTarget


@dataclass(frozen=True)
class SourceTable:
    """A tabular export: normalised column names and ``(row number, cells)`` per non-blank row."""

    file: str
    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[object, ...]], ...]
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(normalise_column(h) for h in self.headers))

    def has(self, name: str) -> bool:
        return normalise_column(name) in self.columns

    def header(self, name: str) -> str:
        """The column's name as written in the export."""
        return self.headers[self.columns.index(normalise_column(name))]

    def all(self, cells: tuple[object, ...], name: str) -> list[object]:
        """Every non-blank value of the column(s) called ``name`` in one row."""
        key = normalise_column(name)
        out = []
        for i, col in enumerate(self.columns):
            if col == key and i < len(cells) and text(cells[i]):
                out.append(cells[i])
        return out

    def get(self, cells: tuple[object, ...], name: str) -> object:
        """The first non-blank value of the column ``name`` in one row ('' when blank)."""
        values = self.all(cells, name)
        return values[0] if values else ""

    def require(self, names: list[str], fix: str) -> None:
        """Raise a DataError naming every column of ``names`` the export lacks."""
        missing = [n for n in names if not self.has(n)]
        if missing:
            raise DataError([Problem(self.file, f"required column '{n}' is missing", fix, column=n)
                             for n in missing])


def text(value: object) -> str:
    """A cell as stripped text (None → '')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _unreadable(path: Path, what: str, fix: str) -> DataError:
    return DataError([Problem(path.name, what, fix)])


def read_source(path: Path) -> SourceTable:
    """Read a CSV (comma, semicolon or tab separated, UTF-8) or the first sheet of an .xlsx file."""
    if not path.is_file():
        raise _unreadable(path, "file not found", f"check the path {path}")
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    raw = path.read_bytes()
    if b"\0" in raw[:4096]:
        raise _unreadable(path, "is not a text CSV file (it contains binary data)",
                          "export it again as CSV (UTF-8) or .xlsx")
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _unreadable(path, "is not UTF-8 text",
                          "save it as 'CSV UTF-8' (in Excel: File › Save As › CSV UTF-8)") from None
    first = content.split("\n", 1)[0]
    delimiter = ","
    if "," not in first:
        delimiter = next((d for d in (";", "\t") if d in first), ",")
    try:
        records = list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise _unreadable(path, f"cannot be read as CSV ({exc})", "export it again as CSV") from None
    if not records or not any(text(c) for c in records[0]):
        raise _unreadable(path, "is empty", "export it again with its header row")
    rows = tuple((n, tuple(r)) for n, r in enumerate(records[1:], start=2) if any(text(c) for c in r))
    return SourceTable(path.name, tuple(text(h) for h in records[0]), rows)


def _read_xlsx(path: Path) -> SourceTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # any reader failure is the file's problem, never a traceback
        raise _unreadable(path, f"cannot be read as Excel ({type(exc).__name__})",
                          "open it and save it again as an Excel workbook (.xlsx)") from None
    try:
        sheet = book.worksheets[0]
        records = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    if not records or not any(text(c) for c in records[0]):
        raise _unreadable(path, "is empty", "export it again with its header row")
    rows = tuple((n, r) for n, r in enumerate(records[1:], start=2) if any(text(c) for c in r))
    return SourceTable(path.name, tuple(text(h) for h in records[0]), rows)


# -- mapping.toml -------------------------------------------------------------------------------

Spec = Mapping[str, type | tuple[type, ...]]  # setting → str, bool, int, list (of str), dict (str → str)


def _has_type(value: object, want: type) -> bool:
    if want is dict:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if want is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, want) and not (want is int and isinstance(value, bool))


def load_settings(kind: str, spec: Spec, mapping: Path | None, options: Mapping[str, object]) -> dict:
    """The ``[kind]`` section of mapping.toml (sub-tables included), then ``options`` on top.

    Unknown settings and wrong types are problems, so a typo never silently falls back to a
    default. Sections of other importers are allowed (one mapping.toml serves them all).
    """
    file = mapping.name if mapping else "mapping.toml"
    section: dict = {}
    problems: list[Problem] = []
    if mapping is not None:
        if not mapping.is_file():
            raise DataError([Problem(file, "file not found", f"check the path {mapping}")])
        try:
            raw = tomllib.loads(mapping.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DataError([Problem(file, f"is not valid TOML ({exc})",
                                     'fix the syntax, e.g. `"Payments" = "team-payments"` under a [section]')]) from None
        for key in sorted(set(raw) - set(MAPPING_SECTIONS)):
            problems.append(Problem(file, f"unknown section [{key}]",
                                    f"use only {', '.join(f'[{s}]' for s in MAPPING_SECTIONS)} and their sub-tables"))
        section = dict(raw.get(kind, {}))
    for key, value in options.items():
        section[key] = value
    for key in sorted(section):
        where = file if key not in options else "options"
        if key not in spec:
            problems.append(Problem(where, f"unknown setting '{key}' for the {kind} importer",
                                    f"use one of: {', '.join(sorted(spec))}", column=key))
            continue
        want, value = spec[key], section[key]
        wants = want if isinstance(want, tuple) else (want,)
        if not any(_has_type(value, w) for w in wants):
            shape = " or ".join({dict: 'a table of "text" = "text"', list: 'a list of texts, e.g. ["bug"]',
                                 bool: "true or false", int: "a whole number", str: "a quoted text"}[w]
                                for w in wants)
            problems.append(Problem(where, f"setting '{key}' of [{kind}] has the wrong type ({type(value).__name__})",
                                    f"write it as {shape}", column=key))
    if problems:
        raise DataError(problems)
    return section


# -- people of the target (a folder, or a database) ------------------------------------------------

def _people(into: Target) -> tuple[str, list[dict[str, object]]]:
    """Where the target's people table is (for messages) and its rows (none when there is no table)."""
    if not isinstance(into, Path):
        _, rows = into.text_rows("people")
        return into.where("people"), rows
    files, _ = find_files(into) if into.is_dir() else ({}, [])
    if "people" not in files:
        return "people.csv", []
    raw, problems = read_table("people", files["people"])
    if problems:
        raise DataError(problems)
    frame = raw.frame
    wanted = [c for c in ("person_id", "email") if c in frame.columns]
    return "people.csv", frame[wanted].to_dict("records") if wanted else []


def people_by_email(into: Target, extra: Mapping[str, str], section: str) -> dict[str, str]:
    """lower-cased email → person_id, from the target's people table plus ``[<section>.people]``."""
    found: dict[str, str] = {}
    where, rows = _people(into)
    for r in rows:
        email, pid = text(r.get("email")), text(r.get("person_id"))
        if email and pid:
            found[email.lower()] = pid
    found.update({k.strip().lower(): v.strip() for k, v in extra.items()})
    if not found:
        raise DataError([Problem(
            where, "no email → person_id mapping is available",
            f"import the people first (peereval import hr … with an email column) or list them "
            f'in mapping.toml under [{section}.people] as "ada@example.com" = "P00001"', column="email")])
    return found


def person_ids(into: Target) -> set[str]:
    """The person ids of the target's people table (empty when there is none)."""
    _, rows = _people(into)
    return {text(r.get("person_id")) for r in rows} - {""}


def domain(email: str) -> str:
    return email.rsplit("@", 1)[1].lower() if "@" in email else ""


def is_outsider(email: str, people: Mapping[str, str]) -> bool:
    """True for an email of a domain no known person has (a guest from outside the company)."""
    internal = {domain(e) for e in people}
    return bool(domain(email)) and domain(email) not in internal
