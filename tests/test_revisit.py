"""The revisit policy (issue 23): which pages a run asks, in days, and what that guarantees.

The policy is plain logic (flows.revisit): most guarantees are checked here over simulated
years of runs with no HTTP at all; ``tests/test_revisit_flow.py`` checks them end to end.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from flows.discover import Economy, _asks
from flows.revisit import (
    Check,
    RevisitPlan,
    due_cases,
    horizon_days,
    oldest_check,
)
from latinno import clock
from latinno.config import parse_settings
from latinno.errors import ConfigError
from latinno.pages import PageKey
from latinno.revisit_config import RevisitSettings

T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
DAY = timedelta(days=1)
FOUR_WEEKS = timedelta(days=28)


# --- the clock ---------------------------------------------------------------------------


def test_latinno_now_sets_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATINNO_NOW", "2027-03-01T12:30:00+01:00")
    assert clock.now() == datetime(2027, 3, 1, 11, 30, tzinfo=UTC)
    monkeypatch.setenv("LATINNO_NOW", "2027-03-01")  # no zone: UTC
    assert clock.now() == datetime(2027, 3, 1, tzinfo=UTC)
    monkeypatch.delenv("LATINNO_NOW")
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_bad_latinno_now_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATINNO_NOW", "next tuesday")
    with pytest.raises(ConfigError, match=r"LATINNO_NOW.*ISO 8601"):
        clock.now()


# --- simulated runs ----------------------------------------------------------------------


def _simulate(
    pages: int, every: timedelta, runs: int, edits: int, seed: int = 1
) -> tuple[list[int], list[timedelta]]:
    """``runs`` runs ``every`` apart over ``pages`` pages that are there, ``edits`` edits at
    random times: (pages asked per run, how long each edit waited to be asked)."""
    rng = random.Random(seed)
    keys = [(1000 + n, "en") for n in range(pages)]
    span = every * (runs - 1)
    pending = sorted((T0 + span * rng.random() * 0.9, rng.choice(keys)) for _ in range(edits))
    edited: dict[tuple[int, str], datetime] = {}
    checks: dict[tuple[int, str], Check] = {}
    asked: list[int] = []
    waits: list[timedelta] = []
    previous = None
    for run in range(runs):
        now = T0 + every * run
        while pending and pending[0][0] <= now:
            when, key = pending.pop(0)
            edited.setdefault(key, when)
        plan = RevisitPlan(checks, now, horizon_days(now, previous, 28))
        due = [key for key in keys if plan.due(key)]
        for key in due:
            when = edited.pop(key, None)
            if when is not None:
                waits.append(now - when)
            checks[key] = plan.next_check(
                key, present=True, changed=when is not None, case_exists=True
            )
        asked.append(len(due))
        previous = now
    return asked, waits


def test_weekly_runs_see_every_edit_within_four_weeks() -> None:
    _, waits = _simulate(pages=2000, every=WEEK, runs=52, edits=400)
    assert len(waits) > 300
    assert max(waits) <= FOUR_WEEKS


def test_weekly_runs_ask_a_steady_share_not_a_burst() -> None:
    asked, _ = _simulate(pages=2000, every=WEEK, runs=52, edits=0)
    assert asked[0] == 2000  # the first run asks everything
    steady = asked[8:]
    # A quarter of the pages a week on average (every page once in four weeks), and no run
    # far above that: the first intervals are spread by key.
    assert sum(steady) / len(steady) <= 2000 / 4 * 1.1
    assert max(steady) <= 2000 / 4 * 1.5


def test_cases_in_three_languages_are_asked_in_a_steady_share() -> None:
    # A case's pages are asked together (due_cases): with every case in en, es and pt the
    # weekly share must stay a quarter of the cases, not the earliest of three spreads.
    held = {1000 + n: ("en", "es", "pt") for n in range(1200)}
    checks: dict[tuple[int, str], Check] = {}
    asked: list[int] = []
    for run in range(20):
        plan = RevisitPlan(checks, T0 + WEEK * run, 7.0)
        cases = due_cases(plan, held).asked
        for cid in cases:
            for lang in held[cid]:
                key = (cid, lang)
                checks[key] = plan.next_check(key, present=True, changed=False, case_exists=True)
        asked.append(len(cases))
    assert asked[0] == 1200
    steady = asked[1:]
    assert max(steady) <= 1200 / 4 * 1.3, steady


def test_daily_runs_ask_a_seventh_for_the_same_staleness() -> None:
    weekly, _ = _simulate(pages=1000, every=WEEK, runs=20, edits=0)
    daily, waits = _simulate(pages=1000, every=DAY, runs=140, edits=200)
    assert max(waits) <= FOUR_WEEKS
    per_week_daily = sum(daily[56:]) / len(daily[56:]) * 7
    per_week_weekly = sum(weekly[8:]) / len(weekly[8:])
    assert per_week_daily <= per_week_weekly * 1.2
    assert per_week_daily >= per_week_weekly * 0.8


def test_daily_runs_ask_an_even_share_not_a_burst_every_fourth_week() -> None:
    # The first run cannot know the schedule; first intervals spread over (horizon, horizon +
    # 28] with a week's horizon had daily runs ask nothing for six days, then a 28th a day,
    # then at day 28 a quarter of the pages at once (their bound), on that beat ever after.
    asked, _ = _simulate(pages=1000, every=DAY, runs=61, edits=0)
    later = asked[1:]
    mean = sum(later) / len(later)
    assert mean == pytest.approx(1000 / 28, rel=0.1)
    assert max(later) <= 2 * mean, later
    assert min(later) > 0


def test_a_run_below_its_share_takes_the_cases_due_next() -> None:
    # Phases left lopsided (drift: a changed page comes back sooner and keeps its new phase):
    # 200 cases checked a week before the other 600, all on the longest interval. Each run
    # asks at least its share (a quarter with weekly runs), the cases due soonest, so after a
    # cycle no run carries the pile, and each case is still asked within 28 days.
    held = {1000 + n: ("en",) for n in range(800)}
    checks = {
        (cid, "en"): Check(T0 - (WEEK if cid < 1200 else 2 * WEEK), 28.0, True) for cid in held
    }
    asked: list[int] = []
    last: dict[int, datetime] = {}
    for run in range(1, 13):
        now = T0 + WEEK * run
        plan = RevisitPlan(checks, now, 7.0)
        cases = due_cases(plan, held).asked
        for cid in cases:
            assert cid not in last or now - last[cid] <= FOUR_WEEKS
            last[cid] = now
            checks[(cid, "en")] = plan.next_check(
                (cid, "en"), present=True, changed=False, case_exists=True
            )
        asked.append(len(cases))
    assert max(asked[4:]) <= 800 / 4 + 1, asked
    assert min(asked) >= 800 / 4, asked


def test_a_run_above_its_share_leaves_what_can_wait() -> None:
    # 400 cases in four weekly phases; 40 of phase 0 seen changing, on a shorter interval,
    # come due a week early with phase 1. That run leaves them for the next (within 28 days
    # of their last check all the same) instead of asking 140 pages, and the next takes
    # them in place of their phase's.
    held = {1000 + n: ("en",) for n in range(400)}
    checks = {(cid, "en"): Check(T0 - (cid % 4) * WEEK, 28.0, True) for cid in held}
    checks |= {(cid, "en"): Check(T0, 22.4, True) for cid in range(1000, 1160, 4)}
    asked = []
    for run in range(1, 9):
        now = T0 + WEEK * run
        plan = RevisitPlan(checks, now, 7.0)
        chosen = due_cases(plan, held)
        for cid in chosen.asked:
            key = (cid, "en")
            assert now - checks[key].checked_at <= FOUR_WEEKS
            checks[key] = plan.next_check(key, present=True, changed=False, case_exists=True)
        asked.append(len(chosen.asked))
    assert asked == [100] * 8


def test_consecutive_ids_spread_evenly_over_the_weeks() -> None:
    # A prefix's serials and the ids probed past its last case are consecutive: their first
    # rechecks fall within a page or two of a quarter a week (a hash spread them ± 9 %).
    for start in (1001, 7201):
        weeks = [0] * 5
        for cid in range(start, start + 400):
            check = RevisitPlan({}, T0).next_check(
                (cid, "en"), present=True, changed=False, case_exists=True
            )
            weeks[_first_recheck({(cid, "en"): check}, (cid, "en"))] += 1
        assert weeks[0] == 0 and max(abs(n - 100) for n in weeks[1:]) <= 2, weeks


def test_a_case_due_for_a_translation_check_counts_in_the_share() -> None:
    # Probing asks the whole case when a language it lacks is due: so does due_cases, and the
    # run's share is not filled with other cases on top of it.
    held = {1000 + n: ("en",) for n in range(4)}
    checks = {(cid, "en"): Check(T0, 28.0, True) for cid in held}
    checks |= {(cid, "es"): Check(T0, 91.0, False) for cid in held}
    checks[(1003, "es")] = Check(T0 - 13 * WEEK, 91.0, False)
    plan = RevisitPlan(checks, T0 + WEEK, 7.0, translations=("en", "es"))
    assert due_cases(plan, held).asked == {1003}


def test_a_run_right_after_another_takes_nothing_early() -> None:
    # Eight cases, none due: a run a week later takes its share (two) early; a rerun
    # minutes after the last run expects the next one as soon, so its share is nothing.
    held = {1000 + n: ("en",) for n in range(8)}
    checks = {(cid, "en"): Check(T0 + n * DAY, 28.0, True) for n, cid in enumerate(held)}
    assert due_cases(RevisitPlan(checks, T0 + WEEK, 7.0), held).asked == {1000, 1001}
    again = T0 + timedelta(minutes=5)
    rerun = RevisitPlan(checks, again, horizon_days(again, T0, 28))
    assert not due_cases(rerun, held).asked


def test_serials_past_the_end_are_asked_once_a_week_with_daily_runs() -> None:
    # The serials just past the highest known one: found within min_days (a week), but a
    # daily schedule asks a seventh of them a day, not all of them every day.
    keys = [(prefix * 1000 + 200 + n, "en") for prefix in range(1, 19) for n in range(1, 4)]
    checks: dict[tuple[int, str], Check] = {}
    asked: dict[tuple[int, str], list[datetime]] = {key: [] for key in keys}
    per_run = []
    for day in range(57):
        now = T0 + DAY * day
        plan = RevisitPlan(checks, now, 1.0 if day else 7.0)
        due = [key for key in keys if plan.ahead_due(key)]
        for key in due:
            asked[key].append(now)
            checks[key] = plan.next_check(key, present=False, changed=False, case_exists=False)
        per_run.append(len(due))
    for times in asked.values():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= WEEK and len(times) >= 57 // 7
    assert per_run[0] == len(keys)
    assert max(per_run[1:]) <= 2 * len(keys) / 7, per_run
    # Weekly runs: every run.
    weekly = {key: Check(T0, 28.0, False) for key in keys}
    assert all(RevisitPlan(weekly, T0 + WEEK, 7.0).ahead_due(key) for key in keys)


def test_a_page_seen_changing_is_asked_more_often() -> None:
    plan = RevisitPlan({(1001, "en"): Check(T0, 20.0, True)}, T0 + 20 * DAY)
    changed = plan.next_check((1001, "en"), present=True, changed=True, case_exists=True)
    unchanged = plan.next_check((1001, "en"), present=True, changed=False, case_exists=True)
    assert changed.interval_days == pytest.approx(16.0)
    assert unchanged.interval_days == 28.0  # × 1.4, clamped to max_days


def test_full_asks_everything() -> None:
    checks = {(1001, "en"): Check(T0, 28.0, True)}
    assert not RevisitPlan(checks, T0 + DAY).due((1001, "en"))
    assert RevisitPlan(checks, T0 + DAY, full=True).due((1001, "en"))


# --- misses and languages ----------------------------------------------------------------


def _first_recheck(plan_checks: dict[tuple[int, str], Check], key: tuple[int, str]) -> int:
    """Weeks until a page checked at T0 is asked again by weekly runs."""
    for week in range(1, 30):
        plan = RevisitPlan(plan_checks, T0 + WEEK * week, 7.0)
        if plan.due(key):
            return week
    raise AssertionError("never asked again")


def test_a_missing_id_is_asked_again_within_four_weeks_not_weekly() -> None:
    seen = []
    for serial in range(200):
        key = (2000 + serial, "en")
        check = RevisitPlan({}, T0).next_check(key, present=False, changed=False, case_exists=False)
        seen.append(_first_recheck({key: check}, key))
        again = RevisitPlan({key: check}, check.next_at()).next_check(
            key, present=False, changed=False, case_exists=False
        )
        assert again.interval_days == 28.0
    assert max(seen) <= 4
    # Spread over the four weeks, not all at once.
    assert {1, 2, 3, 4} <= set(seen) and max(seen.count(w) for w in range(1, 5)) < 80


def test_a_missing_translation_is_asked_again_within_thirteen_weeks() -> None:
    weeks = []
    for serial in range(200):
        key = (3000 + serial, "es")
        check = RevisitPlan({}, T0).next_check(key, present=False, changed=False, case_exists=True)
        weeks.append(_first_recheck({key: check}, key))
    assert max(weeks) <= 13
    assert sum(weeks) / len(weeks) > 5  # mostly not in the first weeks
    # Spread evenly over the thirteen weeks: no week asks the share of several.
    assert max(weeks.count(week) for week in range(1, 14)) <= 2 * len(weeks) / 13


def _economy(held: dict[int, set[str]], revalidate: set[int], due: set[tuple[int, str]]) -> Economy:
    return Economy(held, revalidate, lambda cid, lang: (cid, lang) in due, ahead=3)


def test_known_case_asks_its_pages_only_when_due() -> None:
    langs = ["en", "es", "pt"]
    held = {1005: {"en"}}
    idle = _economy(held, set(), set())
    assert _asks(1005, langs, True, True, idle, -1) == ([], [], [])
    assert _asks(1005, langs, True, True, _economy(held, {1005}, set()), -1)[0] == ["en"]
    # A translation check due: asked with the pages we hold, so the case is decided whole.
    translation = _economy(held, set(), {(1005, "es")})
    assert _asks(1005, langs, True, True, translation, -1)[0] == ["en", "es"]
    # probe_other_languages off: no translation checks of known ids.
    assert _asks(1005, langs, False, True, translation, -1) == ([], [], [])


def test_a_translation_check_due_within_weeks_rides_with_its_case() -> None:
    # A case revalidated now, its Spanish check due in 20 days: asked with it, not with the
    # case asked again (English page included) for it alone in three weeks.
    en, es, pt = (1005, "en"), (1005, "es"), (1005, "pt")
    checks = {
        en: Check(T0 - FOUR_WEEKS, 28.0, True),
        es: Check(T0 - 71 * DAY, 91.0, False),  # due in 20 days
        pt: Check(T0 - 7 * DAY, 91.0, False),  # due in 84 days
    }
    plan = RevisitPlan(checks, T0, 7.0)
    assert plan.due_soon(es) and not plan.due(es) and not plan.due_soon(pt)
    held = {1005: {"en"}}
    economy = Economy(
        held,
        {1005},
        lambda c, lang: plan.due((c, lang)),
        3,
        None,
        lambda c, lang: plan.due_soon((c, lang)),
    )
    assert _asks(1005, ["en", "es", "pt"], True, True, economy, -1)[0] == ["en", "es"]
    # Not revalidated this run: nothing; probe_other_languages off: no translation checks.
    idle = Economy(held, set(), economy.due, 3, None, economy.soon)
    assert _asks(1005, ["en", "es", "pt"], True, True, idle, -1) == ([], [], [])
    assert _asks(1005, ["en", "es", "pt"], False, True, economy, -1)[0] == ["en"]


def test_serials_just_past_the_highest_are_asked_every_run() -> None:
    langs = ["en", "es"]
    quiet = _economy({1005: {"en"}}, set(), set())
    for past in (1, 2, 3):
        assert _asks(1005 + past, langs, False, False, quiet, past) == (["en"], ["es"], [])
    assert _asks(1009, langs, False, False, quiet, 4) == ([], [], [])
    # Due or not, a deeper serial's other languages are asked only when they are due.
    due = _economy({1005: {"en"}}, set(), {(1030, "en"), (1030, "pt")})
    assert _asks(1030, ["en", "es", "pt"], True, False, due, 25) == (["en"], ["es", "pt"], ["pt"])


# --- budget and reporting ----------------------------------------------------------------


def test_a_page_budget_defers_the_least_overdue() -> None:
    # Checked 21-30 days ago: none can wait a week more (``can_wait``), the cap decides.
    checks = {(cid, "en"): Check(T0 - (cid - 980) * DAY, 1.0, True) for cid in range(1001, 1011)}
    plan = RevisitPlan(checks, T0, 7.0, RevisitSettings(max_pages_per_run=4))
    chosen = due_cases(plan, {cid: {"en"} for cid in range(1001, 1011)}, stale={1001})
    assert chosen.asked == {1001, 1010, 1009, 1008}  # stale always; then most overdue
    assert chosen.deferred == 6


def test_oldest_check_counts_pages_that_are_there() -> None:
    checks = {
        (1001, "en"): Check(T0, 28.0, True),
        (1002, "en"): Check(T0 - 3 * WEEK, 28.0, True),
        (1003, "en"): Check(T0 - 9 * WEEK, 28.0, False),
    }
    assert oldest_check(checks) == T0 - 3 * WEEK


def test_revisit_settings_are_validated() -> None:
    assert parse_settings({"revisit": {"max_days": 14}}, "t").revisit.max_days == 14
    with pytest.raises(ConfigError, match="revisit"):
        parse_settings({"revisit": {"min_days": 30, "max_days": 28}}, "t")
    with pytest.raises(ConfigError, match=r"revisit\.probe_ahead"):
        parse_settings({"revisit": {"probe_ahead": -1}}, "t")


def test_a_sitemap_case_is_left_alone_only_while_vouched_for_and_listed() -> None:
    from flows.revisit import leave_alone
    from flows.sitemap import Listing

    en, es = PageKey(1001, "en"), PageKey(1001, "es")
    checks = {en: Check(T0, 28.0, True), es: Check(T0, 28.0, True)}
    plan = RevisitPlan(checks, T0 + WEEK)
    listed = Listing.of({en, es, PageKey(1002, "es")})

    def yes(key: tuple[int, str]) -> bool:
        return True

    def no(key: tuple[int, str]) -> bool:
        return False

    assert leave_alone(plan, [en, es], yes, {en, es}, listed, {en, es})
    assert not leave_alone(plan, [en, es], no, {en, es}, listed, {en, es})  # lastmod moved
    # A page we hold that the sitemap stopped listing (it lists Spanish pages): asked now.
    gone = Listing.of({en, PageKey(1002, "es")})
    assert not leave_alone(plan, [en, es], yes, {en}, gone, {en, es})
    # Vouched for, but the quarter's safety check is due.
    late = RevisitPlan(checks, T0 + 13 * WEEK)
    assert not leave_alone(late, [en, es], yes, {en, es}, listed, {en, es})


class _CountedKeys(set[PageKey]):
    """A sitemap's keys that count how often they are gone through."""

    iterations = 0

    def __iter__(self) -> Iterator[PageKey]:
        self.iterations += 1
        return super().__iter__()


