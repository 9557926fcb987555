"""Between fetching and loading: batches in flight, backpressure, and the run's counters.

Fetching is faster than parsing and loading, so fetched bodies would pile up: at most
``FETCH_BATCHES_IN_FLIGHT`` fetch batches run at once, and at most ``BATCHES_PENDING`` fetched
batches wait to be processed before fetching waits too.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from prefect.utilities.annotations import quote

from flows.batch import BatchResult, Known, LoadTarget
from flows.carton import Carton
from flows.discover import unchanged_per_sitemap
from flows.fetch import Fetcher
from flows.fetch_types import FetchResult
from flows.parsing import ParseEngine
from flows.tasks import discover_prefix, fetch_batch, process_results
from latinno.config import SourceSettings
from latinno.pages import PageKey, page_key

# Fetch batches in flight at once: enough to keep the fetcher busy across a batch's tail,
# few enough that fetched bodies don't pile up ahead of parsing.
FETCH_BATCHES_IN_FLIGHT = 2
# Batches fetched but not yet parsed and loaded, at most.
BATCHES_PENDING = 2


class Pipeline:
    """One run's flow of pages: fetch or probe, hand each batch on to be processed, count."""

    def __init__(
        self,
        fetcher: Fetcher,
        known: Known,
        parser: ParseEngine,
        target: LoadTarget,
        *,
        batch_size: int,
        full: bool,
    ) -> None:
        self.fetcher = fetcher
        self.known = known
        self.parser = parser
        self.target = target
        self.batch_size = batch_size
        self.full = full
        self.counts: Counter[str] = Counter()
        self.failed_urls: list[str] = []
        self.deferred_seen: list[tuple[int, str]] = []
        self.reasons: Counter[str] = Counter()
        self._processing: list[asyncio.Future[BatchResult]] = []
        # Two threads: one batch parses while the previous one loads. Few on purpose: each
        # thread's malloc arena keeps what it once held.
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="latinno-batch")

    async def fetch(
        self, urls: list[str], lastmods: Mapping[PageKey, datetime] | None = None
    ) -> set[int]:
        """Fetch ``urls`` in batches and hand them on; returns the case ids found.

        Pages the sitemap dates no later than our copy are not requested at all.
        """
        keys = {url: page_key(url) or PageKey(0, "") for url in urls}
        skipped = {
            key
            for key in keys.values()
            if lastmods and unchanged_per_sitemap(key, lastmods, self.known.validators)
        }
        self.counts["sitemap_unchanged"] += len(skipped)
        self.counts["discovered"] += len(skipped)
        self.deferred_seen.extend(skipped)
        rest = [url for url, key in keys.items() if key not in skipped]
        found = {key.case_id for key in skipped}
        parts = iter([rest[i : i + self.batch_size] for i in range(0, len(rest), self.batch_size)])
        running: set[asyncio.Future[Carton[list[FetchResult]]]] = set()
        while True:
            for part in parts:
                batch = fetch_batch(quote(self.fetcher), part, quote(self.known))
                running.add(asyncio.ensure_future(batch))
                if len(running) >= FETCH_BATCHES_IN_FLIGHT:
                    break
            if not running:
                return found
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                results = future.result().take()
                found |= {r.case_id for r in results if r.case_id and (r.ok or r.not_modified)}
                await self.dispatch(results)

    async def probe(self, source: SourceSettings, lang: str, limit: int | None) -> set[int]:
        """Probe every configured prefix concurrently; hand each prefix's pages on as it ends."""
        found: set[int] = set()
        by_prefix: dict[int, list[int]] = {}
        for cid in self.known.statuses:
            by_prefix.setdefault(cid // 1000, []).append(cid)

        def probe(prefix: int) -> Any:
            return discover_prefix(
                quote(self.fetcher),
                source.base_url,
                lang,
                prefix,
                source.max_consecutive_misses,
                source.max_serial,
                by_prefix.get(prefix, []),
                quote(self.known),
            )

        async def take(carton: Carton[list[FetchResult]]) -> None:
            results = carton.take()
            hits = [r for r in results if r.ok or r.not_modified]
            if limit is not None:
                hits = hits[: max(0, limit - len(found))]
                results = [r for r in results if not (r.ok or r.not_modified)] + hits
            found.update(r.case_id for r in hits if r.case_id)
            await self.dispatch(results)

        if limit is not None:
            # A trial run: one prefix at a time, no more probing once enough cases turned up.
            for prefix in source.country_prefixes:
                if len(found) >= limit:
                    break
                await take(await probe(prefix))
            return found
        for next_done in asyncio.as_completed(
            [asyncio.ensure_future(probe(p)) for p in source.country_prefixes]
        ):
            await take(await next_done)
        return found

    async def dispatch(self, results: Sequence[FetchResult]) -> None:
        """Hand fetched pages on to be processed, waiting while too many batches are pending."""
        self.counts["discovered"] += sum(1 for r in results if r.ok or r.not_modified)
        for start in range(0, len(results), self.batch_size):
            chunk = list(results[start : start + self.batch_size])
            while sum(not t.done() for t in self._processing) >= BATCHES_PENDING:
                pending = [t for t in self._processing if not t.done()]
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            batch = process_results(
                quote(chunk),
                quote(self.known),
                quote(self.parser),
                self.target,
                self.full,
                quote(self._threads),
            )
            self._processing.append(asyncio.ensure_future(batch))

    async def drain(self) -> None:
        """Wait for every batch to be processed and add up what each one counted."""
        for outcome in await asyncio.gather(*self._processing):
            self.counts.update(outcome.counts)
            self.failed_urls.extend(outcome.failed_urls)
            self.deferred_seen.extend(outcome.deferred_seen)
            self.reasons.update(outcome.reasons)
        self._processing.clear()

    def close(self) -> None:
        self._threads.shutdown(wait=True)
