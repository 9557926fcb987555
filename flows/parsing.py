"""Parsing pages in bulk, safely: one bad page costs that page, one dead worker costs a retry.

No Prefect here (``latinno reparse`` uses this without orchestration). ``parse_pages`` is what
every worker runs, wherever it runs: in this process, in a process pool, or on a Dask worker
(``flows.runners`` puts it behind Prefect's task runners). It never raises for a page: whatever
parsing one page raises, even a bug, becomes a ``ParseFailure`` naming the page and the reason.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from latinno.errors import LatinnoError, PageParseError
from latinno.marker import DEFAULT_MARKER, Marker
from latinno.record import CaseRecord
from latinno.vocabulary import Labels, build_labels
from parsers import parse_case

log = logging.getLogger(__name__)

ParseInput = tuple[bytes, str, str | None]  # body, URL, HTTP charset


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A page that gave no record, and why (the reason is stored with the page's failure)."""

    url: str
    reason: str


ParseOutcome = CaseRecord | ParseFailure


@dataclass(frozen=True, slots=True)
class ParseSpec:
    """What parsing needs besides the page: plain values, so it travels to any worker."""

    extra_labels: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()
    marker: Marker = DEFAULT_MARKER

    @classmethod
    def of(
        cls,
        extra_labels: Mapping[str, Mapping[str, Sequence[str]]],
        marker: Marker | Sequence[str],
    ) -> ParseSpec:
        """``marker``: the rule (``settings.parser.rule()``), or the old list of classes."""
        if not isinstance(marker, Marker):
            marker = Marker.of_classes(tuple(marker))
        frozen = tuple(
            (group, tuple((target, tuple(labels)) for target, labels in sorted(targets.items())))
            for group, targets in sorted(extra_labels.items())
        )
        return cls(frozen, marker)

    def labels(self) -> Labels:
        return _labels_for(self.extra_labels)


_LABELS: dict[object, Labels] = {}


def _labels_for(extra: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]) -> Labels:
    # Built once per process and spec: a worker parses many chunks with the same labels.
    labels = _LABELS.get(extra)
    if labels is None:
        labels = _LABELS[extra] = build_labels(
            {group: {target: list(v) for target, v in targets} for group, targets in extra}
        )
    return labels


def parse_pages(items: Sequence[ParseInput], spec: ParseSpec) -> list[ParseOutcome]:
    """Parse every page; a page that fails, whatever it raises, becomes a ``ParseFailure``."""
    labels = spec.labels()
    out: list[ParseOutcome] = []
    for body, url, charset in items:
        try:
            out.append(parse_case(body, url, charset=charset, labels=labels, marker=spec.marker))
        except PageParseError as exc:
            out.append(ParseFailure(url, exc.reason))
        except Exception as exc:  # a parser bug must cost one page, never the run
            out.append(ParseFailure(url, f"parser error: {type(exc).__name__}: {exc}"))
    return out


def settle_heap() -> None:
    """Keep what this process has imported out of the garbage collector's full passes.

    Parsing makes many short-lived objects (bs4 trees), enough to set off full collections,
    and each full collection walks every object the imports made (about 140,000 with Prefect,
    pydantic, DuckDB and Arrow). Frozen, they are skipped: 300 pages parse about 19% faster
    (``bench/results/peer.md``). Call it once the process has imported what it needs; what
    it holds then stays (imports are never freed anyway).
    """
    gc.freeze()


# --- running parse_pages somewhere ----------------------------------------------------------

Waiter = Callable[[], list[ParseOutcome]]


class Backend(Protocol):
    """Where chunks of pages are parsed. ``submit`` returns a callable that waits for the
    chunk's outcomes and raises only when the worker itself failed (died, vanished)."""

    def submit(self, items: list[ParseInput], spec: ParseSpec) -> Waiter: ...

    def close(self) -> None: ...


class ProcessPool:
    """A standard process pool, for commands that do not orchestrate (``latinno reparse``)."""

    def __init__(self, workers: int) -> None:
        import multiprocessing

        # spawn, not fork: the calling process may run threads and an event loop.
        self._pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=settle_heap
        )

    def submit(self, items: list[ParseInput], spec: ParseSpec) -> Waiter:
        return self._pool.submit(parse_pages, items, spec).result

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# Below this many pages a batch parses in this process: handing work over costs more.
MIN_PAGES_TO_HAND_OVER = 32

Inline = Callable[[Sequence[ParseInput], ParseSpec], list[ParseOutcome]]