def test_a_run_goes_through_the_sitemap_listing_once_not_once_per_case() -> None:
    """Deciding per case whether to leave it alone must not go through every key the sitemap
    lists each time (cases × pages: 14 million steps at 3,744 pages, more per case with three
    languages)."""
    from flows.batch import Known, LoadTarget
    from flows.fetch import Fetcher
    from flows.fetch_types import FetchPolicy
    from flows.parsing import ParseSpec
    from flows.pipeline import Pipeline
    from latinno.config import Settings
    from latinno.pages import case_url

    settings = Settings()
    keys = [PageKey(100_000 + serial, "en") for serial in range(1, 201)]
    checks = {key: Check(T0, 28.0, True) for key in keys}
    listed = _CountedKeys(keys)
    target = LoadTarget("20260101T000000Z-list00", settings.warehouse, settings.source)

    async def run() -> Pipeline:
        # Nothing is due and the sitemap lists every page: no request is made.
        fetcher = Fetcher(FetchPolicy.from_settings(settings))
        pipeline = Pipeline(
            fetcher,
            Known(checks=checks),
            ParseSpec.of(settings.parser),
            target,
            batch_size=20,
            full=False,
            revisit=RevisitPlan(checks, T0 + WEEK),
        )
        try:
            base = settings.source.base_url
            await pipeline.fetch([[case_url(base, key)] for key in keys], None, listed)
        finally:
            pipeline.close()
        return pipeline

    pipeline = asyncio.run(run())
    assert pipeline.counts.sitemap_unchanged == len(keys)  # every case left alone
    assert listed.iterations == 1
