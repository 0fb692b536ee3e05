"""Finding and reading the export files of a data folder (CSV, Parquet, Excel).

Every table is read as raw values with its file row numbers, so that later messages can point a
coordinator at the exact line to fix. Nothing here interprets values; see ``validation``.
"""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from peereval.data.contract import FILE_SUFFIXES, TABLES
from peereval.errors import Problem

ROW = "_row"


@dataclass(frozen=True)
class RawTable:
    """One table as exported: string-ish values, normalised column names, file row numbers."""

    name: str
    path: Path
    frame: pd.DataFrame  # includes the ROW column

    @property
    def file(self) -> str:
        return self.path.name


def normalise_column(name: object) -> str:
    """Case-insensitive, space-tolerant column names: ' Hire Date ' -> 'hire_date'."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower().lstrip("\ufeff"))


def find_files(folder: Path) -> tuple[dict[str, Path], list[Problem]]:
    """Map each contract table to its file; two files for one table is a problem."""
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for table in TABLES:
        candidates = sorted(
            p for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in FILE_SUFFIXES and p.stem.lower() == table
        )
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            problems.append(Problem(candidates[0].name, f"several files for table '{table}' ({names})",
                                    "keep exactly one of them in the folder"))
        elif candidates:
            found[table] = candidates[0]
    return found, problems


def fingerprint(folder: Path, files: dict[str, Path]) -> str:
    """sha256 over the names and bytes of the input files (and program.toml), in a fixed order."""
    digest = hashlib.sha256()
    paths = sorted(files.values(), key=lambda p: p.name)
    config = folder / "program.toml"
    if config.exists():
        paths.append(config)
    for path in paths:
        digest.update(path.name.encode())
        digest.update(b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def _read_csv(path: Path) -> pd.DataFrame:
    with path.open("rb") as fh:
        head = fh.read(4096)
    if b"\0" in head:
        raise _Unreadable("is not a text CSV file (it contains binary data)",
                          "export the table again as CSV (UTF-8)")
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass  # a multi-byte character may be cut at the boundary; the full read decides
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                            skip_blank_lines=True)
    except UnicodeDecodeError:
        raise _Unreadable("is not UTF-8 text",
                          "save it as 'CSV UTF-8' (in Excel: File › Save As › CSV UTF-8)") from None
    except pd.errors.EmptyDataError:
        raise _Unreadable("is empty", "export the table again with its header row") from None
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f" at line {line.group(1)}" if line else ""
        raise _Unreadable(f"has rows with more fields than the header{where}",
                          "check for unquoted commas in text fields, or re-export the file") from None
    if frame.shape[1] == 1 and frame.columns[0] and re.search(r"[;\t|]", str(frame.columns[0])):
        delim = csv.Sniffer().sniff(str(frame.columns[0]), delimiters=";\t|").delimiter
        shown = {"\t": "tab", ";": "semicolon", "|": "pipe"}[delim]
        raise _Unreadable(f"uses {shown}s between fields, not commas",
                          "export it as comma-separated CSV")
    return frame


def _read_excel(path: Path) -> pd.DataFrame:
    if not zipfile.is_zipfile(path):
        raise _Unreadable("is not an Excel workbook (the file has an .xlsx name but other content)",
                          "open it and save it again as an Excel workbook (.xlsx), or rename it to .csv")
    frame = pd.read_excel(path, dtype=object, engine="openpyxl")
    return frame


class _Unreadable(Exception):
    def __init__(self, what: str, fix: str):
        super().__init__(what)
        self.what, self.fix = what, fix


def read_table(name: str, path: Path) -> tuple[RawTable | None, list[Problem]]:
    """Read one file; return the raw table or the problems that stop it from being read."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = _read_csv(path)
            first_row = 2  # line 1 is the header
        elif suffix == ".xlsx":
            frame = _read_excel(path)
            first_row = 2
        else:
            frame = pd.read_parquet(path)
            first_row = 1
    except _Unreadable as exc:
        return None, [Problem(path.name, exc.what, exc.fix)]
    except Exception as exc:  # any reader failure is the file's problem, never a traceback
        kind = {".xlsx": "Excel", ".parquet": "Parquet"}.get(suffix, "CSV")
        return None, [Problem(path.name, f"cannot be read as {kind} ({type(exc).__name__}: {exc})",
                              f"export the table again as {kind}")]
    columns = [normalise_column(c) for c in frame.columns]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        return None, [Problem(path.name, f"column '{c}' appears more than once", "keep one of them",
                              column=c) for c in dupes]
    frame.columns = columns
    frame = frame.reset_index(drop=True)
    frame[ROW] = pd.RangeIndex(first_row, first_row + len(frame))
    return RawTable(name, path, frame), []