class ParseEngine:
    """Parses batches on a backend, split across its workers, once a run is big enough.

    Starting workers costs seconds (``bench/results/peer.md``), so a run parses in this process
    until it has ``pool_min_pages`` pages to parse: announced up front (``expect``) or counted
    as batches come. A backend failure (a worker process that died, a Dask worker lost)
    restarts the backend and parses the batch once more; if that fails too, every page of the
    batch is recorded as a failure with the reason, and the run goes on.
    """

    def __init__(
        self,
        spec: ParseSpec,
        start: Callable[[], Backend] | None,
        *,
        workers: int = 1,
        min_pages: int = MIN_PAGES_TO_HAND_OVER,
        pool_min_pages: int = 0,
        inline: Inline | None = None,
    ) -> None:
        self.spec = spec
        self._start = start
        self._workers = max(1, workers)
        self._min_pages = min_pages
        self._pool_min_pages = pool_min_pages
        self._inline: Inline = inline or parse_pages
        self._seen = 0
        self._backend: Backend | None = None
        self._starting: threading.Thread | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self.restarts = 0

    def parse(self, items: Sequence[ParseInput]) -> list[ParseOutcome]:
        """Outcomes in the order of ``items``; blocks (call it from a worker thread)."""
        if not self._hand_over(len(items)):
            return self._inline(items, self.spec)
        size = -(-len(items) // self._workers)
        chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
        generation = self._generation
        try:
            return self._run(chunks)
        except LatinnoError:
            raise  # a setting is wrong (e.g. no Dask scheduler there): not the pages' fault
        except Exception as exc:
            log.warning("parse workers failed (%s: %s); retrying once", type(exc).__name__, exc)
            self._restart(generation)
        try:
            return self._run(chunks)
        except LatinnoError:
            raise
        except Exception as exc:
            reason = f"parse worker failed twice: {type(exc).__name__}: {exc}"
            return [ParseFailure(url, reason) for _, url, _ in items]

    def _hand_over(self, pages: int) -> bool:
        if self._start is None or pages < self._min_pages:
            return False
        with self._lock:
            self._seen += pages
            # Workers started, or starting for a run announced big: the batch waits for them.
            started = self._backend is not None or self._starting is not None
            return started or self._seen >= self._pool_min_pages

    def expect(self, pages: int) -> None:
        """The run will parse at least ``pages`` pages: if that makes it big enough, start the
        workers now, in the background, so their start overlaps fetching."""
        if self._start is None or pages < max(self._pool_min_pages, self._min_pages):
            return
        with self._lock:
            if self._backend is not None or self._starting is not None:
                return
            self._starting = threading.Thread(
                target=self._start_quietly, name="latinno-parse-start", daemon=True
            )
            self._starting.start()

    def _start_quietly(self) -> None:
        try:
            backend = self._ensure()
            # Pools start a process on demand, and a process imports the parser and Prefect
            # on its first chunk: an empty chunk per worker has them ready for the first batch.
            for wait in [backend.submit([], self.spec) for _ in range(self._workers)]:
                wait()
        except Exception as exc:  # the first batch that needs the workers starts them again
            log.warning("starting parse workers failed (%s: %s)", type(exc).__name__, exc)

    def start(self) -> None:
        """Start the backend now, so a wrong setting fails before any page is fetched."""
        if self._start is not None:
            self._ensure()

    def _run(self, chunks: list[list[ParseInput]]) -> list[ParseOutcome]:
        backend = self._ensure()
        waiters = [backend.submit(chunk, self.spec) for chunk in chunks]
        out: list[ParseOutcome] = []
        for wait in waiters:
            out.extend(wait())
        return out

    def _ensure(self) -> Backend:
        # Held while starting: a batch that needs workers while they start waits for them.
        with self._lock:
            if self._backend is None:
                assert self._start is not None
                self._backend = self._start()
            return self._backend

    def _restart(self, generation: int) -> None:
        # Two threads may see the same dead backend; only the first replaces it.
        with self._lock:
            if generation != self._generation or self._backend is None:
                return
            self._generation += 1
            self.restarts += 1
            backend, self._backend = self._backend, None
        try:
            backend.close()
        except Exception as exc:  # a broken pool may fail to shut down cleanly
            log.debug("closing a failed parse backend: %s", exc)

    def close(self) -> None:
        starting = self._starting
        if starting is not None:
            starting.join()  # a pool still starting is stopped once it has started
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def close_in_background(self) -> Callable[[], None]:
        """Stop the workers on a thread (it takes a second), while the run writes its summary;
        returns what waits for that. Call it once no batch is left to parse."""
        closing = threading.Thread(target=self.close, name="latinno-parse-close", daemon=True)
        closing.start()
        return closing.join

    def __enter__(self) -> ParseEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
