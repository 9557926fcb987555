"""Discovery over loopback: sitemap reading and id probing per country prefix."""

from __future__ import annotations

import asyncio
import functools
import gzip
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from _fetch_support import fast_fetcher, make_site

from flows.discover import ProbeOutcome, fetch_cases, probe_prefix
from flows.fetch import Fetcher
from flows.fetch_types import Validators
from flows.sitemap import parse_w3c_datetime, read_sitemap, read_sitemap_entries, sitemap_pages
from latinno.pages import PageKey, case_url
from latinno.sitemodel.server import run_server_in_thread

T = TypeVar("T")

# Prefix 1 has a gap of 3 after 1005 and a lone page at 1030; prefix 2 starts at serial 2.
IDS = [1001, 1002, 1005, 1009, 1030, 2002, 2003]


def _with_fetcher(job: Callable[[Fetcher], Awaitable[T]], **args: object) -> T:
    async def run() -> T:
        async with fast_fetcher(**args) as fetcher:
            return await job(fetcher)

    return asyncio.run(run())


def test_case_url_has_trailing_slash() -> None:
    assert case_url("http://h:1/", PageKey(17002, "es")) == "http://h:1/es/case/17002/"
    assert (
        case_url("https://latinno.net", PageKey(1001, "en")) == "https://latinno.net/en/case/1001/"
    )


def test_read_sitemap_from_robots_or_none(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS, langs=("en", "es"))
    with run_server_in_thread(site, sitemap=True) as server:
        urls = _with_fetcher(lambda f: read_sitemap(f, server.base_url))
        paths = server.stats()["paths"]
    assert urls == [
        case_url(server.base_url, PageKey(cid, lang)) for lang in ("en", "es") for cid in IDS
    ]
    assert paths == {"/robots.txt": 1, "/sitemap.xml": 1}

    with run_server_in_thread(site) as server:
        assert _with_fetcher(lambda f: read_sitemap(f, server.base_url)) is None
        assert server.stats()["paths"] == {"/robots.txt": 1, "/sitemap.xml": 1}

    # robots.txt names only a sitemap on a host we may not fetch: /sitemap.xml is used instead.
    robots = "User-agent: *\nSitemap: http://elsewhere.example/sitemap.xml\n"
    with run_server_in_thread(site, sitemap=True, robots=robots) as server:
        urls = _with_fetcher(lambda f: read_sitemap(f, server.base_url))
        assert server.stats()["paths"] == {"/robots.txt": 1, "/sitemap.xml": 1}
    assert urls is not None and len(urls) == 2 * len(IDS)


