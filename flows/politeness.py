"""Being gentle with one host: a request-spacing rate limiter and robots.txt rules.

The rate limiter spaces request *starts* at least ``1/rate`` seconds apart (or the robots.txt
Crawl-delay, whichever is longer), so in any one-second window a host sees at most ``rate``
request starts; measured at the server, scheduling jitter can add one (tests allow ``rate + 1``).
The concurrency cap is a plain semaphore held by the fetcher around each request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from protego import Protego


class RateLimiter:
    """Hands out start times at least ``interval`` apart; ``defer`` pushes the next one back."""

    def __init__(self, rate: float, *, min_interval_s: float = 0.0) -> None:
        if rate < 0:
            raise ValueError(f"rate must be >= 0 requests/s (0 = unlimited), got {rate}")
        self._rate_interval = 1.0 / rate if rate > 0 else 0.0
        self._min_interval = min_interval_s
        self._next = 0.0
        self._last = float("-inf")

    @property
    def interval(self) -> float:
        return max(self._rate_interval, self._min_interval)

    def set_min_interval(self, seconds: float) -> None:
        """A floor on the spacing, such as a robots.txt Crawl-delay (from the last start on)."""
        self._min_interval = max(0.0, seconds)
        self._next = max(self._next, self._last + self.interval)

    def defer(self, seconds: float) -> None:
        """No new request starts before ``seconds`` from now (a Retry-After from the host)."""
        self._next = max(self._next, time.monotonic() + max(0.0, seconds))

    async def wait(self) -> None:
        now = time.monotonic()
        interval = self.interval
        if interval <= 0 and self._next <= now:
            self._last = now
            return
        slot = max(now, self._next)
        self._last = slot
        self._next = slot + interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass
class RobotsRules:
    """What a host's robots.txt says for our user agent; ``allow_all`` when it has none."""

    parser: Protego | None
    user_agent: str
    disallow_all: bool = False
    note: str = ""
    unavailable: bool = False  # robots.txt answered 5xx or nothing: crawl nothing this run
    sitemaps: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str, user_agent: str) -> RobotsRules:
        parser = Protego.parse(text)
        return cls(parser, user_agent, sitemaps=list(parser.sitemaps))

    @classmethod
    def allow_all(cls, user_agent: str, note: str = "") -> RobotsRules:
        return cls(None, user_agent, note=note)

    @classmethod
    def unreachable(cls, user_agent: str, note: str) -> RobotsRules:
        # RFC 9309 2.3.1.4: robots.txt unreachable through server or network errors means
        # the crawler must assume complete disallow.
        return cls(None, user_agent, disallow_all=True, note=note, unavailable=True)

    def can_fetch(self, url: str) -> bool:
        if self.disallow_all:
            return False
        if self.parser is None:
            return True
        return bool(self.parser.can_fetch(url, self.user_agent))

    def refusal(self) -> str:
        """Why a URL these rules do not allow is not requested."""
        if self.unavailable:
            # RFC 9309: an unreachable robots.txt means "crawl nothing"; that is the site's
            # trouble, not its wish, so the page counts as failed.
            return f"{self.note}; not requested"
        reason = "disallowed by robots.txt"
        return f"{reason} ({self.note})" if self.note else reason

    @property
    def crawl_delay(self) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(self.user_agent)
        return float(delay) if delay else 0.0


@dataclass
class HostPolicy:
    """Everything the fetcher keeps per host: rate, concurrency cap, robots rules."""

    limiter: RateLimiter
    slots: asyncio.Semaphore
    robots: RobotsRules | None = None
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Why nothing more of this host is requested this run (it asked for a wait beyond our cap).
    gave_up: str | None = None

    @classmethod
    def create(cls, rate: float, concurrency: int) -> HostPolicy:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1 request in flight, got {concurrency}")
        return cls(RateLimiter(rate), asyncio.Semaphore(concurrency))
