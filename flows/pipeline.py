"""Between fetching and loading: batches in flight, backpressure, and the run's counters.

Fetching is faster than parsing and loading, so fetched bodies would pile up: at most
``FETCH_BATCHES_IN_FLIGHT`` fetch batches run at once, and at most ``BATCHES_PENDING`` fetched
batches wait to be processed before fetching waits too.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from prefect.utilities.annotations import quote

from flows.batch import BatchResult, Known, LoadTarget
from flows.carton import Carton
from flows.discover import ProbeOutcome, by_case
from flows.fetch import Fetcher
from flows.fetch_types import FetchResult
from flows.guard import DriftGuard
from flows.parsing import ParseEngine
from flows.progress import report, stage
from flows.sitemap import unchanged_per_sitemap
from flows.tasks import discover_prefix, fetch_batch, process_results
from latinno.config import SourceSettings
from latinno.pages import PageKey, page_key

# Fetch batches in flight at once: enough to keep the fetcher busy across a batch's tail,
# few enough that fetched bodies don't pile up ahead of parsing.
FETCH_BATCHES_IN_FLIGHT = 2
# Batches fetched but not yet parsed and loaded, at most.
BATCHES_PENDING = 2

log = logging.getLogger(__name__)


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
        guard: DriftGuard[Any] | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.guard = guard
        self.known = known
        self.parser = parser
        self.target = target
        self.batch_size = batch_size
        self.full = full
        self.counts: Counter[str] = Counter()
        self.failed_urls: list[str] = []
        self.deferred_seen: list[tuple[int, str]] = []
        self.reasons: Counter[str] = Counter()
        self.absent: list[tuple[int, str]] = []
        self._processing: list[asyncio.Future[BatchResult]] = []
        # Two threads: one batch parses while the previous one loads. Few on purpose: each
        # thread's malloc arena keeps what it once held.
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="latinno-batch")

    async def fetch(
        self, groups: Sequence[Sequence[str]], lastmods: Mapping[PageKey, datetime] | None = None
    ) -> set[int]:
        """Fetch the pages of each case (``groups``: the URLs of one case each) in batches that
        never split a case, and hand them on; returns the case ids found.

        A case whose every page the sitemap dates no later than our copy is not requested at
        all; one page not so dated and the case is asked for whole (unchanged pages answer
        304), so whoever decides on it sees every language.
        """
        report("planned", sum(len(urls) for urls in groups))
        stage("fetching")
        found: set[int] = set()
        parts: list[list[str]] = [[]]
        unvalidated = 0  # pages asked for without validators: each comes back to be parsed
        for urls in groups:
            keys = [page_key(url) or PageKey(0, "") for url in urls]
            if lastmods and all(
                unchanged_per_sitemap(key, lastmods, self.known.validators) for key in keys
            ):
                self.counts["sitemap_unchanged"] += len(keys)
                report("fetched", len(keys))  # done, without a request
                self.counts["discovered"] += len(keys)
                for key in keys:
                    self.counts[f"lang_{key.lang}_discovered"] += 1
                self.deferred_seen.extend(keys)
                found.update(key.case_id for key in keys)
                continue
            if len(parts[-1]) >= self.batch_size:
                parts.append([])
            parts[-1].extend(urls)
            unvalidated += sum(key not in self.known.validators for key in keys)
        self.parser.expect(unvalidated)  # a big run starts its parse workers while it fetches
        pending = iter(part for part in parts if part)
        running: set[asyncio.Future[Carton[list[FetchResult]]]] = set()
        while True:
            for part in pending:
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

    async def probe(
        self, source: SourceSettings, limit: int | None, *, sweep: bool = False
    ) -> set[int]:
        """Probe every configured prefix concurrently, in every configured language; hand each
        prefix's pages on as it ends. Counts per prefix where probing stopped
        (``probe_stop_{prefix}``) and the known ids past it (``probe_known_beyond_{prefix}``)."""
        found: set[int] = set()
        by_prefix: dict[int, list[int]] = {}
        for cid in self.known.statuses:
            by_prefix.setdefault(cid // 1000, []).append(cid)

        def probe(prefix: int) -> Any:
            stage(f"probing prefix {prefix}")
            return discover_prefix(
                quote(self.fetcher),
                source.base_url,
                list(source.languages),
                prefix,
                source.max_consecutive_misses,
                source.max_serial,
                by_prefix.get(prefix, []),
                quote(self.known),
                source.probe_other_languages,
                sweep,
            )

        async def take(prefix: int, carton: Carton[ProbeOutcome]) -> None:
            outcome = carton.take()
            self.counts[f"probe_stop_{prefix}"] = outcome.last_probed
            self.counts[f"probe_known_beyond_{prefix}"] = outcome.known_beyond
            self.counts["known_beyond_probe"] += outcome.known_beyond
            results = outcome.results
            if limit is not None:
                # Whole cases only: the first ones found, and every answer that found none.
                cases = by_case(results)
                hits = [cid for cid, answers in cases.items() if any(_found(r) for r in answers)]
                keep = set(hits[: max(0, limit - len(found))])
                results = [
                    r
                    for r in results
                    if r.case_id in keep or not any(map(_found, cases.get(r.case_id or 0, [])))
                ]
            found.update(r.case_id for r in results if r.case_id and _found(r))
            await self.dispatch(results)

        if limit is not None:
            # A trial run: one prefix at a time, no more probing once enough cases turned up.
            for prefix in source.country_prefixes:
                if len(found) >= limit:
                    break
                await take(prefix, await probe(prefix))
            return found

        async def probed(prefix: int) -> tuple[int, Carton[ProbeOutcome]]:
            return prefix, await probe(prefix)

        for next_done in asyncio.as_completed(
            [asyncio.ensure_future(probed(p)) for p in source.country_prefixes]
        ):
            await take(*await next_done)
        return found

    async def dispatch(self, results: Sequence[FetchResult]) -> None:
        """Hand fetched pages on to be processed, waiting while too many batches are pending.

        Batches end on a case's last page: every language of a case is decided on together.
        """
        self.counts["discovered"] += sum(1 for r in results if _found(r))
        for r in results:
            if r.lang and r.case_id:
                if _found(r):
                    self.counts[f"lang_{r.lang}_discovered"] += 1
                if r.ok:
                    self.counts[f"lang_{r.lang}_fetched"] += 1
                elif r.gone:
                    self.counts[f"lang_{r.lang}_gone"] += 1
        for chunk in _chunks(results, self.batch_size):
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
                quote(self.guard),
            )
            self._processing.append(asyncio.ensure_future(batch))

    async def drain(self) -> None:
        """Wait for every batch to be processed and add up what each one counted."""
        for outcome in await asyncio.gather(*self._processing):
            self.counts.update(outcome.counts)
            self.failed_urls.extend(outcome.failed_urls)
            self.deferred_seen.extend(outcome.deferred_seen)
            self.reasons.update(outcome.reasons)
            self.absent.extend(outcome.absent)
        self._processing.clear()

    async def count_languages(self) -> None:
        """Count active cases by the language that fills their row (``lang_{lang}_cases``):
        call it once everything of the run is written."""
        filled = await asyncio.get_running_loop().run_in_executor(
            self._threads, _cases_by_language, self.target
        )
        for lang, count in filled.items():
            self.counts[f"lang_{lang}_cases"] = count

    def close(self) -> None:
        self._threads.shutdown(wait=True)


def _found(result: FetchResult) -> bool:
    return result.ok or result.not_modified


def _chunks(results: Sequence[FetchResult], size: int) -> list[list[FetchResult]]:
    """``results`` in runs of about ``size``, cut only where the case id changes."""
    chunks: list[list[FetchResult]] = [[]]
    for result in results:
        current = chunks[-1]
        if len(current) >= size and current[-1].case_id != result.case_id:
            chunks.append(current := [])
        current.append(result)
    return [chunk for chunk in chunks if chunk]


def _cases_by_language(target: LoadTarget) -> dict[str, int]:
    from warehouse.db import writing
    from warehouse.runs import cases_by_language

    patience = writing(
        target.db_path, target.lock_timeout_s, patient="readers", on_wait=log.warning
    )
    with patience as con:
        return cases_by_language(con)
