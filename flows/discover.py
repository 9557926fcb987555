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
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
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


# Languages to ask for one id: at once, then after those if any was a page, else.
Asks = tuple[list[str], list[str], list[str]]


@dataclass(frozen=True)
class Economy:
    """Which pages of a prefix a run asks (flows.revisit): ``held`` languages by known case,
    the known cases to revalidate, ``due(id, lang)`` for the rest, and how many serials past
    the highest known one are asked whenever ``ahead_due(id, lang)`` (None: every run)."""

    held: Mapping[int, Collection[str]]
    revalidate: Collection[int]
    due: Callable[[int, str], bool]
    ahead: int = 3
    ahead_due: Callable[[int, str], bool] | None = None
    # A language a case we revalidate lacks, asked with it when its check would come due
    # before the case's next revalidation (None: only when due).
    soon: Callable[[int, str], bool] | None = None


def _asks(
    cid: int,
    langs: Sequence[str],
    other_languages: bool,
    known: bool,
    economy: Economy | None,
    past_highest: int,
) -> Asks:
    """What to ask of one id. With ``economy``: a case we hold, every page we hold when the
    case is due or a translation check of it is, with those (and with a case due, the
    translation checks ``economy.soon`` names, so they ride along instead of asking the case
    again within weeks); another id, each language
    whose check is due, and the first language when the id is at most ``economy.ahead``
    serials past the highest known one (``past_highest``) and ``economy.ahead_due`` says so
    too; every language once the first is found."""
    rest = list(langs[1:])
    if economy is None:  # everything, as far as probing reaches
        return [langs[0]], rest, rest if other_languages or known else []
    held = economy.held.get(cid)
    more = [lang for lang in langs if other_languages and economy.due(cid, lang)]
    if held:
        if cid in economy.revalidate and other_languages and economy.soon is not None:
            more += [lang for lang in langs if lang not in more and economy.soon(cid, lang)]
        if cid in economy.revalidate or any(lang not in held for lang in more):
            return [lang for lang in langs if lang in held or lang in more], [], []
        return [], [], []
    others = [lang for lang in more if lang != langs[0]]
    ahead = 0 < past_highest <= economy.ahead
    if ahead and economy.ahead_due is not None:
        ahead = economy.ahead_due(cid, langs[0])
    if economy.due(cid, langs[0]) or ahead:
        return [langs[0]], rest, others
    return others, [], []


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
    economy: Economy | None = None,
) -> ProbeOutcome:
    """Probe serials 1.. of ``prefix`` concurrently, in every language of ``langs``.

    Each serial is asked in ``langs[0]``; when that is a page, or ``other_languages`` is on, or
    the id is known, in every other language too. A serial is a hit when any language has a
    page. Probing stops once ``max_misses`` serials past the last hit were misses, but never
    below the highest serial of ``known`` (a gap wider than ``max_misses`` must not hide
    them), and with ``sweep`` only at ``max_serial``. Known ids are asked with their
    validators (``known[id][lang]``); those past ``max_serial`` are rechecked afterwards.
    With ``economy``, only what it says is due (see ``_asks``). Returns every answer, 404s
    included, grouped by case id in ``langs`` order.
    """
    if max_misses < 1 or max_serial < 1:
        raise ValueError(f"max_misses and max_serial must be >= 1 (got {max_misses}, {max_serial})")
    if not langs:
        raise ValueError("langs must name at least one language")
    first_id = prefix * 1000
    mine = {cid: v for cid, v in known.items() if first_id < cid < first_id + 1000}
    floor = max((cid - first_id for cid in mine if cid - first_id <= max_serial), default=0)
    window = max(4, 2 * fetcher.policy.politeness.concurrency)
    results: dict[int, list[FetchResult]] = {}
    # A case we hold is a hit whether asked or not.
    held = [cid - first_id for cid in mine if economy is not None and economy.held.get(cid)]
    last_hit = max((serial for serial in held if serial <= max_serial), default=0)
    next_serial = 1
    running: dict[asyncio.Task[list[FetchResult]], int] = {}

    def stop() -> int:
        if sweep:
            return max_serial
        return min(max_serial, max(last_hit + max_misses, floor))

    def asks(cid: int) -> Asks:
        return _asks(cid, langs, other_languages, cid in mine, economy, cid - first_id - floor)

    def one(cid: int, plan: Asks) -> Awaitable[list[FetchResult]]:
        return _probe_id(fetcher, base_url, cid, langs, mine.get(cid, {}), plan)

    try:
        while True:
            while len(running) < window and next_serial <= stop():
                plan = asks(first_id + next_serial)
                if plan[0]:
                    running[asyncio.ensure_future(one(first_id + next_serial, plan))] = next_serial
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
    rest = {c: plan for c in sorted(mine) if c - first_id > last_probed and (plan := asks(c))[0]}
    answered = await asyncio.gather(*(one(cid, plan) for cid, plan in rest.items()))
    results.update(zip(rest, answered, strict=True))
    ordered = [r for cid in sorted(results) for r in results[cid]]
    return ProbeOutcome(results=ordered, last_probed=last_probed, known_beyond=len(rest))


async def _probe_id(
    fetcher: Fetcher,
    base_url: str,
    case_id: int,
    langs: Sequence[str],
    validators: Mapping[str, Validators | None],
    plan: Asks,
) -> list[FetchResult]:
    """One id: ``plan[0]``'s languages, then ``plan[1]``'s if any was a page, else
    ``plan[2]``'s; answers in ``langs`` order."""
    now, if_hit, if_miss = plan

    def get(lang: str) -> Awaitable[FetchResult]:
        return _get(fetcher, case_url(base_url, PageKey(case_id, lang)), validators.get(lang))

    first = list(await asyncio.gather(*(get(lang) for lang in now)))
    then = [lang for lang in (if_hit if any(map(_hit, first)) else if_miss) if lang not in now]
    answers = first + list(await asyncio.gather(*(get(lang) for lang in then)))
    order = {lang: i for i, lang in enumerate(langs)}
    return sorted(answers, key=lambda r: order.get(r.lang or "", len(order)))


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

    workers = min(len(items), max(4, 2 * fetcher.policy.politeness.concurrency))
    await asyncio.gather(*(worker() for _ in range(workers)))
    return [r for r in results if r is not None]


def by_case(results: Sequence[FetchResult]) -> dict[int, list[FetchResult]]:
    """Case pages by case id, in the order given; results that name no case page are left out."""
    cases: dict[int, list[FetchResult]] = {}
    for result in results:
        if result.case_id:
            cases.setdefault(result.case_id, []).append(result)
    return cases


def first_cases(results: list[FetchResult], limit: int) -> list[FetchResult]:
    """Whole cases only: the first ``limit`` found, and every answer that found none."""
    cases = by_case(results)
    hits = [cid for cid, answers in cases.items() if any(r.ok or r.not_modified for r in answers)]
    keep = set(hits[:limit])
    return [
        r
        for r in results
        if r.case_id in keep
        or not any(a.ok or a.not_modified for a in cases.get(r.case_id or 0, []))
    ]


async def refetch_survivors(
    fetcher: Fetcher, results: list[FetchResult], held: Collection[PageKey]
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
