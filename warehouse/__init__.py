"""The DuckDB warehouse: schema and migrations (db), loading (load), the raw page archive
(archive), run bookkeeping (runs), exports (export) and read-only queries (query).

Importing this package imports nothing heavy; each module imports DuckDB/pyarrow itself.
"""
