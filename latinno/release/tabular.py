"""Table files of a release: CSV in the project's one convention (``warehouse.csvfile``, shared
with ``latinno export`` and ``latinno query``) and Parquet."""

from __future__ import annotations

import pyarrow as pa

from warehouse.csvfile import BOM, CSV_DIALECTS, CsvDialect, csv_bytes, csv_cell, table_csv
from warehouse.export import _parquet_bytes

__all__ = ["BOM", "CSV_DIALECTS", "CsvDialect", "csv_bytes", "csv_cell", "table_csv"]


def table_parquet(table: pa.Table) -> bytes:
    return _parquet_bytes(table)
