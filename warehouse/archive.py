"""The raw page archive: every distinct body of a case page, compressed, with its validators.

Rows are keyed by (case_id, lang, sha256): a body fetched again only refreshes fetched_at,
headers and validators; a new body adds a row, so every version ever parsed can be parsed again.
Bodies are stored as plain Zstandard frames (pyarrow's zstd codec, level 3): ~5-10x smaller
than HTML and readable by any zstd tool. The latest page of a (case_id, lang) is the row with
the greatest fetched_at.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from latinno.errors import WarehouseError
from latinno.pages import PageKey
from warehouse.db import utc_naive

_CODEC = pa.Codec("zstd", compression_level=3)

_PAGE_SCHEMA = pa.schema(
    [
        ("case_id", pa.int32()),
        ("lang", pa.string()),
        ("sha256", pa.string()),
        ("url", pa.string()),
        ("status", pa.int32()),
        ("headers", pa.string()),
        ("body_zstd", pa.binary()),
        ("body_size", pa.int64()),
        ("fetched_at", pa.timestamp("us")),
        ("etag", pa.string()),
        ("last_modified", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    """One fetched case page as archived. ``sha256`` is the hex digest of ``body``."""

    case_id: int
    lang: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    sha256: str
    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET needs, and the hash to recognise an unchanged body."""

    etag: str | None
    last_modified: str | None
    sha256: str
    url: str


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def store_pages(con: duckdb.DuckDBPyConnection, pages: Sequence[ArchivedPage]) -> int:
    """Archive pages in one transaction; returns the number of distinct pages written.

    Raises WarehouseError (naming the URL) when a page's sha256 does not match its body.
    """
    if not pages:
        return 0
    latest: dict[tuple[int, str, str], ArchivedPage] = {}
    for page in pages:
        if body_sha256(page.body) != page.sha256:
            raise WarehouseError(f"{page.url}: sha256 {page.sha256} does not match the body")
        latest[(page.case_id, page.lang, page.sha256)] = page
    rows = list(latest.values())
    table = pa.table(
        {
            "case_id": [p.case_id for p in rows],
            "lang": [p.lang for p in rows],
            "sha256": [p.sha256 for p in rows],
            "url": [p.url for p in rows],
            "status": [p.status for p in rows],
            "headers": [
                json.dumps(
                    {k.lower(): v for k, v in p.headers.items()},
                    sort_keys=True,
                    separators=(",", ":"),
                )
                for p in rows
            ],
            "body_zstd": [_CODEC.compress(p.body, asbytes=True) for p in rows],
            "body_size": [len(p.body) for p in rows],
            "fetched_at": [utc_naive(p.fetched_at) for p in rows],
            "etag": [p.etag for p in rows],
            "last_modified": [p.last_modified for p in rows],
        },
        schema=_PAGE_SCHEMA,
    )
    con.register("_in_pages", table)
    con.begin()
    try:
        con.execute(
            """
INSERT INTO pages
SELECT case_id, lang, sha256, url, status, headers::JSON, body_zstd, body_size,
       fetched_at, fetched_at, etag, last_modified
FROM _in_pages
ON CONFLICT (case_id, lang, sha256) DO UPDATE SET
    url = excluded.url, status = excluded.status, headers = excluded.headers,
    fetched_at = greatest(pages.fetched_at, excluded.fetched_at),
    first_fetched_at = least(pages.first_fetched_at, excluded.first_fetched_at),
    etag = excluded.etag, last_modified = excluded.last_modified
"""
        )
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise WarehouseError(f"archiving {len(rows)} pages failed: {exc}") from exc
    finally:
        con.unregister("_in_pages")
    return len(rows)


_LATEST = """
SELECT * FROM pages
QUALIFY row_number() OVER (
    PARTITION BY case_id, lang ORDER BY fetched_at DESC, first_fetched_at DESC, sha256) = 1
"""
# Pages still there: the latest answer of their (case_id, lang) was a page, not a 404/410.
_LIVE = f"SELECT * FROM ({_LATEST}) WHERE status = 200"


def gone_page(case_id: int, lang: str, url: str, status: int, at: datetime) -> ArchivedPage:
    """The archive's note that a page we held answered ``status`` (404/410): an empty body.

    It becomes the latest row of its (case_id, lang), so the page no longer counts as held
    (no validators, not reparsed, not a language the case has); a page that comes back is
    archived again and is the latest once more.
    """
    return ArchivedPage(
        case_id=case_id,
        lang=lang,
        url=url,
        status=status,
        headers={},
        body=b"",
        sha256=body_sha256(b""),
        fetched_at=at,
    )


def page_validators(con: duckdb.DuckDBPyConnection) -> dict[PageKey, Validators]:
    """Validators of the latest archived page of every (case_id, lang) still there."""
    rows = con.execute(
        f"SELECT case_id, lang, etag, last_modified, sha256, url FROM ({_LIVE})"
    ).fetchall()
    return {PageKey(r[0], r[1]): Validators(r[2], r[3], r[4], r[5]) for r in rows}


@dataclass(frozen=True, slots=True)
class StoredBody:
    """The latest archived body of a page as it is stored, compressed (for reparse): a run
    holds every page this way, about a sixth of their size, and decompresses one at a time."""

    case_id: int
    lang: str
    url: str
    body_zstd: bytes
    body_size: int

    def body(self) -> bytes:
        body: bytes = _CODEC.decompress(
            self.body_zstd, decompressed_size=self.body_size, asbytes=True
        )
        return body


def latest_bodies(con: duckdb.DuckDBPyConnection) -> list[StoredBody]:
    """The latest archived body of every (case_id, lang) still there, by case_id then lang:
    a page that went (see :func:`gone_page`) is not parsed again."""
    rows = con.execute(
        f"SELECT case_id, lang, url, body_zstd, body_size FROM ({_LIVE}) ORDER BY case_id, lang"
    ).fetchall()
    return [StoredBody(*row) for row in rows]


def misassigned_cases(con: duckdb.DuckDBPyConnection, languages: Sequence[str]) -> set[int]:
    """Active cases whose row is not built from the first of ``languages`` with a page still
    there: the languages were reordered, or the row's page went. Their pages must be read
    again (no validators, parsed even when unchanged) so the row can be rebuilt."""
    if not languages:
        return set()
    rows = con.execute(
        f"""
SELECT c.case_id
FROM cases AS c
JOIN (
    SELECT case_id, arg_min(lang, list_position($languages, lang)) AS lang
    FROM ({_LIVE}) WHERE list_contains($languages, lang) GROUP BY case_id
) AS best USING (case_id)
WHERE c.status = 'active' AND c.lang <> best.lang
""",
        {"languages": list(languages)},
    ).fetchall()
    return {row[0] for row in rows}
