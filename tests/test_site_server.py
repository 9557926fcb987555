"""The site server over real loopback HTTP: routes, validators, robots, sitemap, faults, stats."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from _fetch_support import make_site, page_html

from latinno.sitemodel.server import FAULT_KINDS, run_server_in_thread


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path / "site", [1001, 1002, 13005], langs=("en", "es"))


def test_pages_redirects_and_404(site: Path) -> None:
    with run_server_in_thread(site) as server, httpx.Client(base_url=server.base_url) as client:
        page = client.get("/en/case/1001/")
        assert page.status_code == 200
        assert page.text == page_html("en", 1001)
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert client.get("/es/case/13005/").text == page_html("es", 13005)

        moved = client.get("/en/case/1002")
        assert moved.status_code == 301
        assert moved.headers["location"] == "/en/case/1002/"

        for path in (
            "/en/case/1003/",
            "/pt/case/1001/",
            "/en/case/1001/expected.json",
            "/en/case/1001/index.html",
            "/en/case/1001x/",
            "/en/case/%2e%2e/1001/",
            "/",
            "/en/country/peru/",
        ):
            assert client.get(path).status_code == 404, path
        head = client.head("/en/case/1001/")
        assert head.status_code == 200 and head.content == b""
        assert client.post("/en/case/1001/").status_code == 405


def test_validators_answer_304_and_follow_file_changes(site: Path) -> None:
    file = site / "en" / "case" / "1001" / "index.html"
    with run_server_in_thread(site) as server, httpx.Client(base_url=server.base_url) as client:
        first = client.get("/en/case/1001/")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert client.get("/en/case/1001/", headers={"If-None-Match": etag}).status_code == 304
        by_date = client.get("/en/case/1001/", headers={"If-Modified-Since": modified})
        assert by_date.status_code == 304 and by_date.headers["etag"] == etag
        # If-None-Match wins over If-Modified-Since (RFC 9110).
        stale = client.get(
            "/en/case/1001/", headers={"If-None-Match": '"old"', "If-Modified-Since": modified}
        )
        assert stale.status_code == 200

        file.write_text("<html>changed</html>", encoding="utf-8")
        os.utime(file, (time.time() + 5, time.time() + 5))
        changed = client.get("/en/case/1001/", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.text == "<html>changed</html>"
        assert changed.headers["etag"] != etag
        assert (
            client.get("/en/case/1001/", headers={"If-Modified-Since": modified}).status_code == 200
        )

        file.unlink()
        assert client.get("/en/case/1001/").status_code == 404


def _sitemap_entries(xml: str) -> list[tuple[str, str | None]]:
    """(loc, lastmod text) of each <url>, in order."""
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.fromstring(xml)
    return [
        (url.findtext("s:loc", namespaces=ns) or "", url.findtext("s:lastmod", namespaces=ns))
        for url in root.findall("s:url", ns)
    ]


def test_robots_and_sitemap(site: Path) -> None:
    robots = "User-agent: *\nDisallow: /es/\nCrawl-delay: 2\n"
    with run_server_in_thread(site, robots=robots, sitemap=True) as server:
        with httpx.Client(base_url=server.base_url) as client:
            text = client.get("/robots.txt").text
            assert text.startswith(robots)
            assert f"Sitemap: {server.base_url}/sitemap.xml" in text
            sitemap = client.get("/sitemap.xml")
        assert sitemap.headers["content-type"] == "application/xml"
        locs = [loc for loc, _ in _sitemap_entries(sitemap.text)]
        expected = [
            f"{server.base_url}/{lang}/case/{cid}/"
            for lang in ("en", "es")
            for cid in (1001, 1002, 13005)
        ]
        assert locs == expected

    with run_server_in_thread(site) as server, httpx.Client(base_url=server.base_url) as client:
        assert client.get("/robots.txt").text == "User-agent: *\nAllow: /\n"
        assert client.get("/sitemap.xml").status_code == 404


def test_sitemap_lastmod_is_the_pages_last_modified(site: Path) -> None:
    # A distinct mtime per page, one a nanosecond short of a whole second: float st_mtime
    # rounds that up, so a server mixing the two clocks would disagree by a second.
    mtimes = {}
    for n, file in enumerate(sorted(site.glob("*/case/*/index.html"))):
        ns = (1_800_000_000 + 3_600 * n) * 10**9 + (10**9 - 1 if n == 0 else 250_000_000)
        os.utime(file, ns=(ns, ns))
        mtimes[f"/{file.parts[-4]}/case/{file.parts[-2]}/"] = ns // 10**9
    with (
        run_server_in_thread(site, sitemap=True) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        entries = _sitemap_entries(client.get("/sitemap.xml").text)
        assert len(entries) == len(mtimes) == 6
        for loc, lastmod in entries:
            path = loc.removeprefix(server.base_url)
            assert lastmod is not None
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lastmod), lastmod
            stamp = datetime.strptime(lastmod, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            header = parsedate_to_datetime(client.get(path).headers["last-modified"])
            assert stamp == header, path
            assert stamp.timestamp() == mtimes[path], path

        # The sitemap follows file changes while the server runs.
        file = site / "en" / "case" / "1002" / "index.html"
        os.utime(file, (1_900_000_000, 1_900_000_000))
        entries = dict(_sitemap_entries(client.get("/sitemap.xml").text))
        assert entries[f"{server.base_url}/en/case/1002/"] == "2030-03-17T17:46:40Z"
        file.unlink()
        entries = dict(_sitemap_entries(client.get("/sitemap.xml").text))
        assert f"{server.base_url}/en/case/1002/" not in entries
        assert len(entries) == 5

    with run_server_in_thread(site, sitemap=True, sitemap_lastmod=False) as server:
        body = httpx.get(f"{server.base_url}/sitemap.xml").text
    assert "lastmod" not in body
    assert len(_sitemap_entries(body)) == 5


def test_planned_faults_each_behave_as_named(site: Path) -> None:
    plan = {
        "/en/case/1001/": ["500", "503:1", "429:0", "truncate", "reset", "slow:0.4"],
        "/robots.txt": ["503:0"],
    }
    with run_server_in_thread(site, plan=plan) as server:
        with httpx.Client(base_url=server.base_url) as client:
            assert client.get("/robots.txt").status_code == 503
            assert client.get("/en/case/1001/").status_code == 500
            busy = client.get("/en/case/1001/")
            assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")
            limited = client.get("/en/case/1001/")
            assert (limited.status_code, limited.headers["retry-after"]) == (429, "0")
            with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message"):
                client.get("/en/case/1001/")
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
                client.get("/en/case/1001/")
            started = time.monotonic()
            slow = client.get("/en/case/1001/")
            assert slow.status_code == 200 and time.monotonic() - started >= 0.35
            assert client.get("/en/case/1001/").status_code == 200  # plan used up
        stats = server.stats()
    assert stats["faults"] == {
        "503": 2,
        "500": 1,
        "429": 1,
        "truncate": 1,
        "reset": 1,
        "slow": 1,
    }


def _fault_sequence(site: Path, seed: int) -> tuple[list[str], dict[str, int]]:
    outcomes = []
    with run_server_in_thread(site, faults=0.5, seed=seed, slow_s=0.01) as server:
        with httpx.Client(base_url=server.base_url) as client:
            for _ in range(80):
                try:
                    outcomes.append(str(client.get("/en/case/1002/").status_code))
                except httpx.HTTPError as exc:
                    outcomes.append(type(exc).__name__)
            assert client.get("/robots.txt").status_code == 200  # random faults: case pages only
        return outcomes, server.stats()["faults"]


def test_random_faults_are_seeded_and_cover_every_kind(site: Path) -> None:
    outcomes, faults = _fault_sequence(site, seed=7)
    again, _ = _fault_sequence(site, seed=7)
    other, _ = _fault_sequence(site, seed=8)
    assert outcomes == again
    assert outcomes != other
    assert set(faults) == set(FAULT_KINDS)
    failed = sum(1 for o in outcomes if o != "200")
    assert failed == sum(faults.values()) - faults["slow"]
    assert 20 <= sum(faults.values()) <= 60  # about half of 80


def test_stats_count_in_flight_and_per_second(site: Path) -> None:
    plan = {f"/en/case/{cid}/": ["slow:0.5"] for cid in (1001, 1002, 13005)}
    plan["/es/case/1001/"] = ["slow:0.5"]
    with run_server_in_thread(site, plan=plan) as server:

        def fetch(path: str) -> None:
            httpx.get(server.base_url + path)

        threads = [threading.Thread(target=fetch, args=(path,)) for path in plan]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = httpx.get(server.base_url + "/__stats").json()
        assert stats["max_in_flight"] == 4
        assert stats["in_flight"] == 0
        assert stats["total_requests"] == 4
        assert stats["paths"] == dict.fromkeys(plan, 1)

        httpx.post(server.base_url + "/__stats/reset")
        with httpx.Client(base_url=server.base_url) as client:
            for _ in range(4):  # one every 0.4 s: at most 3 start in any one-second window
                client.get("/en/case/1001/")
                time.sleep(0.4)
            assert server.stats()["max_per_second"] == 3
            for _ in range(6):
                client.get("/en/case/1001/")
        stats = server.stats()
        assert stats["max_per_second"] >= 6
        assert stats["max_in_flight"] == 1
        assert stats["paths"] == {"/en/case/1001/": 10}
        assert "/__stats" not in stats["paths"]


SERVE = ("site", "serve", "--port", "0", "--root")


@pytest.mark.process
def test_cli_serve_prints_its_url_first(site: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from latinno.cli import main; main()",
            *SERVE,
            str(site),
            "--sitemap",
            "--no-sitemap-lastmod",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/en/case/1001/").text == page_html("en", 1001)
        sitemap = httpx.get(f"{url}/sitemap.xml").text
        assert f"<loc>{url}/en/case/1001/</loc>" in sitemap and "lastmod" not in sitemap
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0  # SIGTERM is a clean stop


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["site", "generate", "--out", "OUT", "--languages", "en,fr"], "--languages 'en,fr'"),
        (["site", "generate", "--out", "OUT", "--pages", "0"], "--pages 0"),
        (["site", "serve", "--root", "OUT/missing"], "missing: site root is not a folder"),
        (["site", "serve", "--root", "OUT", "--faults", "1.5"], "--faults 1.5"),
        (["site", "serve", "--root", "OUT", "--marking", "colour"], "--marking colour"),
    ],
)
def test_site_commands_name_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from latinno.cli import app
    from latinno.errors import LatinnoError

    result = CliRunner().invoke(app, [a.replace("OUT", str(tmp_path)) for a in args])
    assert isinstance(result.exception, LatinnoError)
    assert message in str(result.exception)
    assert not (tmp_path / "en").exists()


# --- hostile mode ---------------------------------------------------------------------------


def _nesting_depth(body: bytes) -> int:
    depth = deepest = 0
    for match in re.finditer(rb"<(/?)div\b", body):
        depth += -1 if match.group(1) else 1
        deepest = max(deepest, depth)
    return deepest


def test_hostile_pages_are_served_at_their_case_urls_and_listed(site: Path) -> None:
    from latinno.sitemodel.render import render_page
    from latinno.sitemodel.server import HOSTILE_PAGES, NEST_DEPTH, hostile_spec

    pages = HOSTILE_PAGES
    with (
        run_server_in_thread(site, sitemap=True, hostile=True, bomb_bytes=8 << 20) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        entries = [loc for loc, _ in _sitemap_entries(client.get("/sitemap.xml").text)]
        for page in pages.values():
            assert f"{server.base_url}{page.path}" in entries, page.name
        assert f"{server.base_url}/en/case/1001/" in entries  # the real site is still there

        def raw(name: str) -> tuple[httpx.Response, bytes]:
            # The bytes as sent (httpx would otherwise decode the double gzip itself).
            with client.stream("GET", pages[name].path) as response:
                return response, b"".join(response.iter_raw())

        maintenance, body = raw("maintenance")
        assert maintenance.status_code == 200 and body.strip() == b"<h1>Maintenance</h1>"
        # Hostile pages never 304.
        assert "etag" not in maintenance.headers and "last-modified" not in maintenance.headers

        bomb, wire = raw("double_gzip")
        assert bomb.headers["content-encoding"] == "gzip, gzip"
        assert len(wire) < 20_000
        inner = zlib.decompress(wire, 16 + zlib.MAX_WBITS)
        assert zlib.decompress(inner, 16 + zlib.MAX_WBITS) == bytes(8 << 20)

        _, deep = raw("deep_nesting")
        assert _nesting_depth(deep) > NEST_DEPTH > 256
        assert "Participatory budgeting in Mérida".encode() in deep

        empty, body = raw("empty")
        assert empty.status_code == 200 and body == b""
        assert empty.headers["content-length"] == "0"

        binary, body = raw("binary")
        assert binary.headers["content-type"] == "text/html; charset=utf-8"
        assert body.startswith(b"\x89PNG") and b"\x00" in body

        bad, body = raw("invalid_utf8")
        assert bad.headers["content-type"] == "text/html; charset=utf-8"
        assert re.search(rb"<meta[^>]*charset=.?utf-8", body, re.IGNORECASE)
        with pytest.raises(UnicodeDecodeError) as caught:
            body.decode("utf-8")
        assert body[caught.value.start : caught.value.end] == b"\xe9"
        assert body.decode("utf-8", "replace").count("\ufffd") == 1
        # Apart from that byte, the page is the one rendered from its spec.
        at = caught.value.start
        assert body[:at] + "é".encode() + body[at + 1 :] == render_page(
            hostile_spec("invalid_utf8")
        )

        stats = server.stats()
        assert stats["faults"] == {} and stats["statuses"] == {"200": 7}


def test_hostile_pages_are_not_served_without_hostile_mode(site: Path) -> None:
    from latinno.sitemodel.server import HOSTILE_PAGES

    with (
        run_server_in_thread(site, sitemap=True) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        for page in HOSTILE_PAGES.values():
            assert client.get(page.path).status_code == 404
        assert "1999" not in client.get("/sitemap.xml").text


def test_slow_drip_sends_a_byte_per_pause_and_stops_when_the_client_leaves(site: Path) -> None:
    from latinno.sitemodel.server import HOSTILE_PAGES, hostile_body

    page = HOSTILE_PAGES["slow_drip"]
    with run_server_in_thread(site, hostile=True, drip_s=0.2) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(f"GET {page.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            received = b""
            started = time.monotonic()
            while time.monotonic() - started < 1.5:
                received += sock.recv(65536)
            head, _, body = received.partition(b"\r\n\r\n")
        full = hostile_body("slow_drip")
        assert f"Content-Length: {len(full)}".encode() in head
        # About one byte per 0.2 s: far from the whole page, yet something keeps arriving.
        assert 3 <= len(body) <= 9 and full.startswith(body)
        deadline = time.monotonic() + 3
        while server.stats()["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.stats()["in_flight"] == 0  # the drip noticed the client left


@pytest.mark.process
def test_cli_serve_without_a_root_serves_the_bundled_site_anywhere(tmp_path: Path) -> None:
    """No checkout needed (an installed package, issue 22): the pages are rendered, not read."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "html"
    proc = subprocess.Popen(
        [sys.executable, "-m", "latinno.cli", "site", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        page = httpx.get(f"{url}/es/case/17045/")
        assert page.content == (fixtures / "es" / "case" / "17045" / "index.html").read_bytes()
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "serving the bundled site" in stderr


@pytest.mark.process
def test_cli_serve_hostile_lists_the_hostile_pages(site: Path) -> None:
    from latinno.sitemodel.server import HOSTILE_PAGES

    proc = subprocess.Popen(
        [sys.executable, "-m", "latinno.cli", "site", "serve", "--port", "0", "--root", str(site),
         "--sitemap", "--hostile"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        sitemap = httpx.get(f"{url}/sitemap.xml").text
        for page in HOSTILE_PAGES.values():
            assert f"<loc>{url}{page.path}</loc>" in sitemap
        maintenance = httpx.get(f"{url}{HOSTILE_PAGES['maintenance'].path}")
        assert maintenance.text.strip() == "<h1>Maintenance</h1>"
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


# --- markings (issue 19) ----------------------------------------------------------------------


def test_a_marked_site_serves_the_same_pages_marked_another_way(tmp_path: Path) -> None:
    from latinno.marker import Marker
    from parsers import parse_case

    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "html"
    url_path = "/en/case/1003/"
    with run_server_in_thread(fixtures, marking="aria") as server:
        body = httpx.get(server.base_url + url_path).content
    plain = (fixtures / "en" / "case" / "1003" / "index.html").read_bytes()
    assert b'aria-checked="true"' in body and b'aria-checked="true"' not in plain
    page = "https://latinno.net" + url_path
    want = parse_case(plain, page)
    got = parse_case(body, page, marker=Marker("attribute", ("true",), "aria-checked"))
    assert (got.means, got.ends, got.policy_cycle) == (want.means, want.ends, want.policy_cycle)
    assert parse_case(body, page).means == ()  # the class 'active' no longer marks them
