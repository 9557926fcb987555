"""A first run that fails with nothing loaded leaves no warehouse behind (issue 21).

Without it, a refresh of an unreachable site (a wrong URL, or no config.yaml where one was
expected) left ``data/latinno.duckdb`` in whatever folder it ran from, while saying the
warehouse was unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from latinno.errors import LatinnoError
from latinno.files import missing_parents, remove_empty


def _holds_pages(db: Path) -> bool:
    import duckdb

    try:
        with duckdb.connect(str(db), read_only=True) as con:
            row = con.execute("SELECT count(*) FROM pages").fetchone()
    except duckdb.Error:
        return False  # not even the schema: nothing was loaded
    return bool(row and row[0])


@contextlib.contextmanager
def no_warehouse_left_by_a_failure(db: Path) -> Iterator[None]:
    """Around a run: when it fails (a LatinnoError) where there was no warehouse, and no page
    was archived, the file, its lock and the folders made for it are removed. An existing
    warehouse is the run's to record its failure in; Ctrl-C keeps what was loaded."""
    db = Path(db)
    if db.exists():
        yield
        return
    made = missing_parents(db.parent)
    try:
        yield
    except LatinnoError:
        if not _holds_pages(db):
            from warehouse.runlock import lock_path

            for path in (db, db.with_name(db.name + ".wal"), lock_path(db)):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            remove_empty(made)
        raise
