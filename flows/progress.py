"""An optional progress hook: the CLI installs a reporter, the flow calls ``report``.

A hook rather than a flow parameter, so scheduled runs (no terminal) pass nothing. Events:
``fetched`` and ``processed`` (pages done), ``planned`` (pages the run will ask for, when it
knows: a sitemap, known cases), and ``stage`` (what the run is doing while nothing is fetched
yet; the amount is unused, the text is the event's ``note``).
"""

from __future__ import annotations

from collections.abc import Callable

Reporter = Callable[[str, int, str], None]

_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def report(event: str, amount: int = 0, note: str = "") -> None:
    if _reporter is not None:
        _reporter(event, amount, note)


def stage(note: str) -> None:
    """Say what the run is doing now ("reading robots.txt", "probing prefix 3")."""
    report("stage", 0, note)
