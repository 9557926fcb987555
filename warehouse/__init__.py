"""The DuckDB warehouse: opening the file and waiting for its lock (db, holders, sandbox),
integrity checks (integrity), schema and migrations (schema), one refresh at a time (runlock),
loading (load), the raw page archive (archive), run bookkeeping (runs), exports (export) and
read-only queries (query).

Importing this package imports nothing heavy; each module imports DuckDB/pyarrow itself.
"""
