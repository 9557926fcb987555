"""An optional progress hook: the CLI installs a reporter, the flow calls ``report``.

A hook rather than a flow parameter, so scheduled runs (no terminal) pass nothing.
"""

from __future__ import annotations

from collections.abc import Callable

Reporter = Callable[[str, int], None]

_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def report(event: str, amount: int) -> None:
    if _reporter is not None:
        _reporter(event, amount)
