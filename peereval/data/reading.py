"""Finding and reading the export files of a data folder (CSV, Parquet, Excel).

Every table is read as raw values with its file row numbers, so that later messages can point a
coordinator at the exact line to fix. Nothing here interprets values; see ``validation``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from peereval.data import columnar
from peereval.data.contract import FILE_SUFFIXES, TABLES
from peereval.errors import Problem

ROW = "_row"


@dataclass(frozen=True)
class RawTable:
    """One table as exported: string-ish values, normalised column names, file row numbers."""

    name: str
    path: Path
    frame: pd.DataFrame  # includes the ROW column
    labels: Callable[[int], str] | None = None  # database rows: ROW -> the key that names the row

    @property
    def file(self) -> str:
        return self.path.name


def normalise_column(name: object) -> str:
    """Case-insensitive, space-tolerant column names: ' Hire Date ' -> 'hire_date'."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower().lstrip("\ufeff"))


def find_files(folder: Path, extra: Iterable[str] = ()) -> tuple[dict[str, Path], list[Problem]]:
    """Map each contract table (and each ``extra`` outcome table) to its file; two files for one is a problem."""
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for table in [*TABLES, *(t for t in extra if t not in TABLES)]:
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


def fingerprint(folder: Path, files: dict[str, Path], config_file: Path | None = None) -> str:
    """sha256 over the names and bytes of the input files (and program.toml), in a fixed order."""
    digest = hashlib.sha256()
    paths = sorted(files.values(), key=lambda p: p.name)
    config = config_file or folder / "program.toml"
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


_SIGNATURES = (
    (b"PK\x03\x04", "is an Excel workbook (or another zip file) saved with a .csv name",
     "rename it to .xlsx if it is a workbook, or export the table again as CSV UTF-8"),
    (b"\xd0\xcf\x11\xe0", "is an old-format Excel (.xls) workbook saved with a .csv name",
     "open it in Excel and save it as 'CSV UTF-8' (File › Save As)"),
    (b"\x1f\x8b", "is a gzip-compressed file, not a CSV file", "uncompress it first"),
    (b"PAR1", "is a Parquet file saved with a .csv name", "rename it to .parquet"),
)
_FIX_UTF8 = "save it as 'CSV UTF-8' (in Excel: File › Save As › CSV UTF-8)"


