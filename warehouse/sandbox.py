"""The DuckDB settings of every read-only connection to the warehouse.

A user's SQL reaches read-only connections through ``latinno query`` (and export, status and
release read through them), so they can read no other file, fetch no URL, install or load no
extension, and cannot switch any of that back on. The settings govern what statements reach,
not the file being opened: DuckDB opens the warehouse itself with them (given as
``duckdb.connect(config=...)``, all applied before the configuration is locked, so ``SET``
cannot undo any of them).
"""

from __future__ import annotations

SANDBOX: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    # No spilling to ``<db>.tmp/``: whatever lay there would be readable, and a query that
    # outgrows its memory limit (``query.memory_limit``) fails instead of filling the disk.
    "temp_directory": "",
    "lock_configuration": True,
}
