"""Between fetching and loading: batches in flight, backpressure, and the run's counters.

No Prefect here. A run's work is three kinds of unit, each over many pages: fetch a batch of
URLs, probe a country prefix, process (parse and load) a batch of fetched pages. ``Steps`` says
how they run: called directly, or as Prefect tasks (``flows.tasks``). A unit takes small, plain
arguments (a batch number, URLs, a prefix) and returns a small result; the fetched pages wait
in the pipeline for the unit that processes them.

Fetching is faster than parsing and loading, so fetched bodies would pile up: at most
``FETCH_BATCHES_IN_FLIGHT`` fetch batches run at once, and at most ``BATCHES_PENDING`` fetched
batches wait to be processed before fetching waits too. Processing runs on this process's
threads, so the event loop goes on fetching meanwhile.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from flows.batch import BatchResult, Known, LoadTarget, process_batch
from flows.counts import PrefixCounts, RunCounts
from flows.discover import by_case, fetch_cases, probe_prefix, refetch_survivors
from flows.fetch import Fetcher
from flows.fetch_types import FetchResult
from flows.guard import DriftGuard
from flows.parsing import ParseSpec
from flows.progress import report, stage
from flows.sitemap import unchanged_per_sitemap
from latinno.config_sections import SourceSettings
from latinno.pages import PageKey, page_key

# Fetch batches in flight at once: enough to keep the fetcher busy across a batch's tail,
# few enough that fetched bodies don't pile up ahead of parsing.
FETCH_BATCHES_IN_FLIGHT = 2
# Batches fetched but not yet parsed and loaded, at most.
BATCHES_PENDING = 2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Steps:
    """How the pipeline's units run: ``fetch(batch, urls)`` returns the pages fetched,
    ``probe(prefix)`` where probing stopped, ``process(batch, pages)`` what the batch counted."""

    fetch: Callable[[int, list[str]], Awaitable[int]]
    probe: Callable[[int], Awaitable[PrefixCounts]]
    process: Callable[[int, int], Awaitable[BatchResult]]


class Pipeline:
    """One run's flow of pages: fetch or probe, hand each batch on to be processed, count."""

    def __init__(
        self,
        fetcher: Fetcher,
        known: Known,
        spec: ParseSpec,
        target: LoadTarget,
        *,
        batch_size: int,
        full: bool,
        guard: DriftGuard[Any] | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.guard = guard
        self.known = known
        self.spec = spec
        self.target = target
        self.batch_size = batch_size
        self.full = full
        self.counts = RunCounts()
        self.failed_urls: list[str] = []
        self.deferred_seen: list[tuple[int, str]] = []
        self.reasons: Counter[str] = Counter()
        self.robots_note: str | None = None
        self.absent: list[tuple[int, str]] = []
        # Called directly unless the flow runs them as Prefect tasks (flows.tasks).
        self.steps = Steps(self.fetch_batch, self.probe_prefix, self.process_batch)
        self._source = SourceSettings()
        self._sweep = False
        self._by_prefix: dict[int, list[int]] = {}
        # Pages between the unit that got them and the one that takes them, by batch or prefix.
        self._fetched: dict[int, list[FetchResult]] = {}
        self._probed: dict[int, list[FetchResult]] = {}
        self._waiting: dict[int, list[FetchResult]] = {}
        self._batches = 0
        self._processing: list[asyncio.Future[BatchResult]] = []
        # Two threads: one batch parses while the previous one loads. Few on purpose: each
        # thread's malloc arena keeps what it once held.
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="latinno-batch")

    # --- the units -----------------------------------------------------------------------

    async def fetch_batch(self, batch: int, urls: list[str]) -> int:
        """Fetch a batch of case URLs (every page of each of its cases, from the sitemap or
        known), conditionally where we hold validators; returns how many pages it fetched."""
        pending = []
        for url in urls:
            key = page_key(url)
            pending.append((url, self.known.validators.get(key) if key else None))
        fetched = await fetch_cases(self.fetcher, pending)
        results = await refetch_survivors(self.fetcher, fetched, self.known.sha256)
        self._fetched[batch] = results
        report("fetched", len(results))
        return len(results)

    async def probe_prefix(self, prefix: int) -> PrefixCounts:
        """Probe one country prefix in every configured language (and recheck its known ids);
        returns where probing stopped."""
        source = self._source
        langs: list[str] = list(source.languages)
        known = self.known
        mine = {
            cid: {lang: known.validators.get((cid, lang)) for lang in langs}
            for cid in self._by_prefix.get(prefix, [])
        }
        outcome = await probe_prefix(
            self.fetcher,
            source.base_url,
            prefix,
            langs=langs,
            max_misses=source.max_consecutive_misses,
            max_serial=source.max_serial,
            known=mine,
            other_languages=source.probe_other_languages,
            sweep=self._sweep,
        )
        results = await refetch_survivors(self.fetcher, outcome.results, known.sha256)
        self._probed[prefix] = results
        report("fetched", len(results))
        return PrefixCounts(outcome.last_probed, outcome.known_beyond)

    async def process_batch(self, batch: int, pages: int) -> BatchResult:
        """Parse and load one batch of ``pages`` fetched pages on a worker thread, so fetching
        goes on meanwhile."""
        results = self._waiting.pop(batch)
        work = partial(
            process_batch,
            results,
            known=self.known,
            spec=self.spec,
            target=self.target,
            full=self.full,
            guard=self.guard,
        )
        # The caller's context goes with the work (run_in_executor alone would drop it).
        context = contextvars.copy_context()
        out = await asyncio.get_running_loop().run_in_executor(self._threads, context.run, work)
        report("processed", pages)
        return out

    # --- the run ---------------------------------------------------------------------------

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
        for urls in groups:
            keys = [page_key(url) or PageKey(0, "") for url in urls]
            if lastmods and all(
                unchanged_per_sitemap(key, lastmods, self.known.validators) for key in keys
            ):
                self.counts.sitemap_unchanged += len(keys)
                report("fetched", len(keys))  # done, without a request
                self.counts.discovered += len(keys)
                for key in keys:
                    self.counts.lang(key.lang).discovered += 1
                self.deferred_seen.extend(keys)
                found.update(key.case_id for key in keys)
                continue
            if len(parts[-1]) >= self.batch_size:
                parts.append([])
            parts[-1].extend(urls)
        pending = iter(enumerate(part for part in parts if part))
        running: dict[asyncio.Future[int], int] = {}
        while True:
            for batch, part in pending:
                running[asyncio.ensure_future(self.steps.fetch(batch, part))] = batch
                if len(running) >= FETCH_BATCHES_IN_FLIGHT:
                    break
            if not running:
                return found
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                future.result()  # a unit that failed fails the run
                results = self._fetched.pop(running.pop(future))
                found |= {r.case_id for r in results if r.case_id and _found(r)}
                await self.dispatch(results)

    async def probe(
        self, source: SourceSettings, limit: int | None, *, sweep: bool = False
    ) -> set[int]:
        """Probe every configured prefix concurrently, in every configured language; hand each
        prefix's pages on as it ends. Counts per prefix where probing stopped and the known ids
        past it."""
        found: set[int] = set()
        self._source, self._sweep = source, sweep
        for cid in self.known.statuses:
            self._by_prefix.setdefault(cid // 1000, []).append(cid)

        def probe(prefix: int) -> Awaitable[PrefixCounts]:
            stage(f"probing prefix {prefix}")
            return self.steps.probe(prefix)

        async def take(prefix: int, stopped: PrefixCounts) -> None:
            self.counts.prefixes[prefix] = stopped
            self.counts.known_beyond_probe += stopped.known_beyond
            results = self._probed.pop(prefix)
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

        async def probed(prefix: int) -> tuple[int, PrefixCounts]:
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
        self.counts.discovered += sum(1 for r in results if _found(r))
        for r in results:
            if r.lang and r.case_id:
                language = self.counts.lang(r.lang)
                if _found(r):
                    language.discovered += 1
                if r.ok:
                    language.fetched += 1
                elif r.gone:
                    language.gone += 1
        for chunk in _chunks(results, self.batch_size):
            while sum(not t.done() for t in self._processing) >= BATCHES_PENDING:
                pending = [t for t in self._processing if not t.done()]
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            batch, self._batches = self._batches, self._batches + 1
            self._waiting[batch] = chunk
            self._processing.append(asyncio.ensure_future(self.steps.process(batch, len(chunk))))

    async def drain(self) -> None:
        """Wait for every batch to be processed and add up what each one counted."""
        for outcome in await asyncio.gather(*self._processing):
            self.counts.add(outcome.counts)
            self.failed_urls.extend(outcome.failed_urls)
            self.deferred_seen.extend(outcome.deferred_seen)
            self.reasons.update(outcome.reasons)
            self.robots_note = self.robots_note or outcome.robots_note
            self.absent.extend(outcome.absent)
        self._processing.clear()

    async def count_languages(self) -> None:
        """Count active cases by the language that fills their row: call it once everything
        of the run is written."""
        filled = await asyncio.get_running_loop().run_in_executor(
            self._threads, _cases_by_language, self.target
        )
        for lang, count in filled.items():
            self.counts.lang(lang).cases = count

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
