"""The fetcher against a hostile or misbehaving site, round two (issue 24), over real loopback
HTTP: our site server where it can play the part, else a small scripted server below that
answers each path exactly as told (status, headers, body).
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from _fetch_support import fast_fetcher, make_site

from flows.fetch import Fetcher
from flows.fetch_rules import ROBOTS_LIMIT, redirect_refusal
from flows.fetch_types import FetchResult
from flows.sitemap import read_sitemap
from latinno.sitemodel.server import run_server_in_thread

T = TypeVar("T")
Route = tuple[int, dict[str, str], bytes]


def _with_fetcher(job: Callable[[Fetcher], Awaitable[T]], **args: Any) -> T:
    async def run() -> T:
        async with fast_fetcher(**args) as fetcher:
            return await job(fetcher)

    return asyncio.run(run())


def _get_all(urls: list[str], **args: Any) -> list[FetchResult]:
    async def job(fetcher: Fetcher) -> list[FetchResult]:
        return [await fetcher.get(url) for url in urls]

    return _with_fetcher(job, **args)


@contextmanager
def scripted(routes: dict[str, Route], host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """A server answering ``routes[path]`` as given (404 otherwise); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


PAGE = (200, {"Content-Type": "text/html; charset=utf-8"}, b"<h1>a page</h1>")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("hostile2") / "site", [1001, 1002, 1003])


# --- 3: a redirect to another case's page is a merge ---------------------------------------------


def test_a_redirect_to_another_cases_page_is_a_merge_not_a_copy(site: Path) -> None:
    redirects = {"/en/case/19905/": "/en/case/1003/", "/en/case/1002": "/en/case/1002/"}
    with run_server_in_thread(site, redirects=redirects) as server:
        merged, slashless = _get_all(
            [f"{server.base_url}/en/case/19905/", f"{server.base_url}/en/case/1002"]
        )
    # Filed under the id asked for, as gone: never 1003's body under 19905.
    assert (merged.case_id, merged.lang, merged.merged_into) == (19905, "en", 1003)
    assert merged.status == 301 and merged.body is None
    assert merged.gone and not merged.ok and not merged.failed
    # The same case's page at another address is that page, as before.
    assert slashless.ok and slashless.case_id == 1002 and slashless.merged_into is None


# --- 4: a 304 to a request without validators ------------------------------------------------


def test_a_304_to_a_request_without_validators_is_a_failure() -> None:
    routes = {"/en/case/1001/": (304, {"ETag": '"x"'}, b"")}
    with scripted(routes) as base:
        (result,) = _get_all([f"{base}/en/case/1001/"])
    assert not result.not_modified and result.failed
    assert result.error == "HTTP 304 (not modified) to a request without validators"


# --- 5: any exception while fetching a page costs that page only ---------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "mailto:someone@example.org",
        "javascript:alert(1)",
        "data:text/html,<h1>hi</h1>",
        "about:blank",
        "http://127.0.0.1:99999/en/case/1001/",
        "http://[::1/en/case/1001/",
        "http://127.0.0.1:80:80/x",
    ],
)
def test_an_odd_redirect_costs_its_page_only(location: str) -> None:
    routes = {"/en/case/1001/": (301, {"Location": location}, b""), "/en/case/1002/": PAGE}
    with scripted(routes) as base:
        odd, good = _get_all([f"{base}/en/case/1001/", f"{base}/en/case/1002/"])
    assert odd.failed and odd.case_id == 1001 and odd.error, odd
    assert odd.error.startswith("unusable redirect") or "refused" in odd.error, odd.error
    assert odd.attempts == 1  # the same answer again would not help
    assert good.ok


