"""The fetcher against hostile pages over real loopback HTTP (issue 13, part 3).

A gzip-inside-gzip bomb is refused while it is being decoded (its peak memory is measured in
bench/bench_hostile_memory.py, not here), a server dripping a byte at a time fails the page
after ``max_request_s`` and is retried as any timeout, and the other hostile pages come back
as the bytes the server sent: parsing them is the parser's business.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from pathlib import Path

import pytest
from _fetch_support import fast_fetcher, make_site

from flows.client import STEP, BodyTooLarge, BodyUndecodable, BoundedDecoder, content_codings
from flows.fetch_types import FetchPolicy, FetchResult
from flows.progress import set_reporter
from latinno.sitemodel.server import HOSTILE_PAGES, hostile_body, run_server_in_thread


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("hostile") / "site", [1001])


def _get(base_url: str, name: str, **overrides: object) -> FetchResult:
    async def go() -> FetchResult:
        async with fast_fetcher(**overrides) as fetcher:
            return await fetcher.get(f"{base_url}{HOSTILE_PAGES[name].path}")

    return asyncio.run(go())


@pytest.mark.slow  # builds and serves the real 1 GiB bomb
def test_double_gzip_over_a_gibibyte_is_refused_while_decoding(site: Path) -> None:
    # The real bomb of issue 13: 1 GiB of zeros, gzip inside gzip, a few KB on the wire. (Its
    # time and memory are measured in bench/bench_hostile_memory.py.)
    assert len(hostile_body("double_gzip", 1 << 30)) < 5_000
    with run_server_in_thread(site, hostile=True) as server:
        result = _get(server.base_url, "double_gzip", max_body_bytes=5_000_000)
        assert result.failed and result.body is None
        assert result.status == 200 and result.attempts == 1  # a refusal is never retried
        assert "exceeds max_body_bytes (5000000)" in (result.error or "")
        assert "decoded (gzip, gzip)" in (result.error or "")


def test_slow_drip_fails_after_max_request_s_and_is_retried_as_a_timeout(site: Path) -> None:
    with run_server_in_thread(site, hostile=True, drip_s=2.0) as server:
        started = time.monotonic()
        result = _get(server.base_url, "slow_drip", max_request_s=1.0, max_retries=1)
        elapsed = time.monotonic() - started
        path = HOSTILE_PAGES["slow_drip"].path
        assert server.stats()["paths"][path] == 2  # the first try and one retry
    assert result.failed and result.attempts == 2
    assert result.error == (
        "timeout: the request took longer than max_request_s (1s) (gave up after 2 attempts)"
    )
    # Each attempt lasts the cap (the error says so; the whole page would take hours at a byte
    # per 2 s).
    assert elapsed >= 2.0, elapsed


def test_a_dripping_page_is_retried_once_and_named_while_the_run_waits_for_it(
    site: Path,
) -> None:
    # Issue 21: six attempts of max_request_s each held a run minutes past 100%, unexplained.
    events: list[tuple[str, int, str]] = []
    set_reporter(lambda event, amount, note: events.append((event, amount, note)))
    try:
        with run_server_in_thread(site, hostile=True, drip_s=0.05) as server:
            # Slow after the read timeout (1 s; a byte comes every 0.05 s), cut at 2 s.
            result = _get(
                server.base_url, "slow_drip", timeout_s=1.0, max_request_s=2.0, max_retries=4
            )
            path = HOSTILE_PAGES["slow_drip"].path
            requests = server.stats()["paths"][path]
    finally:
        set_reporter(None)
    assert result.failed and result.attempts == 2 and requests == 2
    assert "max_request_s" in (result.error or "")
    said = [(amount, note) for event, amount, note in events if event == "waiting"]
    named = f"waiting for 1 page: {server.base_url}{path} (slow answer)"
    assert said == [(1, named), (0, "")] * 2  # named while dripping, unnamed once cut


def test_a_slow_but_finishing_page_is_not_cut_by_max_request_s(site: Path) -> None:
    with run_server_in_thread(site, plan={"/en/case/1001/": ["slow:0.5"]}) as server:

        async def go() -> FetchResult:
            async with fast_fetcher(max_request_s=3.0) as fetcher:
                return await fetcher.get(f"{server.base_url}/en/case/1001/")

        result = asyncio.run(go())
    assert result.ok and result.attempts == 1


@pytest.mark.parametrize("name", ["maintenance", "empty", "binary", "invalid_utf8", "deep_nesting"])
def test_other_hostile_pages_arrive_as_sent(site: Path, name: str) -> None:
    with run_server_in_thread(site, hostile=True) as server:
        result = _get(server.base_url, name)
    assert result.ok, result.error
    assert result.body == hostile_body(name)
    assert result.charset == "utf-8"


def test_fetch_policy_carries_max_request_s() -> None:
    from latinno.config import load_settings, override

    settings = override(load_settings(None), {"http": {"max_request_s": 7.5}}, "test")
    assert FetchPolicy.from_settings(settings).http.max_request_s == 7.5


# --- the decoder on its own ---------------------------------------------------------------------


def _feed(decoder: BoundedDecoder, data: bytes, chunk: int = 997) -> bytes:
    for start in range(0, len(data), chunk):
        decoder.feed(data[start : start + chunk])
    return decoder.finish()


def test_decoder_handles_every_coding_we_ask_for() -> None:
    text = b"<html>" + bytes(range(256)) * 400 + b"</html>"
    zlib_deflate = zlib.compress(text)
    raw_deflate = zlib.compress(text, wbits=-zlib.MAX_WBITS)
    two_members = gzip.compress(text[:5000]) + gzip.compress(text[5000:])
    cases = {
        "": text,
        "identity": text,
        "gzip": gzip.compress(text),
        "x-gzip": gzip.compress(text),
        "deflate": zlib_deflate,
        "gzip, gzip": gzip.compress(gzip.compress(text)),
        "deflate, gzip": gzip.compress(zlib_deflate),
    }
    for header, body in cases.items():
        assert _feed(BoundedDecoder(content_codings(header), len(text)), body) == text, header
    assert _feed(BoundedDecoder(["deflate"], len(text)), raw_deflate) == text
    assert _feed(BoundedDecoder(["gzip"], len(text)), two_members) == text


def test_decoder_refuses_past_the_cap_in_bounded_steps() -> None:
    bomb = gzip.compress(gzip.compress(bytes(50 << 20)))
    decoder = BoundedDecoder(["gzip", "gzip"], 1_000_000)
    with pytest.raises(BodyTooLarge) as caught:
        _feed(decoder, bomb, chunk=len(bomb))
    # It stopped within one step of the cap, not after 50 MiB.
    assert 1_000_000 < caught.value.size <= 1_000_000 + STEP


def test_decoder_names_what_it_cannot_decode() -> None:
    with pytest.raises(BodyUndecodable, match="unsupported Content-Encoding 'br'"):
        content_codings("br")
    with pytest.raises(BodyUndecodable, match="not valid gzip"):
        _feed(BoundedDecoder(["gzip"], 1000), b"this is not gzip at all")
    with pytest.raises(BodyUndecodable, match="ends before its end marker"):
        _feed(BoundedDecoder(["gzip"], 10_000), gzip.compress(b"x" * 5000)[:-12])
