"""The DuckDB warehouse, one file with one writer at a time.

Opening it: connections and waiting for its lock (db, holders), what every open checks
(integrity), schema and migrations (schema, views), one refresh at a time (runlock). Loading a
batch of records: Arrow tables (arrow_tables), staging and change detection (staging, content),
one set-based step per table (apply), driven by load; the raw page archive (archive), run
bookkeeping (runs) and what a run needs to know before it fetches (known). Reading it: exports
(export), sandboxed read-only queries (query, sandbox) and what ``latinno status`` shows
(status).

Importing this package imports nothing heavy; each module imports DuckDB/pyarrow itself.
"""