def test_an_unexpected_exception_is_that_pages_failure(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever a future httpx raises: a RuntimeError from inside one exchange.
    real = Fetcher._exchange

    async def exchange(self: Fetcher, url: str, *args: Any) -> Any:
        if url.endswith("/1002/"):
            raise RuntimeError("something nobody foresaw")
        return await real(self, url, *args)

    monkeypatch.setattr(Fetcher, "_exchange", exchange)
    with run_server_in_thread(site) as server:
        first, broken, last = _get_all(
            [f"{server.base_url}/en/case/{i}/" for i in (1001, 1002, 1003)]
        )
    assert first.ok and last.ok
    assert broken.failed and broken.case_id == 1002
    assert broken.error == "unexpected error while fetching: RuntimeError: something nobody foresaw"


# --- 6: gzipped sitemaps are bounded like bodies ------------------------------------------------


def test_a_gzipped_sitemap_is_decoded_within_max_body_bytes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def urlset(base: str, padding: int) -> bytes:
        return (
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{base}/en/case/1001/</loc></url><!--{' ' * padding}--></urlset>"
        ).encode()

    routes: dict[str, Route] = {}
    with scripted(routes) as base:
        robots = f"User-agent: *\nSitemap: {base}/small.xml.gz\nSitemap: {base}/big.xml.gz\n"
        routes["/robots.txt"] = (200, {}, robots.encode())
        routes["/small.xml.gz"] = (200, {}, gzip.compress(urlset(base, 1000)))
        # 20 MB of XML in about 20 KB of gzip: well past the 1 MB cap once decoded.
        routes["/big.xml.gz"] = (200, {}, gzip.compress(urlset(base, 20_000_000)))
        with caplog.at_level(logging.WARNING, logger="flows.sitemap"):
            urls = _with_fetcher(lambda f: read_sitemap(f, base), max_body_bytes=1_000_000)
    assert urls == [f"{base}/en/case/1001/"]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning == (
        f"{base}/big.xml.gz: gzipped sitemap decodes to more than max_body_bytes (1000000); ignored"
    )


# --- 7: robots.txt: the first 500 KiB of a long one; a redirect to another allowed host ----------


def test_an_oversized_robots_txt_is_read_to_500_kib(site: Path) -> None:
    # Rules first, then 600 KiB of comments: RFC 9309 says parse at least the first 500 KiB.
    robots = "User-agent: *\nDisallow: /en/case/1002/\n" + "# padding\n" * 60_000
    assert len(robots) > ROBOTS_LIMIT
    with run_server_in_thread(site, robots=robots) as server:
        allowed, disallowed = _get_all(
            [f"{server.base_url}/en/case/1001/", f"{server.base_url}/en/case/1002/"],
            max_body_bytes=100_000,  # below the robots.txt's size: it is cut, not refused
        )
    assert allowed.ok
    assert disallowed.failed and disallowed.error == "disallowed by robots.txt"


def test_a_robots_txt_redirecting_to_another_allowed_host_is_obeyed() -> None:
    # latinno.net -> www.latinno.net, played by 127.0.0.1 and 127.0.0.2 on one port number.
    routes: dict[str, Route] = {"/en/case/1001/": PAGE, "/en/case/1002/": PAGE}
    with scripted(routes) as base:
        port = int(base.rsplit(":", 1)[1])
        www = {"/robots.txt": (200, {}, b"User-agent: *\nDisallow: /en/case/1002/\n")}
        with scripted(www, host="127.0.0.2", port=port) as www_base:
            routes["/robots.txt"] = (301, {"Location": f"{www_base}/robots.txt"}, b"")
            allowed, disallowed = _get_all(
                [f"{base}/en/case/1001/", f"{base}/en/case/1002/"],
                allowed_hosts=["127.0.0.1", "127.0.0.2"],
            )
    assert allowed.ok
    assert disallowed.failed and disallowed.error == "disallowed by robots.txt"


# --- 8: Crawl-delay and Retry-After beyond what we wait ------------------------------------------


def test_a_crawl_delay_beyond_the_cap_gives_up_the_host_in_one_line(
    site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    robots = "User-agent: *\nCrawl-delay: 86400\n"
    with run_server_in_thread(site, robots=robots) as server:
        with caplog.at_level(logging.WARNING, logger="flows.fetch"):
            results = _get_all(
                [f"{server.base_url}/en/case/{i}/" for i in (1001, 1002, 1003)],
                max_crawl_delay_s=30,
            )
        paths = server.stats()["paths"]
    host = server.base_url.removeprefix("http://")
    why = (
        f"{host} asks for a Crawl-delay of 86400 s in robots.txt, more than "
        "politeness.max_crawl_delay_s (30 s); not requested this run"
    )
    assert [r.error for r in results] == [why] * 3
    assert paths == {"/robots.txt": 1}
    assert [r.getMessage() for r in caplog.records] == [why]


def test_a_crawl_delay_within_the_cap_is_obeyed(site: Path) -> None:
    robots = "User-agent: *\nCrawl-delay: 0.2\n"
    with run_server_in_thread(site, robots=robots) as server:
        results = _get_all([f"{server.base_url}/en/case/{i}/" for i in (1001, 1002)])
        times = [server.request_times(f"/en/case/{i}/")[0] for i in (1001, 1002)]
    assert all(r.ok for r in results)
    assert times[1] - times[0] >= 0.15


# --- 9: no redirect to another port, no https -> http downgrade ----------------------------------


def test_a_redirect_to_another_port_of_an_allowed_host_is_refused(site: Path) -> None:
    internal = {"/admin/": (200, {}, b"an internal service's answer")}
    with scripted(internal) as inner, run_server_in_thread(site) as server:
        server.server.redirects["/en/case/1001/"] = f"{inner}/admin/"
        (result,) = _get_all([f"{server.base_url}/en/case/1001/"])
    assert result.failed and result.body is None
    port, other = server.base_url.rsplit(":", 1)[1], inner.rsplit(":", 1)[1]
    assert result.error == (
        f"redirect from {server.base_url}/en/case/1001/ to {inner}/admin/ refused: "
        f"another port ({port} -> {other})"
    )


@pytest.mark.parametrize(
    ("current", "target", "refused"),
    [
        ("https://latinno.net/en/case/1/", "http://latinno.net/en/case/1/", "a downgrade"),
        ("https://latinno.net/x", "http://www.latinno.net/x", "a downgrade"),
        ("https://latinno.net/x", "https://latinno.net:8443/x", "another port (443 -> 8443)"),
        ("http://latinno.net/x", "http://latinno.net:8080/x", "another port (80 -> 8080)"),
        ("http://latinno.net/x", "https://latinno.net/x", None),  # an upgrade
        ("https://latinno.net/x", "https://www.latinno.net/x", None),
        ("https://latinno.net/x", "https://latinno.net:443/x", None),  # the same port
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/y", None),
    ],
)
def test_which_redirects_are_refused(current: str, target: str, refused: str | None) -> None:
    hosts = frozenset({"latinno.net", "www.latinno.net", "127.0.0.1"})
    why = redirect_refusal(current, target, hosts)
    if refused is None:
        assert why is None
    else:
        assert why is not None and why.startswith(f"redirect from {current} to {target}")
        assert refused in why, why


def test_a_port_allowed_by_name_may_be_redirected_to() -> None:
    hosts = frozenset({"latinno.net", "latinno.net:8080"})
    assert redirect_refusal("http://latinno.net/x", "http://latinno.net:8080/x", hosts) is None


# --- 17: a sitemap index past the files we read is said, not cut silently -----------------------


def test_a_sitemap_index_past_the_file_limit_is_said(caplog: pytest.LogCaptureFixture) -> None:
    routes: dict[str, Route] = {}
    with scripted(routes) as base:
        files = [f"{base}/part-{n}.xml" for n in range(60)]
        routes["/robots.txt"] = (200, {}, f"Sitemap: {base}/index.xml\n".encode())
        routes["/index.xml"] = (
            200,
            {},
            (
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                + "".join(f"<sitemap><loc>{url}</loc></sitemap>" for url in files)
                + "</sitemapindex>"
            ).encode(),
        )
        for n, url in enumerate(files):
            routes[url.removeprefix(base)] = (
                200,
                {},
                (
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<url><loc>{base}/en/case/{1001 + n}/</loc></url></urlset>"
                ).encode(),
            )
        with caplog.at_level(logging.WARNING, logger="flows.sitemap"):
            urls = _with_fetcher(lambda f: read_sitemap(f, base))
    assert urls is not None and len(urls) == 49  # the index and 49 of its files
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"more than 50 sitemap files; 11 not read (such as {files[49]})")
