"""Imported cells (text) and typed database columns: one text per value, and back.

The folder path compares and writes cells as the CSV's text. A database column has a type, so
an imported value is compared with a stored one through the column's type: both sides become
the same canonical text (``2026-03-12T09:14:00`` for a timestamp, ``2026-03-12`` for a date,
``90`` for the number 90.0, times with a zone in UTC as the importers and the loader read them).
Re-importing the same export then finds every row unchanged whatever the column's type.

New tables get the contract's types: ``DATE`` for dates, ``TIMESTAMP`` for the tickets' times,
``DOUBLE PRECISION`` for numbers, ``VARCHAR`` for the rest (blank cells become NULL), so the
loader reads dates and numbers typed.

>>> cell_text(90.0), cell_text(datetime(2026, 3, 12, 9, 14)), cell_text(None)
('90', '2026-03-12T09:14:00', '')
>>> parse_cell("2026-03-12", pa.timestamp("us")), parse_cell("7.50", pa.float64())
(datetime.datetime(2026, 3, 12, 0, 0), 7.5)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import pyarrow as pa

from peereval.data.contract import TABLES

#: contract "date" columns that hold a time of day (the others are calendar days)
TIMESTAMP_COLUMNS = {("tickets", "created_at"), ("tickets", "resolved_at")}


def contract_type(table: str, column: str) -> pa.DataType:
    """The Arrow type a new column of ``table`` gets (text unless the contract says date or number)."""
    spec = TABLES.get(table)
    kind = next((c.kind for c in spec.columns if c.name == column), None) if spec else None
    if kind == "date":
        return pa.timestamp("us") if (table, column) in TIMESTAMP_COLUMNS else pa.date32()
    return pa.float64() if kind == "number" else pa.string()


def sql_type(t: pa.DataType) -> str:
    """The ANSI SQL type of a contract column's Arrow type (for CREATE TABLE / ADD COLUMN)."""
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION"
    return "VARCHAR"


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def is_numeric_text(t: pa.DataType) -> bool:
    """PostgreSQL ``numeric`` as the ADBC driver reads it: text in an opaque extension type."""
    return isinstance(t, pa.OpaqueType) and t.type_name == "numeric"


def _number_text(value: Decimal) -> str:
    if not value.is_finite():
        return str(value)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def cell_text(value: object) -> str:
    """The canonical text of one stored value (None → '')."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return _number_text(Decimal(repr(value))) if value == value and abs(value) != float("inf") \
            else repr(value)
    if isinstance(value, int | Decimal):
        return _number_text(Decimal(value))
    return str(value)


def column_texts(array: pa.Array | pa.ChunkedArray) -> list[str]:
    """The canonical text of every value of a stored column."""
    if is_numeric_text(array.type):
        return [_number_text(Decimal(v)) if v is not None else "" for v in array.storage.to_pylist()] \
            if isinstance(array, pa.Array) else column_texts(array.combine_chunks())
    return [cell_text(v) for v in array.to_pylist()]


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def parse_cell(text: str, t: pa.DataType) -> object:
    """The value of imported ``text`` in a column of type ``t`` ('' → None); ValueError when it cannot hold it."""
    if text == "":
        return None
    if _is_text(t):
        return text
    if pa.types.is_timestamp(t):
        value = _timestamp(text)
        return value.replace(tzinfo=UTC) if t.tz is not None else value
    if pa.types.is_date(t):
        value = _timestamp(text)
        if value.time() != datetime.min.time():
            raise ValueError("has a time of day, which a DATE column cannot hold")
        return value.date()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if pa.types.is_floating(t):
        return float(number)
    if pa.types.is_integer(t):
        if number != number.to_integral_value():
            raise ValueError("is not a whole number, which an integer column cannot hold")
        return int(number)
    if pa.types.is_decimal(t) or is_numeric_text(t):
        return number
    raise ValueError(f"cannot be stored in a column of type {t}")


def canonical(text: str, t: pa.DataType) -> str:
    """``text`` as the column would give it back (so imported and stored values compare)."""
    return cell_text(parse_cell(text, t))


def writable_type(t: pa.DataType, values: list[object] | None = None) -> pa.DataType:
    """The type values of ``t`` are written as (PostgreSQL numeric: a decimal of the values' scale)."""
    if not is_numeric_text(t):
        return t
    scale = max((max(-v.as_tuple().exponent, 0) for v in values or [] if isinstance(v, Decimal)), default=0)
    return pa.decimal128(38, min(scale, 38))


def writable(array: pa.Array) -> pa.Array:
    """A stored column as it can be written back (numeric text → decimal)."""
    if not is_numeric_text(array.type):
        return array
    values = [Decimal(v) if v is not None else None for v in array.storage.to_pylist()]
    return pa.array(values, writable_type(array.type, values))
