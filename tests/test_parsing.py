"""Parsing in bulk: a bad page costs that page, a dead worker costs one retry (issue 13, part 1).

The process-pool tests kill real worker processes with SIGKILL while they parse.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from flows.parsing import (
    ParseEngine,
    ParseFailure,
    ParseInput,
    ParseSpec,
    ProcessPool,
    parse_pages,
)
from latinno.pages import page_key
from latinno.record import CaseRecord

REPO = Path(__file__).resolve().parent.parent
SPEC = ParseSpec.of({}, ["active"])


def fixture_pages() -> list[ParseInput]:
    pages: list[ParseInput] = []
    for path in sorted((REPO / "fixtures" / "html").glob("*/case/*/index.html")):
        lang, _, case_id = path.parts[-4:-1]
        pages.append((path.read_bytes(), f"https://latinno.net/{lang}/case/{case_id}/", None))
    return pages


BAD: list[ParseInput] = [
    (b"<h1>Maintenance</h1>", "https://latinno.net/en/case/19991/", None),
    (b"", "https://latinno.net/en/case/19994/", None),
    (bytes(range(256)) * 16, "https://latinno.net/en/case/19995/", "utf-8"),
    # Not bytes at all: the parser fails with an AttributeError, a bug, not a PageParseError.
    (12345, "https://latinno.net/en/case/19998/", None),  # type: ignore[list-item]
]


def test_every_page_gives_a_record_or_a_failure_naming_it() -> None:
    good = fixture_pages()
    outcomes = parse_pages([*good[:5], *BAD], SPEC)
    assert all(isinstance(o, CaseRecord) for o in outcomes[:5])
    failures = outcomes[5:]
    assert all(isinstance(f, ParseFailure) for f in failures)
    assert [f.url for f in failures] == [url for _, url, _ in BAD]  # type: ignore[union-attr]
    assert "not a case page" in failures[0].reason  # type: ignore[union-attr]
    assert failures[3].reason.startswith("parser error: AttributeError")  # type: ignore[union-attr]


def workers_of(pid: int) -> list[int]:
    """Live pool worker processes (spawned children running spawn_main) of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


class Killer(threading.Thread):
    """Kills the parent's pool workers: once, or every time one appears, until stopped."""

    def __init__(self, times: int | None) -> None:
        super().__init__(daemon=True)
        self.times = times
        self.killed = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and (self.times is None or self.killed < self.times):
            for pid in workers_of(os.getpid()):
                time.sleep(0.2)  # let it start on its chunk
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.killed += 1
                except ProcessLookupError:
                    pass
                break
            time.sleep(0.01)


@pytest.fixture
def pages() -> list[ParseInput]:
    return fixture_pages() * 8  # enough work that a kill lands mid-batch


def test_a_pool_parses_exactly_what_one_process_parses(pages: list[ParseInput]) -> None:
    with ParseEngine(SPEC, lambda: ProcessPool(2), workers=2) as engine:
        pooled = engine.parse([*pages, *BAD])
    assert pooled == parse_pages([*pages, *BAD], SPEC)


def test_a_killed_worker_is_replaced_and_its_pages_parsed_again(pages: list[ParseInput]) -> None:
    killer = Killer(times=1)
    with ParseEngine(SPEC, lambda: ProcessPool(2), workers=2) as engine:
        killer.start()
        outcomes = engine.parse(pages)
        killer.done.set()
        assert killer.killed == 1 and engine.restarts == 1
        assert outcomes == parse_pages(pages, SPEC)
        assert engine.parse(pages[:40]) == parse_pages(pages[:40], SPEC)  # the new pool works


def test_workers_that_keep_dying_cost_their_pages_not_the_run(pages: list[ParseInput]) -> None:
    killer = Killer(times=None)
    with ParseEngine(SPEC, lambda: ProcessPool(2), workers=2) as engine:
        killer.start()
        outcomes = engine.parse(pages)
        killer.done.set()
    assert killer.killed >= 2
    assert len(outcomes) == len(pages)
    assert all(isinstance(o, ParseFailure) for o in outcomes)
    assert {o.url for o in outcomes} == {url for _, url, _ in pages}  # type: ignore[union-attr]
    assert all("parse worker failed twice" in o.reason for o in outcomes)  # type: ignore[union-attr]


def test_failures_name_their_page() -> None:
    (failure,) = parse_pages(BAD[:1], SPEC)
    assert isinstance(failure, ParseFailure)
    assert page_key(failure.url) == (19991, "en")


class CountingPool(ProcessPool):
    """A real process pool that records what reached it, and when it was started."""

    started: ClassVar[list[float]] = []
    submitted: ClassVar[list[int]] = []

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        CountingPool.started.append(time.monotonic())

    def submit(self, items: list[ParseInput], spec: ParseSpec):  # type: ignore[no-untyped-def]
        CountingPool.submitted.append(len(items))
        return super().submit(items, spec)


@pytest.fixture
def counting() -> type[CountingPool]:
    CountingPool.started, CountingPool.submitted = [], []
    return CountingPool


def test_a_small_run_parses_in_its_own_process_until_it_is_big_enough(
    pages: list[ParseInput], counting: type[CountingPool]
) -> None:
    threshold = 100
    inline: list[int] = []

    def parse_here(items, spec):  # type: ignore[no-untyped-def]
        inline.append(len(items))
        return parse_pages(items, spec)

    batch = pages[:60]
    engine = ParseEngine(
        SPEC, lambda: counting(2), workers=2, pool_min_pages=threshold, inline=parse_here
    )
    with engine:
        first = engine.parse(batch)  # 60 pages so far: below the threshold, parsed here
        assert counting.started == [] and inline == [60]
        second = engine.parse(batch)  # 120 so far: the workers start and take this batch
        third = engine.parse(batch[:10])  # too few to hand over, even with workers running
    assert inline == [60, 10]
    assert len(counting.started) == 1 and sum(counting.submitted) == 60
    assert first == second == parse_pages(batch, SPEC) and third == first[:10]


def test_an_announced_big_run_starts_its_workers_before_the_first_batch(
    pages: list[ParseInput], counting: type[CountingPool]
) -> None:
    engine = ParseEngine(SPEC, lambda: counting(2), workers=2, pool_min_pages=100)
    with engine:
        engine.expect(99)  # not enough: nothing starts
        time.sleep(0.2)
        assert counting.started == []
        announced = time.monotonic()
        engine.expect(len(pages))
        deadline = time.monotonic() + 30
        while len(workers_of(os.getpid())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert counting.started and counting.started[0] >= announced  # started, in background
        assert counting.submitted == [0, 0]  # an empty chunk each, to start both processes
        engine.expect(len(pages))  # a second announcement starts nothing more
        outcomes = engine.parse(pages[:40])  # below the threshold, but the workers are up
    assert len(counting.started) == 1 and counting.submitted == [0, 0, 20, 20]
    assert outcomes == parse_pages(pages[:40], SPEC)


def test_workers_closed_in_the_background_are_gone_once_waited_for(
    pages: list[ParseInput],
) -> None:
    engine = ParseEngine(SPEC, lambda: ProcessPool(2), workers=2)
    engine.parse(pages[:40])
    assert len(workers_of(os.getpid())) == 2
    wait = engine.close_in_background()
    wait()
    assert workers_of(os.getpid()) == []
