"""The pages ``latinno calibrate`` learns from: a small polite sample of the site, or saved pages.

Online, through the refresh's own fetcher (robots.txt, rate and concurrency as configured,
retries): the sitemap's case pages when the site offers one, spread over the whole list; else
the first ids of a few country prefixes, probed until a prefix gives its share or misses
``MISSES`` ids in a row. No Prefect, no warehouse.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from latinno.config import Settings
from latinno.errors import LatinnoError, PageParseError
from latinno.pages import PageKey, case_url, page_key

MISSES = 5
PREFIXES = 6  # country prefixes a probed sample is spread over

Page = tuple[bytes, str]


def saved_pages(paths: list[Path], base_url: str) -> tuple[list[Page], list[str]]:
    """Saved pages and their URLs (canonical link, else path); unreadable files are noted."""
    from latinno.cli.parse import not_a_page, page_url

    pages: list[Page] = []
    notes: list[str] = []
    for path in paths:
        try:
            body = path.read_bytes()
        except OSError as exc:
            notes.append(f"{path}: cannot read: {exc.strerror}")
            continue
        problem = not_a_page(body)
        if problem is not None:
            notes.append(f"{path}: {problem}")
            continue
        try:
            pages.append((body, page_url(path, body, base_url, None)))
        except PageParseError as exc:
            notes.append(f"{path}: {exc.reason}")
    return pages, notes


def _spread(urls: list[str], count: int) -> list[str]:
    """``count`` URLs taken evenly across the list (every country, not the first one's)."""
    if len(urls) <= count:
        return urls
    step = len(urls) / count
    return [urls[int(i * step)] for i in range(count)]


async def _probe(fetcher: object, settings: Settings, count: int) -> list[Page]:
    from flows.fetch import Fetcher

    assert isinstance(fetcher, Fetcher)
    source = settings.source
    prefixes = source.country_prefixes
    chosen = [
        prefixes[int(i * len(prefixes) / PREFIXES)] for i in range(min(PREFIXES, len(prefixes)))
    ]
    share = -(-count // len(chosen))
    lang = source.languages[0]

    async def prefix_pages(prefix: int) -> list[Page]:
        got: list[Page] = []
        misses = 0
        serial = 0
        while len(got) < share and misses < MISSES and serial < source.max_serial:
            serial += 1
            url = case_url(source.base_url, PageKey(prefix * 1000 + serial, lang))
            result = await fetcher.get(url)
            if result.ok and result.body is not None:
                got.append((result.body, result.final_url))
                misses = 0
            else:
                misses += 1
        return got

    found = await asyncio.gather(*(prefix_pages(p) for p in chosen))
    return [page for pages in found for page in pages][:count]


async def _fetch(settings: Settings, count: int) -> tuple[list[Page], str]:
    from flows.fetch import Fetcher
    from flows.fetch_types import FetchPolicy
    from flows.sitemap import read_sitemap_entries

    source = settings.source
    async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
        why = await fetcher.unreachable(source.base_url)
        if why:
            raise LatinnoError(f"cannot reach {source.base_url}: {why} (robots.txt)")
        entries = None
        if source.discovery in ("auto", "sitemap"):
            entries = await read_sitemap_entries(fetcher, source.base_url)
        if entries is None:
            return await _probe(fetcher, settings, count), "probing the first ids of prefixes"
        wanted = [
            url
            for url in entries
            if (key := page_key(url)) is not None
            and key.lang in source.languages
            and key.case_id // 1000 in source.country_prefixes
        ]
        results = await asyncio.gather(*(fetcher.get(url) for url in _spread(wanted, count)))
        pages = [(r.body, r.final_url) for r in results if r.ok and r.body is not None]
        return pages, f"the sitemap ({len(wanted)} case pages)"


def fetched_pages(settings: Settings, count: int) -> tuple[list[Page], str]:
    """A polite sample of at most ``count`` case pages, and how it was found."""
    return asyncio.run(_fetch(settings, count))