def test_sitemap_entries_carry_each_pages_last_modified(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS)
    for n, file in enumerate(sorted(site.glob("en/case/*/index.html"))):
        os.utime(file, (1_800_000_000 + 86_400 * n, 1_800_000_000 + 86_400 * n))
    with run_server_in_thread(site, sitemap=True) as server:
        entries = _with_fetcher(lambda f: read_sitemap_entries(f, server.base_url))
        assert entries is not None
        assert list(entries) == [case_url(server.base_url, PageKey(cid, "en")) for cid in IDS]
        for url, lastmod in entries.items():
            assert lastmod == parsedate_to_datetime(httpx.get(url).headers["last-modified"])
        assert len(set(entries.values())) == len(IDS)

    with run_server_in_thread(site, sitemap=True, sitemap_lastmod=False) as server:
        entries = _with_fetcher(lambda f: read_sitemap_entries(f, server.base_url))
    assert entries is not None and len(entries) == len(IDS)
    assert set(entries.values()) == {None}


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026", _utc(2026, 1, 1)),
        ("2026-11", _utc(2026, 11, 1)),
        ("2026-11-28", _utc(2026, 11, 28)),
        ("2026-11-28T17:20Z", _utc(2026, 11, 28, 17, 20)),
        ("2026-11-28T17:20:05Z", _utc(2026, 11, 28, 17, 20, 5)),
        ("2026-11-28T17:20:05+01:00", _utc(2026, 11, 28, 16, 20, 5)),
        ("2026-11-28T00:30-01:30", _utc(2026, 11, 28, 2, 0)),
        ("2026-11-28T00:30:00+01:00", _utc(2026, 11, 27, 23, 30)),
        ("2026-11-28T17:20:05.5Z", _utc(2026, 11, 28, 17, 20, 5, 500_000)),
        ("2026-11-28T17:20:05.123456789-03:00", _utc(2026, 11, 28, 20, 20, 5, 123_456)),
        ("  2026-11-28T17:20:05Z\n", _utc(2026, 11, 28, 17, 20, 5)),
    ],
)
def test_parse_w3c_datetime_forms(text: str, expected: datetime) -> None:
    parsed = parse_w3c_datetime(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-13-01",
        "2026-11-31",
        "2026-11-28T25:00Z",
        "2026-11-28T17:60Z",
        "2026-11-28T17:20:05",  # no zone: not W3C, and guessing one could hide a change
        "2026-11-28 17:20:05Z",
        "2026-11-28T17Z",
        "2026-11-28T17:20:05+25:00",
        "2026-11-28T17:20:05+01:60",
        "2026-11-28T17:20:05.Z",
        "20261128",
        "28/11/2026",
        "Sat, 28 Nov 2026 17:20:05 GMT",
        "0000-01-01",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_parse_w3c_datetime_refuses_garbage(text: str) -> None:
    assert parse_w3c_datetime(text) is None


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _serve_files(folder: Path) -> Iterator[str]:
    """A plain static file server over loopback: serves any sitemap files we write."""
    handler = functools.partial(_QuietFiles, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _urlset(*entries: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">'
        + "".join(entries)
        + "</urlset>"
    )


def _url(loc: str, lastmod: str | None = None, extra: str = "") -> str:
    mod = "" if lastmod is None else f"<lastmod>{lastmod}</lastmod>"
    return f"<url><loc>{loc}</loc>{mod}{extra}</url>"


def test_sitemap_index_traversal_keeps_lastmods(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _serve_files(tmp_path) as base:
        image = f"<image:image><image:loc>{base}/en/case/9001/</image:loc></image:image>"
        (tmp_path / "a.xml").write_text(
            _urlset(
                _url(f"{base}/en/case/1001/", "2026-11-28T17:20:05Z", image),
                _url(f"{base}/en/case/1002/", "2026-11-28"),
                _url(f"{base}/es/case/1003/", "2026-11-28T17:20+01:00"),
                _url(f"{base}/en/case/1004/"),
                _url(f"{base}/en/case/1005/", "yesterday"),
                _url(f"{base}/en/country/peru/", "2026-01-02"),
                _url("http://elsewhere.example/en/case/1006/", "2026-11-28"),
            )
        )
        gz = _urlset(
            _url(f"{base}/en/case/1007/", "2026-11-28T17:20:05.25-03:00"),
            _url(f"{base}/en/case/1001/", "2026-11-29"),  # listed again, later
            _url(f"{base}/en/case/1004/", "2026-11-29"),  # listed again; once unknown
        )
        (tmp_path / "b.xml.gz").write_bytes(gzip.compress(gz.encode()))
        (tmp_path / "index.xml").write_text(
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/a.xml</loc><lastmod>2026-11-28</lastmod></sitemap>"
            f"<sitemap><loc>{base}/b.xml.gz</loc></sitemap>"
            "<sitemap><loc>http://elsewhere.example/c.xml</loc></sitemap>"
            f"<sitemap><loc>{base}/a.xml</loc></sitemap>"
            "</sitemapindex>"
        )
        (tmp_path / "robots.txt").write_text(f"User-agent: *\nSitemap: {base}/index.xml\n")
        with caplog.at_level(logging.WARNING, logger="flows.sitemap"):
            entries = _with_fetcher(lambda f: read_sitemap_entries(f, base))
        bad = [r.getMessage() for r in caplog.records if "lastmod" in r.getMessage()]
        everything = _with_fetcher(lambda f: read_sitemap_entries(f, base, cases_only=False))
        urls = _with_fetcher(lambda f: read_sitemap(f, base))

    assert entries == {
        f"{base}/en/case/1001/": _utc(2026, 11, 29),
        f"{base}/en/case/1002/": _utc(2026, 11, 28),
        f"{base}/es/case/1003/": _utc(2026, 11, 28, 16, 20),
        f"{base}/en/case/1004/": None,
        f"{base}/en/case/1005/": None,
        f"{base}/en/case/1007/": _utc(2026, 11, 28, 20, 20, 5, 250_000),
    }
    assert list(entries) == [
        f"{base}/{p}"
        for p in (
            "en/case/1001/",
            "en/case/1002/",
            "es/case/1003/",
            "en/case/1004/",
            "en/case/1005/",
            "en/case/1007/",
        )
    ]
    assert urls == list(entries)
    assert everything is not None
    assert everything == {**entries, f"{base}/en/country/peru/": _utc(2026, 1, 2)}
    assert len(bad) == 1  # one line per sitemap file, not one per entry
    assert f"{base}/a.xml" in bad[0] and "'yesterday'" in bad[0] and " 1 lastmod" in bad[0]


def _probe(base_url: str, prefix: int, **args: Any) -> ProbeOutcome:
    args.setdefault("langs", ["en"])
    args.setdefault("max_misses", 5)
    args.setdefault("max_serial", 999)
    args.setdefault("known", {})
    fetcher_args = args.pop("fetcher_args", {})
    return _with_fetcher(lambda f: probe_prefix(f, base_url, prefix, **args), **fetcher_args)


def _case_paths(stats: dict[str, Any], lang: str = "en") -> set[str]:
    return {p for p in stats["paths"] if p.startswith(f"/{lang}/case/")}


def test_probe_stops_after_misses_and_rechecks_known_ids(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS)
    with run_server_in_thread(site) as server:
        first = _probe(server.base_url, 1)
        # Last hit 1009, five misses after it: serials 1..14 asked for, nothing past them.
        assert _case_paths(server.stats()) == {f"/en/case/{1000 + s}/" for s in range(1, 15)}
        hits = [r for r in first.results if r.ok]
        assert [r.case_id for r in hits] == [1001, 1002, 1005, 1009]
        assert first.last_probed == 14 and first.known_beyond == 0
        # Every answer comes back, the 404s of the misses too (they are counted).
        assert len(first.results) == 14 and sum(r.gone for r in first.results) == 10

        server.reset_stats()
        known: dict[int, dict[str, Validators | None]] = {
            r.case_id or 0: {"en": Validators(r.etag, r.last_modified)} for r in hits
        }
        known[1030] = {}  # known from an earlier run (or a sitemap), past a gap of 20
        known[1003] = {"en": Validators('"was-here"', None)}  # known, now withdrawn
        known[2002] = {}  # another prefix: not this call's business
        second = _probe(server.base_url, 1, known=known)
        stats = server.stats()
    by_id = {r.case_id: r for r in second.results}
    assert all(by_id[cid].not_modified for cid in (1001, 1002, 1005, 1009))
    assert by_id[1003].gone
    assert by_id[1030].ok
    # Probing never stops below the highest known serial: 1030, then five misses past it.
    assert second.last_probed == 35 and second.known_beyond == 0
    assert _case_paths(stats) == {f"/en/case/{1000 + s}/" for s in range(1, 36)}
    assert stats["conditional_requests"] == 5  # 4 unchanged pages + the withdrawn one
    assert stats["paths"]["/en/case/1030/"] == 1
    assert "/en/case/2002/" not in stats["paths"]


def test_probe_asks_other_languages_before_a_miss(tmp_path: Path) -> None:
    """1001 in all three, 1002 only es, 1004 only pt (after a gap), 1012 only pt: with the other
    languages probed every one is found; without, only the English hit and known ids."""
    site = tmp_path / "site"
    make_site(site, [1001], langs=("en", "es", "pt"))
    make_site(site, [1002], langs=("es",))
    make_site(site, [1004, 1012], langs=("pt",))
    langs = ["en", "es", "pt"]
    with run_server_in_thread(site) as server:
        outcome = _probe(server.base_url, 1, langs=langs, max_misses=8)
        stats = server.stats()
        found = {(r.case_id, r.lang) for r in outcome.results if r.ok}
        assert found == {(1001, "en"), (1001, "es"), (1001, "pt"), (1002, "es"), (1004, "pt"),
                         (1012, "pt")}  # fmt: skip
        # Last hit 12, 8 misses past it: 20 serials, each asked in all three languages.
        assert outcome.last_probed == 20
        assert sum(stats["paths"].values()) - stats["paths"].get("/robots.txt", 0) == 60
        # Grouped by case, languages in configured order.
        keys = [(r.case_id, r.lang) for r in outcome.results]
        assert keys == [(1000 + s, lang) for s in range(1, 21) for lang in langs]

        server.reset_stats()
        english = _probe(
            server.base_url, 1, langs=langs, max_misses=8, other_languages=False,
            known={1012: {}},
        )  # fmt: skip
        stats = server.stats()
    found = {(r.case_id, r.lang) for r in english.results if r.ok}
    # 1001 found in English, so asked in es and pt; 1012 known, so asked in every language;
    # 1002 and 1004 are no English page and not known: missed, at one request each.
    assert found == {(1001, "en"), (1001, "es"), (1001, "pt"), (1012, "pt")}
    assert english.last_probed == 20
    assert _case_paths(stats, "es") == {"/es/case/1001/", "/es/case/1012/"}
    assert sum(stats["paths"].values()) - stats["paths"].get("/robots.txt", 0) == 20 + 4


def test_probe_sweep_goes_to_max_serial(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [1001, 1090])
    with run_server_in_thread(site) as server:
        outcome = _probe(server.base_url, 1, max_misses=3, max_serial=120, sweep=True)
        stats = server.stats()
    assert outcome.last_probed == 120
    assert [r.case_id for r in outcome.results if r.ok] == [1001, 1090]
    assert len(_case_paths(stats)) == 120


def test_probe_respects_max_serial_and_keeps_failures(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS)
    plan = {"/en/case/2003/": ["500"] * 3}
    with run_server_in_thread(site, plan=plan) as server:
        outcome = _probe(
            server.base_url,
            2,
            max_misses=50,
            max_serial=3,
            known={2777: {}},
            fetcher_args={"max_retries": 1},
        )
        paths = server.stats()["paths"]
    results = outcome.results
    assert [r.case_id for r in results] == [2001, 2002, 2003, 2777]
    assert results[0].gone and results[1].ok
    assert results[2].failed and results[2].status == 500  # failures are returned, not dropped
    assert results[3].gone  # known id beyond max_serial is still rechecked
    assert outcome.last_probed == 3 and outcome.known_beyond == 1
    assert set(paths) - {"/robots.txt"} == {
        "/en/case/2001/",
        "/en/case/2002/",
        "/en/case/2003/",
        "/en/case/2777/",
    }


def test_sitemap_pages_per_case_and_language() -> None:
    base = "http://h"
    listed = [
        f"{base}/en/case/1001/",
        f"{base}/es/case/1001/",
        f"{base}/es/case/1002/",  # es only
        f"{base}/pt/case/1003/",  # pt only, and pt is not configured below
        f"{base}/en/case/9001/",  # a prefix not configured
    ]
    groups = sitemap_pages(
        listed, ["en", "es"], [1, 2], known_ids=[1004, 2005], held={(1004, "es"), (2005, "pt")}
    )
    assert groups == [
        [PageKey(1001, "en"), PageKey(1001, "es")],
        [PageKey(1002, "es")],  # the sitemap covers en: en/1002 would be a 404
        [PageKey(1004, "es")],  # known, not listed: the configured language we hold it in
        [PageKey(2005, "en")],  # known, held only in pt: asked in the first language
    ]  # 1003: listed only in a language not configured, unknown: not asked
    # A sitemap that lists English only says nothing about Spanish: asked for every case.
    groups = sitemap_pages([f"{base}/en/case/1001/"], ["en", "es"], [1], [], set())
    assert groups == [[PageKey(1001, "en"), PageKey(1001, "es")]]


def test_fetch_cases_keeps_order_and_sends_validators(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS, langs=("es",))
    with run_server_in_thread(site) as server:
        urls = [case_url(server.base_url, PageKey(cid, "es")) for cid in reversed(IDS)]
        first = _with_fetcher(lambda f: fetch_cases(f, [(u, None) for u in urls]))
        validators = {r.url: Validators(etag=r.etag) for r in first}
        second = _with_fetcher(lambda f: fetch_cases(f, validators))
    assert [r.url for r in first] == urls and all(r.ok for r in first)
    assert [r.lang for r in first] == ["es"] * len(IDS)
    assert [r.url for r in second] == urls and all(r.not_modified for r in second)
