"""Between fetching and loading: batches in flight, backpressure, and the run's counters.

No Prefect here. A run's work is three kinds of unit, each over many pages: fetch a batch of
URLs, probe a country prefix, process (parse and load) a batch of fetched pages. ``Steps`` says
how they run: called directly, or as Prefect tasks (``flows.tasks``). A unit takes small, plain
arguments (a batch number, URLs, a prefix) and returns a small result; the fetched pages wait
in the pipeline for the unit that processes them.

Fetched bodies would pile up (fetching is faster): ``FETCH_BATCHES_IN_FLIGHT`` batches fetch
and ``BATCHES_PENDING`` are processed (on a thread, beside the fetching) at once, at most, and
no batch grows past ``max_batch_size`` pages, so a run's memory does not grow with its length.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from flows.batch import BatchResult, Known, LoadTarget, process_batch
from flows.counts import PrefixCounts, RunCounts
from flows.discover import Economy, fetch_cases, first_cases, probe_prefix, refetch_survivors
from flows.fetch import Fetcher
from flows.fetch_types import FetchResult
from flows.guard import DriftGuard
from flows.parsing import ParseSpec
from flows.progress import report, stage
from flows.revisit import Check, RevisitPlan, due_cases, economy, leave_alone, record_checks
from flows.sitemap import Listing, unchanged_per_sitemap
from latinno.config_sections import SourceSettings
from latinno.pages import PageKey, page_key

# Fetch batches in flight at once: the next one while one is processed (memory: see above).
FETCH_BATCHES_IN_FLIGHT = 1
Listed = Collection[PageKey] | None  # the case pages a sitemap lists
Lastmods = Mapping[PageKey, datetime] | None
Take = Callable[[int, PrefixCounts], Awaitable[None]]
# Batches parsed and loaded at once: parsing holds the GIL; a second gained little, held much.
BATCHES_PENDING = 1
# Prefect task runs stay few (issue 23: at most 25 in a weekly run): probing runs as this many
# tasks, each over a share of the prefixes, and batches double in size every BATCHES_PER_SIZE
# batches, up to ``max_batch_size``, so a long run has fewer, larger batches.
PROBE_TASKS = 3
BATCHES_PER_SIZE = 8

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Steps:
    """How the pipeline's units run: ``fetch(batch, urls)`` returns the pages fetched,
    ``probe(prefixes)`` where probing stopped in each, ``process(batch, pages)`` what the
    batch counted."""

    fetch: Callable[[int, list[str]], Awaitable[int]]
    probe: Callable[[list[int]], Awaitable[dict[int, PrefixCounts]]]
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
        revisit: RevisitPlan | None = None,
        max_batch_size: int | None = None,
    ) -> None:
        self.fetcher = fetcher
        # Which pages are due (flows.revisit); None: every page, as far as probing reaches.
        self.revisit = revisit
        self.checks: dict[PageKey, Check] = {}  # this run's answers, for the next runs
        self._economy: Economy | None = None
        self.guard = guard
        self.known = known
        self.spec = spec
        self.target = target
        self.batch_size = batch_size
        self.max_batch_size = max(batch_size, max_batch_size or 8 * batch_size)
        self.full = full
        self.counts = RunCounts()
        self.failed_urls: list[str] = []
        self.deferred_seen: list[PageKey] = []
        self.reasons: Counter[str] = Counter()
        self.robots_note: str | None = None
        self.absent: list[PageKey] = []
        # Called directly unless the flow runs them as Prefect tasks (flows.tasks).
        self.steps = Steps(self.fetch_batch, self.probe_prefixes, self.process_batch)
        self._source = SourceSettings()
        self._sweep = False
        self._by_prefix: dict[int, list[int]] = {}
        # Pages between the unit that got them and the one that takes them, by batch or prefix.
        self._fetched: dict[int, list[FetchResult]] = {}
        self._probed: dict[int, list[FetchResult]] = {}
        self._waiting: dict[int, list[FetchResult]] = {}
        self._batches = 0
        self._held_back: list[FetchResult] = []  # pages of a batch not yet full
        # Prefixes probed, as their probing ends (inside their task), with where it stopped.
        self._ready: asyncio.Queue[tuple[int, PrefixCounts]] = asyncio.Queue()
        self._processing: list[asyncio.Future[BatchResult]] = []
        # One thread (BATCHES_PENDING): a thread's malloc arena keeps what it once held.
        self._threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="latinno-batch")

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
            cid: {lang: known.validators.get(PageKey(cid, lang)) for lang in langs}
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
            economy=self._economy,
        )
        results = await refetch_survivors(self.fetcher, outcome.results, known.sha256)
        self._probed[prefix] = results
        report("fetched", len(results))
        self._ready.put_nowait((prefix, PrefixCounts(outcome.last_probed, outcome.known_beyond)))
        return PrefixCounts(outcome.last_probed, outcome.known_beyond)

    async def probe_prefixes(self, prefixes: list[int]) -> dict[int, PrefixCounts]:
        """Probe some country prefixes concurrently; returns where probing stopped in each."""
        return dict(
            zip(prefixes, await asyncio.gather(*map(self.probe_prefix, prefixes)), strict=True)
        )

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
        self, groups: Sequence[Sequence[str]], lastmods: Lastmods = None, listed: Listed = None
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
        listing = None if listed is None else Listing.of(listed)
        for urls in groups:
            keys = [page_key(url) or PageKey(0, "") for url in urls]
            if self._not_asked(keys, lastmods, listing):
                self.counts.sitemap_unchanged += len(keys)
                report("fetched", len(keys))  # done, without a request
                self.counts.discovered += len(keys)
                for key in keys:
                    self.counts.lang(key.lang).discovered += 1
                self.deferred_seen.extend(keys)
                found.update(key.case_id for key in keys)
                continue
            if len(parts[-1]) >= self._pages_for(len(parts) - 1):
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
                await self.dispatch([], flush=True)
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
        if self.revisit is not None and not sweep and limit is None:
            self._economy = self._plan_economy()

        def probe(prefixes: list[int]) -> Awaitable[dict[int, PrefixCounts]]:
            stage(f"probing prefixes {', '.join(map(str, prefixes))}")
            return self.steps.probe(prefixes)

        async def take(prefix: int, counts: PrefixCounts) -> None:
            self.counts.prefixes[prefix] = counts
            self.counts.known_beyond_probe += counts.known_beyond
            results = self._probed.pop(prefix)
            if limit is not None:
                results = first_cases(results, max(0, limit - len(found)))
            found.update(r.case_id for r in results if r.case_id and _found(r))
            await self.dispatch(results)

        prefixes = list(source.country_prefixes)
        if limit is not None:
            # A trial run: one prefix at a time, no more probing once enough cases turned up.
            for prefix in prefixes:
                if len(found) >= limit:
                    break
                await self._take_ready({asyncio.ensure_future(probe([prefix]))}, take)
        else:
            groups = [prefixes[i::PROBE_TASKS] for i in range(PROBE_TASKS)]
            await self._take_ready({asyncio.ensure_future(probe(g)) for g in groups if g}, take)
        await self.dispatch([], flush=True)
        return found

    async def _take_ready(self, running: set[asyncio.Future[Any]], take: Take) -> None:
        """``take`` each prefix as its probing ends, inside its group's task, until every task
        in ``running`` is done."""
        while running:
            got = asyncio.ensure_future(self._ready.get())
            done, _ = await asyncio.wait({got, *running}, return_when=asyncio.FIRST_COMPLETED)
            for task in done - {got}:
                running.discard(task)
                task.result()  # a unit that failed fails the run
            if got.done():
                await take(*got.result())
            else:
                got.cancel()
        while not self._ready.empty():
            await take(*self._ready.get_nowait())

    def _not_asked(self, keys: list[PageKey], lastmods: Lastmods, listed: Listing | None) -> bool:
        """A case from the sitemap this run leaves alone (``flows.revisit.leave_alone``)."""
        dated = lastmods or {}

        def vouched(key: PageKey) -> bool:
            return bool(dated) and unchanged_per_sitemap(key, dated, self.known.validators)

        if self.revisit is None or self.full:
            return all(vouched(key) for key in keys)
        stale = bool(keys) and keys[0].case_id in self.known.stale
        return not stale and leave_alone(
            self.revisit, keys, vouched, dated, listed, self.known.sha256
        )

    def _plan_economy(self) -> Economy:
        """The known cases due this run (flows.revisit), and the rest of what probing asks."""
        assert self.revisit is not None
        plan = self.revisit
        held: dict[int, set[str]] = {}
        for cid, lang in self.known.sha256:
            held.setdefault(cid, set()).add(lang)
        chosen = due_cases(plan, held, self.known.stale)
        self.counts.deferred += chosen.deferred
        return economy(plan, held, chosen.asked)

    async def dispatch(self, results: Sequence[FetchResult], *, flush: bool = False) -> None:
        """Hand fetched pages on to be processed, waiting while too many batches are pending;
        a batch short of its size waits for the next pages unless ``flush``.

        Batches end on a case's last page: every language of a case is decided on together.
        """
        if self.revisit is not None:
            self.counts.revalidated += record_checks(
                self.revisit, results, self.known.sha256, self.checks
            )
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
        chunks = _chunks([*self._held_back, *results], self._pages_for(self._batches))
        self._held_back = [] if flush or not chunks else chunks.pop()
        if len(self._held_back) >= self._pages_for(self._batches):
            chunks.append(self._held_back)
            self._held_back = []
        for chunk in chunks:
            while sum(not t.done() for t in self._processing) >= BATCHES_PENDING:
                pending = [t for t in self._processing if not t.done()]
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            batch, self._batches = self._batches, self._batches + 1
            self._waiting[batch] = chunk
            self._processing.append(asyncio.ensure_future(self.steps.process(batch, len(chunk))))

    def _pages_for(self, batch: int) -> int:
        """Pages of batch ``batch``: doubled every BATCHES_PER_SIZE, up to max_batch_size."""
        return min(self.batch_size * 2 ** min(batch // BATCHES_PER_SIZE, 30), self.max_batch_size)

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
