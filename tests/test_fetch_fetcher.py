"""The polite fetcher against our site server over loopback; behaviour measured at the server."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from _fetch_support import UA, fast_fetcher, make_site, page_html

from flows.discover import fetch_cases
from flows.fetch import Fetcher
from flows.fetch_types import FetchPolicy, FetchResult
from latinno.errors import FetchError
from latinno.pages import PageKey, case_url
from latinno.sitemodel.server import run_server_in_thread

IDS = [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path / "site", IDS)


def _get(url: str, **fetcher_args: Any) -> FetchResult:
    async def run() -> FetchResult:
        async with fast_fetcher(**fetcher_args) as fetcher:
            return await fetcher.get(url)

    return asyncio.run(run())


def test_ok_result_carries_page_validators_and_identity(site: Path) -> None:
    with run_server_in_thread(site) as server:
        url = case_url(server.base_url, PageKey(1002, "en"))
        result = _get(url)
        assert result.ok and not result.failed
        assert result.body == page_html("en", 1002).encode()
        assert (result.case_id, result.lang, result.charset) == (1002, "en", "utf-8")
        assert result.etag and result.last_modified and result.attempts == 1

        async def revalidate() -> list[FetchResult]:
            async with fast_fetcher() as fetcher:
                return [
                    await fetcher.get(url, etag=result.etag),
                    await fetcher.get(url, last_modified=result.last_modified),
                    await fetcher.get(url, etag='"stale"'),
                ]

        by_etag, by_date, stale = asyncio.run(revalidate())
        assert by_etag.not_modified and by_etag.body == b"" and by_etag.etag == result.etag
        assert by_date.not_modified
        assert stale.ok
        stats = server.stats()
    assert stats["conditional_requests"] == 3
    assert stats["user_agents"] == {UA: stats["total_requests"]}


def test_retries_5xx_and_honours_retry_after_measured_at_server(site: Path) -> None:
    path = "/en/case/1001/"
    with run_server_in_thread(site, plan={path: ["500", "503:1", "429:1"]}) as server:
        result = _get(server.base_url + path, backoff_base_s=0.01, backoff_max_s=0.01)
        times = server.request_times(path)
    assert result.ok and result.attempts == 4
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert gaps[0] < 0.3  # after a 500: jittered backoff of at most 10 ms
    assert gaps[1] >= 0.95 and gaps[2] >= 0.95  # Retry-After: 1


def test_a_retry_after_beyond_the_cap_gives_up_the_host_for_the_run(
    site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 24: "Retry-After: 86400" on every page was capped and retried for days, silently.
    path = "/en/case/1001/"
    with run_server_in_thread(site, plan={path: ["429:30"]}) as server:

        async def run() -> list[FetchResult]:
            async with fast_fetcher(retry_after_cap_s=0.2) as fetcher:
                first = await fetcher.get(server.base_url + path)
                return [first, await fetcher.get(server.base_url + "/en/case/1002/")]

        with caplog.at_level("WARNING", logger="flows.fetch"):
            asked, later = asyncio.run(run())
        paths = server.stats()["paths"]
    host = server.base_url.removeprefix("http://")
    why = f"{host} asks to wait 30 s (Retry-After), more than http.retry_after_cap_s (0.2 s)"
    assert asked.failed and asked.error == f"HTTP 429: {why}; not requested this run"
    assert later.failed and later.error == f"{why}; not requested this run"
    assert later.attempts == 0 and "/en/case/1002/" not in paths and paths[path] == 1
    assert [r.getMessage() for r in caplog.records] == [f"{why}; not requested this run"]


def test_truncated_body_reset_and_timeout_are_retried(site: Path) -> None:
    plan = {
        "/en/case/1001/": ["truncate"],
        "/en/case/1002/": ["reset", "reset"],
        "/en/case/1003/": ["slow:1.5"],
        "/en/case/1004/": ["truncate", "truncate"],
    }
    with run_server_in_thread(site, plan=plan) as server:
        truncated = _get(server.base_url + "/en/case/1001/")
        reset = _get(server.base_url + "/en/case/1002/")
        slow = _get(server.base_url + "/en/case/1003/", timeout_s=0.5)
        cut_twice = _get(server.base_url + "/en/case/1004/", max_retries=1)
        stats = server.stats()
    assert truncated.ok and truncated.attempts == 2
    assert truncated.body == page_html("en", 1001).encode()
    assert reset.ok and reset.attempts == 3
    assert slow.ok and slow.attempts == 2
    assert cut_twice.failed and cut_twice.attempts == 2 and cut_twice.body is None
    assert (cut_twice.error or "").startswith("truncated body")
    assert stats["faults"] == {"truncate": 3, "reset": 2, "slow": 1}


def test_gives_up_after_max_retries_and_never_retries_404(site: Path) -> None:
    path = "/en/case/1001/"
    with run_server_in_thread(site, plan={path: ["500"] * 5}) as server:
        failed = _get(server.base_url + path, max_retries=2)
        missing = _get(server.base_url + "/en/case/1999/")
        stats = server.stats()
    assert failed.status == 500 and failed.failed and not failed.ok
    assert failed.error is not None and "HTTP 500" in failed.error and "3 attempts" in failed.error
    assert failed.attempts == 3 and failed.body is None
    assert missing.gone and not missing.failed and missing.attempts == 1
    assert stats["paths"][path] == 3
    assert stats["paths"]["/en/case/1999/"] == 1


def test_body_cap_refuses_large_pages(site: Path) -> None:
    with run_server_in_thread(site) as server:
        result = _get(server.base_url + "/en/case/1001/", max_body_bytes=50)
        assert server.stats()["paths"]["/en/case/1001/"] == 1  # refused, not retried
    assert result.failed and result.body is None and result.status == 200
    assert result.error is not None and "max_body_bytes (50)" in result.error


def test_redirects_followed_only_to_allowed_hosts(site: Path) -> None:
    redirects = {
        "/en/case/1004/": "http://elsewhere.example/en/case/1004/",
        "/en/case/1005/": "/en/case/1006/",
        "/en/case/1006/": "/en/case/1005/",
    }
    with run_server_in_thread(site, redirects=redirects) as server:
        slashless = _get(server.base_url + "/en/case/1002")
        foreign = _get(server.base_url + "/en/case/1004/")
        looping = _get(server.base_url + "/en/case/1005/")
        with pytest.raises(FetchError, match=r"elsewhere\.example"):
            _get("http://elsewhere.example/en/case/1001/")
    assert slashless.ok and slashless.final_url == server.base_url + "/en/case/1002/"
    assert slashless.attempts == 2 and slashless.case_id == 1002
    assert foreign.failed and foreign.error is not None
    assert server.base_url + "/en/case/1004/" in foreign.error
    assert "http://elsewhere.example/en/case/1004/" in foreign.error
    assert looping.failed and "more than 5 redirects" in (looping.error or "")


def test_robots_disallow_is_respected_and_fetched_once(site: Path) -> None:
    robots = "User-agent: *\nDisallow: /en/case/1002/\n"
    with run_server_in_thread(site, robots=robots) as server:

        async def run() -> list[FetchResult]:
            async with fast_fetcher() as fetcher:
                urls = [(case_url(server.base_url, PageKey(cid, "en")), None) for cid in IDS]
                return await fetch_cases(fetcher, urls)

        results = asyncio.run(run())
        paths = server.stats()["paths"]
        ignoring = _get(server.base_url + "/en/case/1002/", obey_robots=False)
    blocked = next(r for r in results if r.case_id == 1002)
    assert blocked.failed and "robots.txt" in (blocked.error or "") and blocked.attempts == 0
    assert all(r.ok for r in results if r.case_id != 1002)
    assert "/en/case/1002/" not in paths
    assert paths["/robots.txt"] == 1
    assert ignoring.ok


def test_unreachable_robots_means_disallow_all(site: Path) -> None:
    with run_server_in_thread(site, plan={"/robots.txt": ["503:0"] * 3}) as server:
        result = _get(server.base_url + "/en/case/1001/", max_retries=1)
        paths = server.stats()["paths"]
    # RFC 9309: nothing is crawled, and that is the site's trouble, not its wish (issue 9).
    assert result.failed and result.error == "robots.txt unavailable (503); not requested"
    assert paths == {"/robots.txt": 2}


def test_a_host_where_nothing_listens_is_unreachable() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/en/case/1001/"

        async def run() -> tuple[str | None, FetchResult]:
            async with fast_fetcher(max_retries=1) as fetcher:
                return await fetcher.unreachable(url), await fetcher.get(url)

        why, result = asyncio.run(run())
    assert why == "connection refused"
    assert result.error == "robots.txt unavailable (connection refused); not requested"


def test_a_host_refusing_before_it_ever_answered_is_retried_once_only() -> None:
    # Issue 21: 18-23 s of backoff before a run said "connection refused".
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"

        async def run() -> tuple[str | None, int]:
            async with fast_fetcher(max_retries=5) as fetcher:
                return await fetcher.unreachable(url), fetcher.statuses[0]

        why, unanswered = asyncio.run(run())
    assert why == "connection refused"
    assert unanswered == 2  # the first try and one quick retry, not five


def test_a_host_that_answered_once_and_then_refuses_gets_every_retry(site: Path) -> None:
    async def run(base_url: str, server: Any) -> tuple[FetchResult, int]:
        async with fast_fetcher(max_retries=3) as fetcher:
            assert await fetcher.unreachable(base_url) is None
            server.stop()  # the site goes away mid-run (a restart, say)
            page = await fetcher.get(base_url + "/en/case/1001/")
            return page, fetcher.statuses[0]

    with run_server_in_thread(site) as server:
        page, unanswered = asyncio.run(run(server.base_url, server))
    assert page.failed and page.attempts == 4 and unanswered == 4


def test_a_host_that_answers_is_reachable_even_with_a_broken_robots_txt(site: Path) -> None:
    with run_server_in_thread(site, plan={"/robots.txt": ["503:0"] * 3}) as server:

        async def run() -> str | None:
            async with fast_fetcher(max_retries=1) as fetcher:
                return await fetcher.unreachable(server.base_url)

        assert asyncio.run(run()) is None


def test_crawl_delay_spaces_requests(site: Path) -> None:
    robots = "User-agent: *\nCrawl-delay: 0.25\n"
    with run_server_in_thread(site, robots=robots) as server:

        async def run() -> list[FetchResult]:
            async with fast_fetcher(concurrency=4) as fetcher:
                return await fetch_cases(
                    fetcher,
                    [(case_url(server.base_url, PageKey(cid, "en")), None) for cid in IDS[:5]],
                )

        results = asyncio.run(run())
        paths = ["/robots.txt", *(f"/en/case/{cid}/" for cid in IDS[:5])]
        starts = sorted(t for path in paths for t in server.request_times(path))
    assert all(r.ok for r in results)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.15, gaps  # 0.25 s asked; arrival jitter allowed


def test_rate_and_concurrency_measured_at_server(tmp_path: Path) -> None:
    # Tolerance: the fetcher spaces request *starts* 1/rate apart, so a one-second window holds
    # at most `rate` starts and its two ends; the server stamps a request when its thread gets
    # to it, and on a loaded machine (the suite runs on two workers) two stamps may fall
    # together, so one more.
    ids = list(range(1001, 1031))
    site = make_site(tmp_path / "site", ids)
    plan = {f"/en/case/{cid}/": ["slow:0.15"] for cid in ids}
    rate, concurrency = 10.0, 3
    with run_server_in_thread(site, plan=plan) as server:

        async def run(rate: float, concurrency: int, some: list[int]) -> list[FetchResult]:
            async with fast_fetcher(rate=rate, concurrency=concurrency) as fetcher:
                urls = [(case_url(server.base_url, PageKey(cid, "en")), None) for cid in some]
                return await fetch_cases(fetcher, urls)

        started = time.monotonic()
        limited = asyncio.run(run(rate, concurrency, ids[:15]))
        elapsed = time.monotonic() - started
        stats = server.stats()
        assert all(r.ok for r in limited)
        assert stats["max_per_second"] <= rate + 2
        assert stats["max_in_flight"] <= concurrency
        assert elapsed >= (16 - 1) / rate  # robots.txt + 15 pages, spaced 1/rate apart

        server.reset_stats()
        unlimited = asyncio.run(run(0.0, concurrency, ids[15:]))
        stats = server.stats()
    assert all(r.ok for r in unlimited)
    assert stats["max_in_flight"] == concurrency  # the cap is reached, and never passed
    assert stats["max_per_second"] > rate + 2  # so the rate assertion above could fail


def test_faulty_site_is_fetched_completely(tmp_path: Path) -> None:
    ids = list(range(1001, 1041))
    site = make_site(tmp_path / "site", ids)
    with run_server_in_thread(site, faults=0.2, seed=3, slow_s=0.05) as server:

        async def run() -> list[FetchResult]:
            async with fast_fetcher(max_retries=8, retry_after_cap_s=0.2) as fetcher:
                urls = {case_url(server.base_url, PageKey(cid, "en")): None for cid in ids}
                return await fetch_cases(fetcher, urls)

        results = asyncio.run(run())
        faults = server.stats()["faults"]
    assert [r.case_id for r in results] == ids
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert all(r.body == page_html("en", r.case_id or 0).encode() for r in results)
    assert sum(faults.values()) >= 4
    assert sum(r.attempts for r in results) > len(ids)


def test_fetch_policy_from_settings_allows_the_base_url_host() -> None:
    from latinno.config import Settings, override

    settings = override(
        Settings(),
        {"source": {"base_url": "http://127.0.0.1:8765"}, "politeness": {"rate": 0.5}},
        "test",
    )
    fetcher = Fetcher(FetchPolicy.from_settings(settings))
    assert fetcher.is_allowed("http://127.0.0.1:8765/en/case/1001/")
    assert fetcher.is_allowed("https://www.latinno.net/en/case/1001/")
    assert not fetcher.is_allowed("https://example.org/en/case/1001/")
    # The sections themselves, not copies of their fields.
    assert fetcher.policy.politeness is settings.politeness
    assert fetcher.policy.http is settings.http
    assert fetcher.polite.rate == 0.5
    assert fetcher.policy.user_agent == settings.politeness.user_agent_header
    assert settings.politeness.contact in fetcher.policy.user_agent
