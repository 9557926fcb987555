"""When to ask a page again: the revisit policy, in days, not runs (issue 23). No Prefect, no
warehouse: plain values in, decisions out.

Every page we asked for has a check: when it was last asked, whether it was there, and the
interval after which it is asked again. A page that is there adapts its interval (Nutch's
adaptive schedule): × 1.4 when it answered unchanged, × 0.8 when it changed, within
``[min_days, max_days]``. A page that was not there (a probed id that is no case, a withdrawn
case, a language a case lacks) is asked again after ``max_days`` (an id) or
``translation_days`` (a missing language of a case that exists).

A run asks a page when waiting for the next run would leave it unasked past its time, or past
its bound (``max_days``, or ``translation_days`` for a missing translation); the next run is
expected as far ahead as the previous one was behind (the *horizon*), so a daily schedule asks
a seventh of what a weekly one does, for the same staleness. A page's first interval is a
phase fixed by its case id and asked at or after it, so revisits come in a steady share every
run, weekly or daily; and each run keeps to that share (``due_cases``), so drift does not pile
up in one run every fourth week.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from latinno import clock
from latinno.pages import PageKey
from latinno.revisit_config import RevisitSettings
from latinno.vocabulary import LANGS

if TYPE_CHECKING:  # the policy itself needs neither
    from flows.batch import Known
    from flows.discover import Economy
    from flows.fetch_types import FetchResult
    from flows.pipeline import Pipeline
    from flows.sitemap import Listing
    from latinno.config import Settings

# Nutch's adaptive fetch schedule: an unchanged page waits longer, a changed one less.
GROW = 1.4
SHRINK = 0.8
# Without an earlier run to go by, runs are expected weekly (README: the scheduled run).
DEFAULT_HORIZON_DAYS = 7.0
# Weyl's sequence k × this mod 1 is the most even spread of consecutive integers over [0, 1).
GOLDEN = (5**0.5 - 1) / 2
# Which of its case's revalidations a missing translation's check rides with: Weyl's
# sequence again, by an irrational independent of the golden ratio (``first_interval``).
ROOT2 = 2**0.5 - 1
# Where calendar phases count from (``ahead_due``).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Key = PageKey


@dataclass(frozen=True, slots=True)
class Check:
    """The last time a page was asked for, whether it was there, and when to ask again."""

    checked_at: datetime  # aware UTC
    interval_days: float
    present: bool
    spread: bool = False  # the first interval, spread by key (``first_interval``)

    def next_at(self) -> datetime:
        return self.checked_at + timedelta(days=self.interval_days)


def spread(key: Key, step: float = GOLDEN) -> float:
    """A fraction in [0, 1) fixed by the page's case id: its phase within an interval.
    Not by language: a case's pages are asked together (``due_cases``), so per-language
    fractions asked a case at the earliest of its three, most cases in the first weeks and
    then on that four-week beat (bench_revisit, every case in en,es,pt). The id times the
    golden ratio, not a hash: consecutive ids (a prefix's serials, the ids probed past its
    last case) fall evenly over [0, 1) (Weyl's sequence), where a hash spreads them only on
    average, ± 9 % a week for 400 cases (bench_revisit: 119 vs 98 pages, 281 vs 257 probes)."""
    return (key[0] * step) % 1.0


def horizon_days(now: datetime, previous_start: datetime | None, max_days: float) -> float:
    """Days until the next run is expected: as long as since the previous one (at most
    ``max_days``), or a week when there was none."""
    if previous_start is None:
        return DEFAULT_HORIZON_DAYS
    gap = (now - previous_start).total_seconds() / 86400
    return min(max(gap, 0.0), max_days)


@dataclass(frozen=True)
class RevisitPlan:
    """What a run asks: every page whose next check would fall before the next run."""

    checks: Mapping[Key, Check]
    now: datetime
    horizon_days: float = DEFAULT_HORIZON_DAYS
    intervals: RevisitSettings = field(default_factory=RevisitSettings)  # config: ``revisit``
    full: bool = False  # --full, --sweep, a trial run: everything is asked
    # Languages whose check of a known case that lacks them asks the whole case (probing
    # with ``probe_other_languages``): due_cases counts those cases in the run's share.
    translations: tuple[str, ...] = ()

    def due(self, key: Key) -> bool:
        """Asked this run: never asked, or the next run would be later than its interval."""
        if self.full:
            return True
        check = self.checks.get(key)
        if check is None:
            return True
        next_run = self.now + timedelta(days=self.horizon_days)
        # Never so that it waits past its bound, whatever its first (spread) interval says.
        bound = check.checked_at + timedelta(days=self.bound(check))
        if check.spread:
            # A first interval is a phase, not a deadline: asked by the first run at or after
            # it, so runs every h days each take the phases of the h days before them, an even
            # share whatever h is (``first_interval``).
            return check.next_at() <= self.now or bound < next_run
        return check.next_at() < next_run or bound < next_run

    def bound(self, check: Check) -> float:
        """The longest a page goes unasked: ``max_days``; a missing translation (its interval
        longer than any an id gets, its first one spread over this bound)
        ``translation_days``."""
        knobs = self.intervals
        if check.present or check.interval_days <= knobs.max_days:
            return knobs.max_days
        return knobs.translation_days

    def can_wait(self, key: Key) -> bool:
        """Due, but the next run still asks it within its bound, were that run even a week
        away (the horizon is a guess: a rerun minutes after a run expects the next one as
        soon): a run above its share may leave it for that one."""
        check = self.checks.get(key)
        if self.full or check is None:
            return False
        wait = timedelta(days=max(self.horizon_days, DEFAULT_HORIZON_DAYS))
        return self.now + wait <= check.checked_at + timedelta(days=self.bound(check))

    def share(self, pages: int) -> float:
        """The pages of ``pages`` a run asks on average: one ``max_days`` cycle spread over
        the runs in it (a quarter with weekly runs, a 28th with daily ones)."""
        return pages * min(self.horizon_days, self.intervals.max_days) / self.intervals.max_days

    def safety_due(self, key: Key) -> bool:
        """A page the sitemap's lastmod vouches for, asked all the same once every
        ``sitemap_days`` at most (a lastmod that never moves must not hide an edit forever):
        its period is spread by key over the last half of that, so it comes in a steady
        share."""
        check = self.checks.get(key)
        if self.full or check is None:
            return True
        period = self.intervals.sitemap_days * (0.5 + 0.5 * spread(key))
        next_run = self.now + timedelta(days=self.horizon_days)
        return check.checked_at + timedelta(days=period) < next_run

    def due_soon(self, key: Key) -> bool:
        """Due, or due within ``max_days``: a missing language of a case asked now would
        otherwise have the case asked again for it before its next revalidation."""
        check = self.checks.get(key)
        if check is None or self.due(key):
            return True
        return check.next_at() < self.now + timedelta(days=self.intervals.max_days)

    def ahead_due(self, key: Key) -> bool:
        """A serial just past the highest known one of its prefix (``probe_ahead``): asked at
        least every ``min_days``, so a case added there is found within that; once in each
        ``min_days`` of the calendar, at a phase fixed by its key, so daily runs ask a
        seventh of these serials each, not all of them every run."""
        check = self.checks.get(key)
        if self.full or check is None:
            return True
        period = self.intervals.min_days
        since_slot = ((self.now - EPOCH) / timedelta(days=1) - spread(key) * period) % period
        next_run = self.now + timedelta(days=self.horizon_days)
        late = check.checked_at + timedelta(days=period) < next_run
        return late or check.checked_at <= self.now - timedelta(days=since_slot)

    def overdue(self, key: Key) -> float:
        """How long past its time a page is, in days (never asked: the most)."""
        check = self.checks.get(key)
        if check is None:
            return float("inf")
        return (self.now - check.next_at()).total_seconds() / 86400

    def next_check(self, key: Key, *, present: bool, changed: bool, case_exists: bool) -> Check:
        """The check a page gets from this run's answer (``present``: 200 or 304)."""
        knobs = self.intervals
        old = self.checks.get(key)
        # A missing language of a case that is there is a translation to come, rarely.
        translation = not present and case_exists
        bound = knobs.translation_days if translation else knobs.max_days
        if old is None or old.present != present:
            first = self.first_interval(key, bound, translation)
            return Check(self.now, first, present, spread=True)
        if not present:
            return Check(self.now, bound, False)
        # Nutch's schedule from the longest interval: after the spread first one, an unchanged
        # page goes straight to it (keeping the phase the spread gave it).
        if old.spread and not changed:
            return Check(self.now, knobs.max_days, True)
        days = old.interval_days * (SHRINK if changed else GROW)
        return Check(self.now, min(max(days, knobs.min_days), knobs.max_days), True)

    def first_interval(self, key: Key, bound: float, translation: bool = False) -> float:
        """A page's first interval, its phase: spread by its key over (0, bound]. ``due`` asks
        it by the first run at or after that, so each run of the first ``bound`` days gets an
        even share, with runs every week or every day alike. Spread over (horizon, horizon +
        bound] it was even only when the next runs came as far apart as the first run
        expected (a week): with daily runs the phases past ``max_days`` came due at their
        bound, a quarter of the pages every 28th day, none in the first week.

        A missing translation's checks ride with its case's revalidations (``due_soon``), one
        in three (``translation_days`` 91 = 3 × 28 + 7): its phase is a week past its case's
        on one of the first three, which one by an independent spread, so each run's cases
        carry a steady third of theirs. Spread over (0, 91] on their own they bunched on the
        first cycle's revalidations (bench_revisit, few translations: 92 checks one week, 30
        another)."""
        knobs = self.intervals
        phase = max(spread(key), 1 / 1024)
        week = DEFAULT_HORIZON_DAYS  # past the run that asks the case, not on it
        cycles = int((knobs.translation_days - week) // knobs.max_days) if translation else 0
        if cycles < 1:
            return phase * bound
        return (phase + int(spread(key, ROOT2) * cycles)) * knobs.max_days + week


@dataclass
class CaseSelection:
    """The known cases a run revalidates, and those due that it leaves for later."""

    asked: set[int] = field(default_factory=set)
    deferred: int = 0  # pages due but left for a later run (``max_pages_per_run``)


def due_cases(
    plan: RevisitPlan, held: Mapping[int, Collection[str]], stale: Collection[int] = ()
) -> CaseSelection:
    """Known cases with a page due (every page we hold of such a case is asked together, so a
    withdrawn case is decided on all its languages); stale cases always. With
    ``max_pages_per_run``, the most overdue first, the rest deferred. A run keeps to its
    share (``RevisitPlan.share``): above it, it defers the due cases that can wait
    (``RevisitPlan.can_wait``); below it, it asks the cases due soonest up to it."""
    due: list[tuple[float, int, int, bool]] = []
    early: list[tuple[float, int, int, bool]] = []
    for cid, langs in held.items():
        keys = [PageKey(cid, lang) for lang in langs]
        worst = float("inf") if cid in stale else max(plan.overdue(k) for k in keys)
        lacks = [PageKey(cid, lang) for lang in plan.translations if lang not in langs]
        wanted = [key for key in keys + lacks if plan.due(key)]
        can_wait = cid not in stale and all(plan.can_wait(key) for key in wanted)
        (due if cid in stale or wanted else early).append((worst, cid, len(keys), can_wait))
    if plan.full:
        return CaseSelection({item[1] for item in due})
    # Cho & Garcia-Molina: under a fixed budget, even revisits. Phases drift (a changed page
    # comes back sooner, then keeps its new phase; new cases join where they are found), and
    # the drift piles up in some runs (bench_revisit: 119 pages one week, 98 another). So a
    # run keeps to its share: above it, it leaves the due cases that the next run still asks
    # within their bound (a changed page on its shorter interval); below it, it takes the
    # cases due next.
    share = plan.share(sum(len(langs) for langs in held.values()))
    cap = plan.intervals.max_pages_per_run
    limit = share if cap is None else min(share, cap)
    out = CaseSelection()
    pages = 0
    for _, cid, count, can_wait in sorted(due, key=lambda item: (-item[0], item[1])):
        fits = cap is None or pages + count <= cap
        if cid in stale or (fits and (pages + count <= limit or not can_wait)):
            out.asked.add(cid)
            pages += count
        else:
            out.deferred += count
    for _, cid, count, _ in sorted(early, key=lambda item: (-item[0], item[1])):
        if pages + count > limit:
            break
        out.asked.add(cid)
        pages += count
    return out


def economy(
    plan: RevisitPlan, held: Mapping[int, Collection[str]], asked: Collection[int]
) -> Economy:
    """What probing asks (``flows.discover.Economy``): the cases ``asked`` of those ``held``,
    and of the other ids those ``plan`` says are due."""
    from flows.discover import Economy

    def due(cid: int, lang: str) -> bool:
        return plan.due(PageKey(cid, lang))

    def ahead_due(cid: int, lang: str) -> bool:
        return plan.ahead_due(PageKey(cid, lang))

    def soon(cid: int, lang: str) -> bool:
        return plan.due_soon(PageKey(cid, lang))

    return Economy(held, asked, due, plan.intervals.probe_ahead, ahead_due, soon)


def leave_alone(
    plan: RevisitPlan,
    keys: Sequence[Key],
    vouched: Callable[[Key], bool],
    lastmods: Collection[Key],
    listed: Listing | None,
    held: Collection[Key] = (),
) -> bool:
    """A case from a sitemap that a run does not ask: every page of it ``vouched`` for by its
    lastmod and not due for its safety check (``safety_due``), or without a lastmod
    (``lastmods``: the keys that have one) not due. A lastmod that does not vouch means ask
    now; so does a page we hold (``held``) that the sitemap (``listed``) no longer lists, in a
    language it lists others in: it may be gone."""
    if listed is not None:
        pages, langs = listed.keys, listed.langs
        if any(key in held and key not in pages and key[1] in langs for key in keys):
            return False
        if not any(key in pages for key in keys):
            return False
    for key in keys:
        if key in lastmods and not vouched(key):
            return False
        if plan.safety_due(key) if vouched(key) else plan.due(key):
            return False
    return True


def record_checks(
    plan: RevisitPlan,
    results: Sequence[FetchResult],
    held: Mapping[Key, str],
    checks: dict[Key, Check],
) -> int:
    """Into ``checks``: this run's answer for every page asked, as the check the next runs go
    by (a failure leaves the page as it was: due). Returns how many pages we held were asked."""
    from flows.discover import by_case

    revalidated = 0
    for cid, answers in by_case(results).items():
        gone = {r.lang for r in answers if r.gone}
        there = any(r.ok or r.not_modified for r in answers) or any(
            (cid, lang) in held for lang in LANGS if lang not in gone
        )
        for r in answers:
            present = r.ok or r.not_modified
            if r.lang is None or not (present or r.gone):
                continue
            key = PageKey(cid, r.lang)
            revalidated += key in held
            changed = r.ok and (r.body is None or held.get(key) != _digest(r.body))
            checks[key] = plan.next_check(key, present=present, changed=changed, case_exists=there)
    return revalidated


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def oldest_check(checks: Mapping[Key, Check]) -> datetime | None:
    """The oldest last check among the pages that were there when last asked."""
    return min((c.checked_at for c in checks.values() if c.present), default=None)


def revisit_plan(settings: Settings, known: Known, full: bool) -> RevisitPlan | None:
    """The run's plan from its settings and what the warehouse knew; None when the policy is
    off (``revisit.enabled: false``: every page, every run)."""
    knobs = settings.revisit
    if not knobs.enabled:
        return None
    now = clock.now()
    horizon = horizon_days(now, known.previous_start, knobs.max_days)
    source = settings.source
    langs = tuple(source.languages) if source.probe_other_languages else ()
    return RevisitPlan(known.checks, now, horizon, knobs, full=full, translations=langs)


def oldest_check_days(pipeline: Pipeline) -> float:
    """Days since the oldest check among the pages that were there, this run's answers in."""
    if pipeline.revisit is None:
        return 0.0
    oldest = oldest_check({**pipeline.known.checks, **pipeline.checks})
    if oldest is None:
        return 0.0
    return round((pipeline.revisit.now - oldest).total_seconds() / 86400, 2)
