"""Finding case pages by probing ids per country prefix, and fetching cases page by page.

Case ids are ``prefix * 1000 + serial`` (docs/site.md); the same id under another language is the
same case, and a case may exist in one language only. Probing asks for serials 1, 2, … of a
prefix in the first configured language; a serial that is no page there is asked in the other
configured languages before it counts as a miss (``other_languages``). Probing stops after
``max_misses`` misses past the last hit, never below the highest serial already known for the
prefix (``sweep``: never before ``max_serial``); every known id is rechecked, with its
validators, wherever it lies. Sitemaps are read in ``flows.sitemap``.

Every case's pages travel together (one group per case, in configured language order), so
whoever processes them sees all the languages of a case at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from flows.fetch import Fetcher
from flows.fetch_types import FetchResult, Validators
from latinno.pages import PageKey, case_url


@dataclass
class ProbeOutcome:
    """What probing one prefix gave: every answer, and how far it went."""

    results: list[FetchResult]  # grouped by case id, languages in configured order
    last_probed: int  # the highest serial probed in sequence (0: none)
    known_beyond: int  # known ids past ``last_probed``, rechecked one by one all the same


def _hit(result: FetchResult) -> bool:
    """A page is there (200, 304): failures after retries count as misses, so a dead server
    does not make us probe 999 ids."""
    return result.error is None and not result.gone


async def probe_prefix(
    fetcher: Fetcher,
    base_url: str,
    prefix: int,
    *,
    langs: Sequence[str],
    max_misses: int,
    max_serial: int,
    known: Mapping[int, Mapping[str, Validators | None]],
    other_languages: bool = True,
    sweep: bool = False,
) -> ProbeOutcome:
    """Probe serials 1.. of ``prefix`` concurrently, in every language of ``langs``.

    Each serial is asked in ``langs[0]``; when that is a page, or ``other_languages`` is on, or
    the id is known, in every other language too. A serial is a hit when any language has a
    page. Probing stops once ``max_misses`` serials past the last hit were misses, but never
    below the highest serial of ``known`` (ids known from earlier runs or a sitemap: a gap wider
    than ``max_misses`` must not hide them), and with ``sweep`` only at ``max_serial``. Known ids
    are asked with their validators (``known[id][lang]``), so unchanged pages answer 304; those
    past ``max_serial`` are rechecked afterwards. Returns every answer, 404s included, grouped
    by case id in ``langs`` order.
    """
    if max_misses < 1 or max_serial < 1:
        raise ValueError(f"max_misses and max_serial must be >= 1 (got {max_misses}, {max_serial})")
    if not langs:
        raise ValueError("langs must name at least one language")
    first_id = prefix * 1000
    mine = {cid: v for cid, v in known.items() if first_id < cid < first_id + 1000}
    floor = max((cid - first_id for cid in mine if cid - first_id <= max_serial), default=0)
    window = max(4, 2 * fetcher.policy.concurrency)
    results: dict[int, list[FetchResult]] = {}
    last_hit = 0
    next_serial = 1
    running: dict[asyncio.Task[list[FetchResult]], int] = {}

    def stop() -> int:
        if sweep:
            return max_serial
        return min(max_serial, max(last_hit + max_misses, floor))

    def one(cid: int) -> Awaitable[list[FetchResult]]:
        ask_all = other_languages or cid in mine
        return _probe_id(fetcher, base_url, cid, langs, mine.get(cid, {}), ask_all=ask_all)

    try:
        while True:
            while len(running) < window and next_serial <= stop():
                running[asyncio.ensure_future(one(first_id + next_serial))] = next_serial
                next_serial += 1
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                serial = running.pop(task)
                answers = task.result()
                if any(_hit(r) for r in answers):
                    last_hit = max(last_hit, serial)
                results[first_id + serial] = answers
    finally:
        for task in running:
            task.cancel()
    last_probed = next_serial - 1
    # Known ids past max_serial: rechecked all the same, in every language.
    rest = sorted(cid for cid in mine if cid not in results)
    for cid, answers in zip(rest, await asyncio.gather(*(one(cid) for cid in rest)), strict=True):
        results[cid] = answers
    return ProbeOutcome(
        results=[r for cid in sorted(results) for r in results[cid]],
        last_probed=last_probed,
        known_beyond=len(rest),
    )


async def _probe_id(
    fetcher: Fetcher,
    base_url: str,
    case_id: int,
    langs: Sequence[str],
    validators: Mapping[str, Validators | None],
    *,
    ask_all: bool,
) -> list[FetchResult]:
    """One id in ``langs[0]``, then in the other languages when that is a page or ``ask_all``."""
    first = await _get(
        fetcher, case_url(base_url, PageKey(case_id, langs[0])), validators.get(langs[0])
    )
    if len(langs) == 1 or not (ask_all or _hit(first)):
        return [first]
    rest = await asyncio.gather(
        *(
            _get(fetcher, case_url(base_url, PageKey(case_id, lang)), validators.get(lang))
            for lang in langs[1:]
        )
    )
    return [first, *rest]


async def _get(fetcher: Fetcher, url: str, validators: Validators | None) -> FetchResult:
    if validators is None:
        return await fetcher.get(url)
    return await fetcher.get(url, etag=validators.etag, last_modified=validators.last_modified)


async def fetch_cases(
    fetcher: Fetcher,
    urls_with_validators: Mapping[str, Validators | None] | Iterable[tuple[str, Validators | None]],
) -> list[FetchResult]:
    """Fetch the given URLs (conditionally where validators are given); results in input order.

    A bounded pool of workers keeps only a few requests queued beyond the fetcher's limits.
    """
    if isinstance(urls_with_validators, Mapping):
        items = list(urls_with_validators.items())
    else:
        items = list(urls_with_validators)
    results: list[FetchResult | None] = [None] * len(items)
    positions = iter(range(len(items)))

    async def worker() -> None:
        for position in positions:
            url, validators = items[position]
            results[position] = await _get(fetcher, url, validators)

    workers = min(len(items), max(4, 2 * fetcher.policy.concurrency))
    await asyncio.gather(*(worker() for _ in range(workers)))
    return [r for r in results if r is not None]


def by_case(results: Sequence[FetchResult]) -> dict[int, list[FetchResult]]:
    """Case pages by case id, in the order given; results that name no case page are left out."""
    cases: dict[int, list[FetchResult]] = {}
    for result in results:
        if result.case_id:
            cases.setdefault(result.case_id, []).append(result)
    return cases


async def refetch_survivors(
    fetcher: Fetcher, results: list[FetchResult], held: Collection[tuple[int, str]]
) -> list[FetchResult]:
    """Where a page we held answered 404/410 and another language of the case answered 304,
    ask for the 304 pages again without validators: the case's row may have been built from
    the page that went, and must be rebuilt from a language still there, which needs its body.
    Returns ``results`` with those answers replaced (it happens once per page that goes)."""
    going = {r.case_id for r in results if r.gone and r.case_id and (r.case_id, r.lang) in held}
    again = [i for i, r in enumerate(results) if r.not_modified and r.case_id in going]
    if not again:
        return results
    fresh = await fetch_cases(fetcher, [(results[i].url, None) for i in again])
    out = list(results)
    for index, result in zip(again, fresh, strict=True):
        out[index] = result
    return out
