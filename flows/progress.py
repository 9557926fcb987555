"""An optional progress hook: the CLI installs a reporter, the flow calls ``report``.

A hook rather than a flow parameter, so scheduled runs (no terminal) pass nothing. Events:
``fetched`` and ``processed`` (pages done), ``planned`` (pages the run will ask for, when it
knows: a sitemap, known cases), ``stage`` (what the run is doing while nothing is fetched
yet; the amount is unused, the text is the event's ``note``) and ``waiting`` (the requests
that take long, ``amount`` of them, named in ``note``; 0 and "" when none is left).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


class SlowRequests:
    """Requests running longer than ``after_s``, reported as ``waiting`` when the set changes.

    A run whose bar shows 100% may still wait minutes for one page dripping its body (issue
    21); the progress line then says which.
    """

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self._slow: dict[int, str] = {}  # one entry per request (a retry is another)

    @contextmanager
    def watch(self, url: str) -> Iterator[None]:
        """Around one request, in the event loop that runs it."""
        token = object()
        handle = asyncio.get_running_loop().call_later(self.after_s, self._add, id(token), url)
        try:
            yield
        finally:
            handle.cancel()
            if self._slow.pop(id(token), None) is not None:
                self._say()

    def _add(self, key: int, url: str) -> None:
        self._slow[key] = url
        self._say()

    def _say(self) -> None:
        urls = list(self._slow.values())
        report("waiting", len(urls), waiting_note(urls))


def waiting_note(urls: list[str]) -> str:
    """ "waiting for 1 page: URL (slow answer)"; "" for none."""
    if not urls:
        return ""
    if len(urls) == 1:
        return f"waiting for 1 page: {urls[0]} (slow answer)"
    return f"waiting for {len(urls)} pages: {urls[0]} and {len(urls) - 1} more (slow answers)"
