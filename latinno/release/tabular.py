"""Table files of a release: CSV (RFC 4180) and Parquet.

CSV: UTF-8 (``excel``: with a byte-order mark), a header, CRLF between records, a field quoted
when it holds a comma, quote, CR or LF (line breaks stay inside the quotes), booleans as 1/0,
ISO 8601 UTC timestamps (``...Z``), NULL as an empty field and an empty text as ``""`` so the two
stay apart (DuckDB: ``allow_quoted_nulls=false``). Values are written as they are; only the
``excel`` dialect puts a ``'`` before text starting with ``= + - @``, tab or CR, so a spreadsheet
shows it instead of running it as a formula (the codebook says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import pyarrow as pa

from warehouse.export import _parquet_bytes, safe_cell

CsvDialect = Literal["plain", "excel"]
CSV_DIALECTS: tuple[str, ...] = ("plain", "excel")
BOM = "\ufeff"
_NEEDS_QUOTES = frozenset(',"\r\n')


def csv_cell(value: Any, dialect: CsvDialect) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        text = safe_cell(value) if dialect == "excel" else value
    else:
        text = safe_cell(value)  # timestamps, dates, floats: the export's ISO forms
    if not text or not _NEEDS_QUOTES.isdisjoint(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[Any]], dialect: CsvDialect = "plain"
) -> bytes:
    lines = [",".join(csv_cell(name, "plain") for name in header)]
    lines.extend(",".join(csv_cell(v, dialect) for v in row) for row in rows)
    text = "\r\n".join(lines) + "\r\n"
    return ((BOM if dialect == "excel" else "") + text).encode("utf-8")


def table_csv(table: pa.Table, dialect: CsvDialect = "plain") -> bytes:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return csv_bytes(table.column_names, zip(*columns, strict=True), dialect)


def table_parquet(table: pa.Table) -> bytes:
    return _parquet_bytes(table)
