"""What a refresh says while it works (issue 9, part 6): progress without a terminal, and the
one warning about a contact nobody answers."""

from __future__ import annotations

import pytest

from flows.progress import waiting_note
from latinno.cli.progress import LogProgress
from latinno.cli.refresh import _warn_about_contact
from latinno.config import Settings, override


def test_without_a_terminal_a_line_every_interval_with_done_total_and_eta(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = LogProgress(every_s=0.0)
    log("stage", 0, "reading robots.txt")
    log("planned", 400, "")
    assert capsys.readouterr().err == ""  # nothing moved yet: nothing to say
    log("fetched", 100, "")
    log("processed", 40, "")
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("refresh: 100 pages fetched, 0 processed, 100 of 400 (25%), about")
    assert lines[-1].startswith("refresh: 100 pages fetched, 40 processed")
    quiet = LogProgress(every_s=3600)
    quiet("planned", 10, "")
    quiet("fetched", 5, "")
    assert capsys.readouterr().err == ""  # at most one line per interval


def test_without_a_terminal_a_slow_page_is_named_when_the_run_starts_waiting_for_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = LogProgress(every_s=3600)
    log("waiting", 2, waiting_note(["http://x/en/case/19997/", "http://x/en/case/1/"]))
    log("waiting", 0, waiting_note([]))
    assert capsys.readouterr().err.splitlines() == [
        "refresh: waiting for 2 pages: http://x/en/case/19997/ and 1 more (slow answers)"
    ]


@pytest.mark.parametrize(
    ("base_url", "contact", "warned"),
    [
        ("https://latinno.net", "https://example.org/latinno-pipeline/contact", True),
        ("https://latinno.net", "mailto:data@example.edu", False),
        ("http://127.0.0.1:8765", "https://example.org/latinno-pipeline/contact", False),
        ("http://localhost:8765", "https://example.org/latinno-pipeline/contact", False),
    ],
)
def test_a_placeholder_contact_is_named_once_before_a_real_site_is_crawled(
    capsys: pytest.CaptureFixture[str], base_url: str, contact: str, warned: bool
) -> None:
    settings = override(
        Settings(), {"source": {"base_url": base_url}, "politeness": {"contact": contact}}, "t"
    )
    _warn_about_contact(settings)
    err = capsys.readouterr().err
    assert ("politeness.contact is still the example" in err) is warned
