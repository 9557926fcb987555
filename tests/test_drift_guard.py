"""The site-drift guard in process (flows.guard; the end-to-end run is tests/test_guard.py): what
it holds back, when it decides, and the line a held run ends with. No Prefect, no network."""

from __future__ import annotations

from _warehouse_support import make_record

from flows.guard import DriftGuard, before_run, filled
from latinno.config_sections import GuardSettings
from latinno.record import CaseRecord

LIMITS = GuardSettings(max_parse_failure_share=0.05, max_field_loss_share=0.2, min_pages=4)
KNOWN = range(17001, 17009)  # eight known cases, every content field filled


def known() -> dict[int, frozenset[str]]:
    return before_run({case_id: vars_of(make_record(case_id)) for case_id in KNOWN})


def vars_of(record: CaseRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def guard(**options: object) -> DriftGuard[str]:
    return DriftGuard(known(), LIMITS, lang="en", **options)  # type: ignore[arg-type]


def redesigned(case_id: int) -> CaseRecord:
    """What a page parses to once the site renamed the class marking an applying option."""
    return make_record(case_id, means=(), ends=(), policy_cycle=())


def test_the_known_cases_hold_every_content_field() -> None:
    assert filled(vars_of(make_record())) >= {"title", "means", "ends", "policy_cycle"}
    assert filled({"title": "", "means": (), "ends": None}) == frozenset()


def test_writes_wait_for_the_verdict_then_a_run_losing_a_field_is_held() -> None:
    drift = guard()
    ids = list(KNOWN)
    # Two batches of two known cases: below min_pages (4), nothing may be written yet.
    assert drift.admit([redesigned(ids[0]), redesigned(ids[1])], [], "batch 1", 2) == ("apply", [])
    assert not drift.held
    mode, ready = drift.admit([redesigned(ids[2]), redesigned(ids[3])], [], "batch 2", 2)
    assert (mode, ready) == ("hold", ["batch 1", "batch 2"])  # both, in order, held
    assert drift.held
    # Once decided, each later batch is written at once, the same way.
    assert drift.admit([redesigned(ids[4])], [], "batch 3", 1) == ("hold", ["batch 3"])
    assert drift.flush() == ("hold", [])
    line = drift.message()
    assert line.startswith("held: ") and "nothing applied" in line
    for name in ("means", "ends", "policy_cycle"):
        assert f"{name} lost on 4 of 4 cases (100.0%)" in line, line
    assert "title lost" not in line  # what every page still has is not named
    assert "`latinno refresh --accept-drift`" in line
    assert "`latinno reparse --accept-drift`" in drift.message(what="reparse")


def test_accepting_the_drift_applies_what_would_be_held() -> None:
    drift = guard(accept=True)
    ids = list(KNOWN)[:4]
    assert drift.admit([redesigned(i) for i in ids[:2]], [], "a", 2) == ("apply", [])
    assert drift.admit([redesigned(i) for i in ids[2:]], [], "b", 2) == ("apply", ["a", "b"])
    assert not drift.held
    assert drift.findings  # the drift is still seen and said, only not held


def test_an_unchanged_run_is_applied_once_judged() -> None:
    drift = guard()
    ids = list(KNOWN)
    assert drift.admit([make_record(i) for i in ids[:3]], [], "a", 3) == ("apply", [])
    assert drift.admit([make_record(i) for i in ids[3:5]], [], "b", 2) == ("apply", ["a", "b"])
    assert drift.flush() == ("apply", [])
    assert not drift.held and drift.findings == []


def test_known_pages_that_no_longer_parse_hold_the_run() -> None:
    drift = guard()
    ids = list(KNOWN)
    # One of four known pages fails (25% > 5%); a failed page of an unknown case is not counted.
    mode, ready = drift.admit([make_record(i) for i in ids[:3]], [ids[3], 99001], "a", 5)
    assert (mode, ready) == ("hold", ["a"])
    assert "1 of 4 pages no longer parse" in drift.message()


def test_only_known_cases_in_the_primary_language_are_compared() -> None:
    drift = guard()
    others = [redesigned(i) for i in KNOWN]
    spanish = [make_record(i, lang="es", means=()) for i in KNOWN]
    new = [redesigned(i) for i in range(18001, 18010)]
    assert drift.admit([*spanish, *new], [], "a", 17) == ("apply", [])
    assert drift.drift.compared == 0
    assert drift.admit(others[:4], [], "b", 4) == ("hold", ["a", "b"])


def test_a_run_with_too_few_known_cases_is_applied() -> None:
    # New cases only: nothing to compare. Writes wait up to buffer_pages, then go; the rest at
    # the end of the run.
    drift = guard(buffer_pages=5)
    new = [make_record(i) for i in range(18001, 18010)]
    assert drift.admit(new[:3], [], "a", 3) == ("apply", [])
    assert drift.admit(new[3:6], [], "b", 3) == ("apply", ["a", "b"])
    assert drift.admit(new[6:], [], "c", 3) == ("apply", ["c"])
    small = guard()
    assert small.admit([redesigned(17001)], [], "only", 1) == ("apply", [])
    assert small.flush() == ("apply", ["only"])  # one known case: too few to judge
    assert not small.held
