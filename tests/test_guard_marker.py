"""The guard's marker check (issue 19): a run that cannot tell what applies is held, with
nothing known before it (a first run into a fresh warehouse), and judged at the end of a small
run. End to end over HTTP: tests/test_calibrate_site.py."""

from __future__ import annotations

from dataclasses import replace

from _warehouse_support import make_record

from flows.guard import DriftGuard
from latinno.config_sections import GuardSettings
from latinno.record import CaseRecord, OptionCount

LIMITS = GuardSettings(
    max_parse_failure_share=0.05,
    max_field_loss_share=0.2,
    min_pages=50,
    max_uniform_list_share=0.5,
    min_marker_pages=10,
)
MARKER = "class 'active' marks applying options"


def page(case_id: int, means_applying: int) -> CaseRecord:
    counts = (
        OptionCount("means", 4, means_applying),
        OptionCount("ends", 5, 2),
        OptionCount("policy_cycle", 4, 1),
    )
    return replace(make_record(case_id), option_counts=counts)


def guard(accept: bool = False) -> DriftGuard[str]:
    return DriftGuard({}, LIMITS, lang="en", accept=accept, buffer_pages=10_000, marker=MARKER)


def test_a_fresh_warehouse_run_reading_no_means_anywhere_is_held_once_judged() -> None:
    g = guard()
    first = [page(1000 + i, 0) for i in range(49)]
    assert g.admit(first, [], "batch 1", 49) == ("apply", [])  # waiting: not judged yet
    mode, ready = g.admit([page(1049, 0), page(1050, 2)], [], "batch 2", 2)
    assert (mode, ready) == ("hold", ["batch 1", "batch 2"])
    (line,) = g.findings
    assert line.startswith("means on 50 of 51 pages (98%) read with none or all of the list's")
    assert MARKER in line and "`latinno calibrate`" in line
    assert "latinno refresh --accept-drift" in g.message()


def test_a_small_run_is_judged_at_its_end() -> None:
    g = guard()
    assert g.admit([page(1000 + i, 4) for i in range(12)], [], "b", 12) == ("apply", [])
    assert g.flush() == ("hold", ["b"])
    assert g.findings[0].startswith("means on 12 of 12 pages (100%) read with none or all")


def test_below_min_marker_pages_a_run_is_not_judged_on_the_marker() -> None:
    g = guard()
    g.admit([page(1000 + i, 0) for i in range(9)], [], "b", 9)
    assert g.flush() == ("apply", ["b"])


def test_a_fitting_marker_applies_and_some_uniform_lists_are_fine() -> None:
    g = guard()
    pages = [page(1000 + i, 0 if i % 3 == 0 else 2) for i in range(60)]  # a third: none
    assert g.admit(pages, [], "b", 60) == ("apply", [])  # nothing known: waits for the drift
    assert g.flush() == ("apply", ["b"]) and g.findings == []


def test_accept_drift_applies_a_run_the_marker_check_would_hold() -> None:
    g = guard(accept=True)
    g.admit([page(1000 + i, 0) for i in range(60)], [], "b", 60)
    assert g.mode == "hold" and not g.held
