"""Exports read as Arrow columns, handed to pandas without a Python object per value where possible.

Two things made loading 10 million tickets slow: the CSV reader parsed every line in Python, and
every text value became its own Python string. Here a CSV file that has nothing the Python reader
must account for (no double quotes, no blank lines, more than one column) is parsed by Arrow's
multithreaded reader, with the same values and the same file lines; anything else goes the
careful way (``reading._read_csv``). Text columns that repeat their values (team, priority, type,
status, …) become pandas Categoricals: one Python string per distinct value plus integer codes,
and every check then runs once per distinct value. Columns of mostly distinct values (ticket
ids) stay plain text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CATEGORICAL_SHARE = 0.5  # dictionary-encode a text column when it has at most this share of distinct values
_BOM = b"\xef\xbb\xbf"
_HEAD_BYTES = 1 << 20  # the first lines, to tell ids from repetitive columns
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def fast_csv(data: bytes) -> tuple[pd.DataFrame, np.ndarray] | None:
    """``(frame, file lines)`` like ``reading._read_csv``, or None when the careful reader is needed."""
    from pyarrow import csv as pacsv

    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if b'"' in data or not data or data.isspace():  # (blank lines: Arrow is told to refuse them, below)
        return None
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).rstrip(b"\r")  # (split() would copy the rest of the file)
    names = first.decode("utf-8", errors="replace").split(",")
    if len(names) < 2 or len(set(names)) != len(names) or not first.strip(b", \t"):
        return None
    def read(buffer, types):
        return pacsv.read_csv(
            buffer,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=True),
            # a blank line (which would shift the file lines) is a row of one field: refused, so careful reader
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False, check_utf8=True),
        )

    types = {n: pa.string() for n in names}
    try:
        cut = data.rfind(b"\n", 0, _HEAD_BYTES) if len(data) > _HEAD_BYTES else -1
        if cut > 0:  # repetitive columns (judged on the first lines) are read dictionary-encoded
            head = read(pa.py_buffer(data[:cut + 1]), types)
            types |= {n: _DICTIONARY for n in names if not _mostly_distinct(head.column(n))}
        table = read(pa.py_buffer(data), types)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None  # ragged rows, bad UTF-8, …: the careful reader says where
    lines = np.arange(2, table.num_rows + 2, dtype=np.int64)
    if table.num_rows:
        # rows of only empty fields (',,,') are not rows: only rows blank in the first column can be
        at = np.flatnonzero(_blank(table.column(0)))
        for col in table.columns[1:]:
            if not at.size:
                break
            at = at[_blank(col.take(at))]
        if at.size:
            keep = np.ones(table.num_rows, dtype=bool)
            keep[at] = False
            table, lines = table.filter(pa.array(keep)), lines[keep]
    return compact(table), lines


def read_parquet(path) -> pd.DataFrame:
    """A Parquet file as ``compact`` gives it; only repetitive text columns are read dictionary-encoded.

    Which ones is decided on the first rows: dictionary-reading a column of ids (10 million
    distinct values) costs more than reading it plain.
    """
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    text = text_columns(pf.schema_arrow)
    repetitive = text
    if text and pf.metadata.num_rows:
        head = next(pf.iter_batches(batch_size=20_000, columns=text), None)
        if head is not None:
            repetitive = [c for c in text if not _mostly_distinct(head.column(c))]
    return compact(pq.read_table(path, read_dictionary=repetitive))


def _blank(col) -> np.ndarray:
    """Values that are empty or only spaces (a dictionary column: once per distinct value)."""
    from peereval.data.values import SPACES

    if pa.types.is_dictionary(col.type):
        chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
        parts = [_blank(c.dictionary)[c.indices.to_numpy(zero_copy_only=False)] for c in chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
    return pc.equal(pc.utf8_length(pc.utf8_trim(col, SPACES)), 0).to_numpy(zero_copy_only=False)


def compact(table: pa.Table, *, date_as_object: bool = True) -> pd.DataFrame:
    """A pandas frame of ``table``; repetitive text columns as Categoricals (no Python string per value).

    Other text columns (ids) stay Arrow strings (pandas ``string[pyarrow]``), not a Python string each.
    """
    columns = []
    for col in table.columns:
        value_type = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        if _is_text(value_type):
            if _mostly_distinct(_plain(col.slice(0, _SAMPLE))):  # ids: encoding would only add a hash table
                columns.append(_plain(col))
                continue
            encoded = (col if pa.types.is_dictionary(col.type) and pa.types.is_string(value_type)
                       else _plain(col).dictionary_encode()).unify_dictionaries()
            size = len(encoded.chunk(0).dictionary) if encoded.num_chunks else 0
            col = encoded if size <= CATEGORICAL_SHARE * max(table.num_rows, 1) else _plain(col)
        elif pa.types.is_dictionary(col.type):
            col = col.cast(value_type)
        elif (pa.types.is_timestamp(col.type) and col.type.unit != "ns") or pa.types.is_date(col.type):
            try:  # the type the checks use, cast in Arrow (dates need no Python date object each)
                col = col.cast(pa.timestamp("ns", getattr(col.type, "tz", None)))
            except pa.ArrowInvalid:  # beyond year 2262: left for the checks to report
                pass
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=pa.schema(
        [pa.field(n, c.type) for n, c in zip(table.column_names, columns, strict=True)],
        metadata=table.schema.metadata)).to_pandas(
        date_as_object=date_as_object, types_mapper=_ARROW_TEXT.get, split_blocks=True)  # no 2-D block copies


_ARROW_TEXT = {pa.string(): pd.StringDtype("pyarrow")}
_SAMPLE = 20_000


def _plain(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A (dictionary-encoded) text column as plain ``string``."""
    value_type = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    plain = col.cast(value_type) if pa.types.is_dictionary(col.type) else col
    return plain.cast(pa.string()) if plain.type != pa.string() else plain


def _mostly_distinct(col: pa.ChunkedArray | pa.Array, sample: int = _SAMPLE) -> bool:
    """True when the first ``sample`` values are mostly distinct (a column of ids, not of categories)."""
    head = col.slice(0, sample)
    n = len(head)
    return n >= 1_000 and pc.count_distinct(head).as_py() > CATEGORICAL_SHARE * n


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def text_columns(schema: pa.Schema) -> list[str]:
    """Names of a schema's text columns (to read dictionary-encoded from Parquet)."""
    return [f.name for f in schema if _is_text(f.type)]