def _decode_csv(path: Path, data: bytes | None = None) -> str:
    """The file's text, or an _Unreadable saying exactly what kind of file it really is."""
    data = path.read_bytes() if data is None else data
    _check_bytes(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _Unreadable(f"is not UTF-8 text (byte 0x{data[exc.start]:02X} on this line; probably Windows-1252 "
                          "or Latin-1)", _FIX_UTF8, row=line) from None


def _check_bytes(data: bytes) -> None:
    """An _Unreadable when the bytes are another kind of file (workbook, gzip, UTF-16, binary)."""
    for magic, what, fix in _SIGNATURES:
        if data.startswith(magic):
            raise _Unreadable(what, fix)
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 4 and head[1::2].count(0) > len(head) // 4):
        raise _Unreadable("is UTF-16 text (Excel's 'Unicode Text'), not UTF-8", _FIX_UTF8)
    if b"\0" in data:
        raise _Unreadable("is not a text CSV file (it contains binary data)", "export the table again as CSV (UTF-8)")


def _csv_records(text: str) -> tuple[list[list[str]], list[int]]:
    """Non-blank CSV records with the file line each starts on (quoted line breaks stay in their value)."""
    records: list[list[str]] = []
    lines: list[int] = []
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        prev = 0
        for rec in reader:
            start, prev = prev + 1, reader.line_num
            if rec and any(v.strip() for v in rec):  # blank lines and all-empty rows (',,,') are not rows
                records.append(rec)
                lines.append(start)
    finally:
        csv.field_size_limit(limit)
    if records and any("\n" in v for v in records[-1]):  # a quote left open swallows the rest of the file
        tail = text.split("\n", lines[-1] - 1)[-1] if lines[-1] > 1 else text
        try:
            for _ in csv.reader(io.StringIO(tail, newline=""), strict=True):
                pass
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise _Unreadable("a double quote (\") opened on this line is never closed, so the rest of the "
                                  "file reads as one value", "close the quote (or remove it) and export again",
                                  row=lines[-1]) from None
    return records, lines


def _read_csv(path: Path, compact: bool = False) -> tuple[pd.DataFrame, list[int]]:
    data = path.read_bytes()
    if compact:
        _check_bytes(data)
        fast = columnar.fast_csv(data)  # Arrow's reader when nothing needs the careful one
        if fast is not None:
            return fast
    text = _decode_csv(path, data)
    records, lines = _csv_records(text)
    if not records:
        raise _Unreadable("is empty", "export the table again with its header row")
    header, data, rows = records[0], records[1:], lines[1:]
    if len(header) == 1 and header[0] and re.search(r"[;\t|]", header[0]):
        delim = csv.Sniffer().sniff(header[0], delimiters=";\t|").delimiter
        shown = {"\t": "tab", ";": "semicolon", "|": "pipe"}[delim]
        raise _Unreadable(f"uses {shown}s between fields, not commas", "export it as comma-separated CSV")
    width = len(header)
    longer = [len(rec) for rec in data if len(rec) > width and any(v.strip() for v in rec[width:])]
    if data and len(longer) > len(data) / 2:  # a title line above the header, most likely
        most = max(set(longer), key=longer.count)
        raise _Unreadable(f"the header has {width} field{'s' if width != 1 else ''} but most rows have {most}",
                          "the first line must hold the column names: remove any title lines above them",
                          row=lines[0])
    ragged: list[Problem] = []
    for i, rec in enumerate(data):
        if len(rec) > width:
            if any(v.strip() for v in rec[width:]):
                ragged.append(Problem(path.name, f"row has {len(rec)} fields but the header has {width}",
                                      "put text that contains commas in double quotes, or re-export the file",
                                      row=rows[i]))
            data[i] = rec[:width]
        elif len(rec) < width:
            data[i] = rec + [""] * (width - len(rec))
    if ragged:
        raise _Unreadable("", "", problems=ragged)
    frame = pd.DataFrame(data, columns=header, dtype=object) if data else pd.DataFrame(columns=header, dtype=object)
    return frame, rows


def _read_excel(path: Path) -> pd.DataFrame:
    if not zipfile.is_zipfile(path):
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic == b"\xd0\xcf\x11\xe0":
            raise _Unreadable("is an old-format (.xls) or password-protected Excel workbook",
                              "save it as an Excel workbook (.xlsx) without a password, or as CSV UTF-8")
        raise _Unreadable("is not an Excel workbook (the file has an .xlsx name but other content)",
                          "open it and save it again as an Excel workbook (.xlsx), or rename it to .csv")
    frame = pd.read_excel(path, dtype=object, engine="openpyxl")
    return frame


class _Unreadable(Exception):
    def __init__(self, what: str, fix: str, row: int | None = None, problems: list[Problem] | None = None):
        super().__init__(what)
        self.what, self.fix, self.row, self.problems = what, fix, row, problems


def read_table(name: str, path: Path, *, compact: bool = False) -> tuple[RawTable | None, list[Problem]]:
    """Read one file; return the raw table or the problems that stop it from being read.

    ``compact``: text columns that repeat their values come as pandas Categoricals (see
    :mod:`peereval.data.columnar`); the loader's checks take them, other readers get plain text.
    """
    suffix = path.suffix.lower()
    rows: list[int] | None = None
    try:
        if suffix == ".csv":
            frame, rows = _read_csv(path, compact)  # file lines: blank lines and quoted line breaks are accounted for
        elif suffix == ".xlsx":
            frame = _read_excel(path)
            first_row = 2  # line 1 is the header
        elif compact:
            frame = columnar.read_parquet(path)
            first_row = 1
        else:
            frame = pd.read_parquet(path)
            first_row = 1
    except _Unreadable as exc:
        return None, exc.problems or [Problem(path.name, exc.what, exc.fix, row=exc.row)]
    except Exception as exc:  # any reader failure is the file's problem, never a traceback
        kind = {".xlsx": "Excel", ".parquet": "Parquet"}.get(suffix, "CSV")
        return None, [Problem(path.name, f"cannot be read as {kind} ({type(exc).__name__}: {exc})",
                              f"export the table again as {kind}")]
    columns = [normalise_column(c) for c in frame.columns]
    dupes = sorted({c for c in columns if columns.count(c) > 1 and c and not c.startswith("unnamed:")})
    if dupes:
        return None, [Problem(path.name, f"column '{c}' appears more than once", "keep one of them",
                              column=c) for c in dupes]
    frame.columns = columns
    frame.index = pd.RangeIndex(len(frame))  # a new index on the same columns (reset_index copies them)
    frame[ROW] = rows if rows is not None else pd.RangeIndex(first_row, first_row + len(frame))
    return RawTable(name, path, frame), []
