"""Discovery over loopback: sitemap reading and id probing per country prefix."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from _fetch_support import fast_fetcher, make_site

from flows.discover import case_url, fetch_cases, probe_prefix, read_sitemap
from flows.fetch import Fetcher, Validators
from sitemodel.server import run_server_in_thread

T = TypeVar("T")

# Prefix 1 has a gap of 3 after 1005 and a lone page at 1030; prefix 2 starts at serial 2.
IDS = [1001, 1002, 1005, 1009, 1030, 2002, 2003]


def _with_fetcher(job: Callable[[Fetcher], Awaitable[T]], **args: object) -> T:
    async def run() -> T:
        async with fast_fetcher(**args) as fetcher:
            return await job(fetcher)

    return asyncio.run(run())


def test_case_url_has_trailing_slash() -> None:
    assert case_url("http://h:1/", "es", 17002) == "http://h:1/es/case/17002/"
    assert case_url("https://latinno.net", "en", 1001) == "https://latinno.net/en/case/1001/"


def test_read_sitemap_from_robots_or_none(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS, langs=("en", "es"))
    with run_server_in_thread(site, sitemap=True) as server:
        urls = _with_fetcher(lambda f: read_sitemap(f, server.base_url))
        paths = server.stats()["paths"]
    assert urls == [case_url(server.base_url, lang, cid) for lang in ("en", "es") for cid in IDS]
    assert paths == {"/robots.txt": 1, "/sitemap.xml": 1}

    with run_server_in_thread(site) as server:
        assert _with_fetcher(lambda f: read_sitemap(f, server.base_url)) is None
        assert server.stats()["paths"] == {"/robots.txt": 1, "/sitemap.xml": 1}


def test_probe_stops_after_misses_and_rechecks_known_ids(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS)
    with run_server_in_thread(site) as server:
        first = _with_fetcher(
            lambda f: probe_prefix(
                f, server.base_url, "en", 1, max_misses=5, max_serial=999, known={}
            )
        )
        probed = {p for p in server.stats()["paths"] if p.startswith("/en/case/")}
        # Last hit 1009, five misses after it: serials 1..14 asked for, nothing past them.
        assert probed == {f"/en/case/{1000 + s}/" for s in range(1, 15)}
        assert [r.case_id for r in first] == [1001, 1002, 1005, 1009]
        assert all(r.ok for r in first)

        server.reset_stats()
        known = {r.case_id or 0: Validators(r.etag, r.last_modified) for r in first}
        known[1030] = None  # known from an earlier run, past where probing stops
        known[1003] = Validators('"was-here"', None)  # known, now withdrawn
        known[2002] = None  # another prefix: not this call's business
        second = _with_fetcher(
            lambda f: probe_prefix(
                f, server.base_url, "en", 1, max_misses=5, max_serial=999, known=known
            )
        )
        stats = server.stats()
    by_id = {r.case_id: r for r in second}
    assert sorted(by_id) == [1001, 1002, 1003, 1005, 1009, 1030]
    assert all(by_id[cid].not_modified for cid in (1001, 1002, 1005, 1009))
    assert by_id[1003].gone
    assert by_id[1030].ok
    assert stats["conditional_requests"] == 5  # 4 unchanged pages + the withdrawn one
    assert stats["paths"]["/en/case/1030/"] == 1
    assert "/en/case/1015/" not in stats["paths"]
    assert "/en/case/2002/" not in stats["paths"]


def test_probe_respects_max_serial_and_keeps_failures(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS)
    plan = {"/en/case/2003/": ["500"] * 3}
    with run_server_in_thread(site, plan=plan) as server:
        results = _with_fetcher(
            lambda f: probe_prefix(
                f, server.base_url, "en", 2, max_misses=50, max_serial=3, known={2777: None}
            ),
            max_retries=1,
        )
        paths = server.stats()["paths"]
    assert [r.case_id for r in results] == [2002, 2003, 2777]
    assert results[0].ok
    assert results[1].failed and results[1].status == 500  # failures are returned, not dropped
    assert results[2].gone  # known id beyond max_serial is still rechecked
    assert set(paths) - {"/robots.txt"} == {
        "/en/case/2001/",
        "/en/case/2002/",
        "/en/case/2003/",
        "/en/case/2777/",
    }


def test_fetch_cases_keeps_order_and_sends_validators(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", IDS, langs=("es",))
    with run_server_in_thread(site) as server:
        urls = [case_url(server.base_url, "es", cid) for cid in reversed(IDS)]
        first = _with_fetcher(lambda f: fetch_cases(f, [(u, None) for u in urls]))
        validators = {r.url: Validators(etag=r.etag) for r in first}
        second = _with_fetcher(lambda f: fetch_cases(f, validators))
    assert [r.url for r in first] == urls and all(r.ok for r in first)
    assert [r.lang for r in first] == ["es"] * len(IDS)
    assert [r.url for r in second] == urls and all(r.not_modified for r in second)
