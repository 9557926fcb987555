"""The one CSV convention of every CSV this project writes: export, release, query, changes.

UTF-8 with a header, CRLF between records (RFC 4180), a field quoted when it holds a comma,
quote, CR or LF (line breaks stay inside the quotes), booleans as 1/0, ISO 8601 UTC timestamps
(``...Z``), lists as JSON text, NULL as an empty field and an empty text as ``""`` so the two
stay apart (DuckDB: ``allow_quoted_nulls=false``). Values are written as they are. Only the
``excel`` dialect, asked for by ``--csv-dialect excel``, adds a byte-order mark and puts a
``'`` before text starting with ``= + - @``, tab or CR, so a spreadsheet shows it instead of
running it as a formula.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal

import pyarrow as pa

CsvDialect = Literal["plain", "excel"]
CSV_DIALECTS: tuple[str, ...] = ("plain", "excel")
BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES = frozenset(',"\r\n')


def dialect_named(name: str) -> CsvDialect:
    """``plain`` or ``excel``; anything else is a ValueError naming both."""
    if name not in CSV_DIALECTS:
        raise ValueError(f"expected plain or excel, got {name!r}")
    return "excel" if name == "excel" else "plain"


def value_text(value: Any) -> str:
    """A value as text: ISO timestamps (UTC ``Z``) and dates, 1/0, lists as JSON, bytes as hex."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list):  # e.g. cases.sections_present: a JSON array, as Frictionless reads
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=json_value)
    return str(value)


def json_value(value: Any) -> Any:
    """JSON for what json.dumps cannot write: ISO timestamps (UTC ``Z``), text for the rest."""
    if isinstance(value, datetime | date):
        return value_text(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def csv_cell(value: Any, dialect: CsvDialect = "plain") -> str:
    """One field, quoted where RFC 4180 needs it; ``excel`` guards text against formulas."""
    if value is None:
        return ""
    text = value_text(value)
    if dialect == "excel" and isinstance(value, str) and text.startswith(FORMULA_START):
        text = "'" + text
    if not text or not _NEEDS_QUOTES.isdisjoint(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[Any]], dialect: CsvDialect = "plain"
) -> bytes:
    lines = [",".join(csv_cell(name) for name in header)]
    lines.extend(",".join(csv_cell(v, dialect) for v in row) for row in rows)
    text = "\r\n".join(lines) + "\r\n"
    return ((BOM if dialect == "excel" else "") + text).encode("utf-8")


def table_csv(table: pa.Table, dialect: CsvDialect = "plain") -> bytes:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return csv_bytes(table.column_names, zip(*columns, strict=True), dialect)
