"""How the page archive is stored (migration 007): its bodies are zstd frames, kept by DuckDB
as they are. DuckDB's own string compression gained nothing on them and cost a refresh, at the
close after every batch, a rewrite of the whole archive so far through it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse import db
from warehouse.archive import ArchivedPage, body_sha256, latest_bodies, store_pages
from warehouse.db import connect, migrations

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "html"
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _pages(lang: str) -> list[ArchivedPage]:
    """Every fixture page of ``lang`` as archived: real HTML, so real zstd frames."""
    out = []
    for n, page in enumerate(sorted((FIXTURES / lang / "case").glob("*/index.html"))):
        body = page.read_bytes()
        case_id = int(page.parent.name)
        out.append(
            ArchivedPage(
                case_id,
                lang,
                f"https://latinno.net/{lang}/case/{case_id}/",
                200,
                {"content-type": "text/html; charset=utf-8"},
                body,
                body_sha256(body),
                T0 + timedelta(minutes=n),
                f'"{n}"',
            )
        )
    return out


def _body_compressions(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT DISTINCT compression FROM pragma_storage_info('pages') "
        "WHERE column_name = 'body_zstd' AND segment_type = 'BLOB'"
    ).fetchall()
    return {row[0] for row in rows}


def _comments(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    table = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'pages'")
    columns = con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'pages' "
        "ORDER BY column_index"
    )
    return [("", table.fetchone()[0]), *columns.fetchall()]


def test_archived_bodies_are_stored_as_they_are_batch_after_batch(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    for lang in ("en", "es"):  # two batches, each closed (checkpointed) on its own
        con = connect(path)
        store_pages(con, _pages(lang))
        con.close()
    con = connect(path)
    try:
        assert _body_compressions(con) == {"Uncompressed"}
        assert len(latest_bodies(con)) == len(_pages("en")) + len(_pages("es"))
    finally:
        con.close()


def test_migration_7_keeps_every_page_and_comment_and_stores_bodies_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = connect(tmp_path / "fresh.duckdb")
    expected_comments = _comments(fresh)
    fresh.close()
    path = tmp_path / "w.duckdb"
    real_migrations = migrations
    with monkeypatch.context() as patch:  # the warehouse as it was before migration 7
        home = sys.modules[db.migrate.__module__]
        patch.setattr(home, "migrations", lambda: [m for m in real_migrations() if m[0] < 7])
        con = connect(path)
        store_pages(con, _pages("en"))
        con.close()
        con = connect(path)
        before = con.execute("SELECT * FROM pages ORDER BY ALL").fetchall()
        assert _body_compressions(con) != {"Uncompressed"}  # what the migration changes
        con.close()
    con = connect(path)  # applies migration 7
    try:
        assert con.execute("SELECT * FROM pages ORDER BY ALL").fetchall() == before
        assert _body_compressions(con) == {"Uncompressed"}
        assert _comments(con) == expected_comments
        store_pages(con, _pages("es"))
        store_pages(con, _pages("es"))  # the key still holds: a page again is no new row
        count = len(before) + len(_pages("es"))
        assert con.execute("SELECT count(*) FROM pages").fetchone() == (count,)
    finally:
        con.close()
