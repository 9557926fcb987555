"""What fetching takes and gives: a ``FetchPolicy`` in, a ``FetchResult`` out, ``Validators``
to ask again conditionally. Plain records, so they cross task and process boundaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from latinno.config import Settings
    from latinno.config_sections import HttpSettings, PolitenessSettings


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How a run fetches: config.yaml's ``http`` and ``politeness`` sections as they are (frozen
    pydantic models; their defaults live in latinno.config_sections, nowhere else), and the one
    value derived from the settings, ``allowed_hosts``: ``source.allowed_hosts`` with the base
    URL's host, lower-cased, as host names (any port) or ``host:port``. ``politeness.rate`` is
    requests/s per host (0 = unlimited, local only), ``politeness.concurrency`` requests in
    flight per host."""

    http: HttpSettings
    politeness: PolitenessSettings
    allowed_hosts: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """The base URL's host is always allowed, so a local site server works without editing
        ``source.allowed_hosts``."""
        base_host = urlsplit(settings.source.base_url).hostname or ""
        hosts = frozenset(h.lower() for h in [*settings.source.allowed_hosts, base_host])
        return cls(settings.http, settings.politeness, hosts)

    @property
    def user_agent(self) -> str:
        """The User-Agent sent, with the contact and this pipeline's version filled in."""
        return self.politeness.user_agent_header


@dataclass(frozen=True)
class Validators:
    """What a previous 200 gave us to revalidate a page with (either may be missing)."""

    etag: str | None = None
    last_modified: str | None = None


class FetchKind(Enum):
    """How fetching a URL ended, for whoever counts and stores it."""

    OK = "ok"  # 200 with a body
    NOT_MODIFIED = "not_modified"  # 304
    GONE = "gone"  # 404/410: no page there
    ROBOTS_DISALLOWED = "robots_disallowed"  # not requested: the site's wish, not a failure
    ROBOTS_UNAVAILABLE = "robots_unavailable"  # not requested: robots.txt answered 5xx/nothing
    FAILED = "failed"  # after retries, or an answer we cannot use


# How flows.fetch words the two robots.txt refusals (the start of FetchResult.error).
ROBOTS_REFUSAL = "disallowed by robots.txt"
ROBOTS_UNAVAILABLE = "robots.txt unavailable"


@dataclass
class FetchResult:
    """The outcome of fetching one URL, after redirects and retries."""

    url: str
    final_url: str
    case_id: int | None
    lang: str | None
    status: int | None
    body: bytes | None
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    charset: str | None
    fetched_at: datetime
    attempts: int
    error: str | None = None
    # The case whose page this URL redirects to, when that is another case: a merge, taken
    # as this page gone (never a copy of that case under this id).
    merged_into: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None and self.merged_into is None

    @property
    def not_modified(self) -> bool:
        return self.status == 304 and self.error is None

    @property
    def gone(self) -> bool:
        gone = self.status in (404, 410) or self.merged_into is not None
        return gone and self.error is None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def kind(self) -> FetchKind:
        """The one place a result is classified; everything else reads the kind."""
        if self.error is None:
            if self.merged_into is not None:  # a merge: this id's page is gone (issue 24)
                return FetchKind.GONE
            if self.status == 200:
                return FetchKind.OK if self.body is not None else FetchKind.FAILED
            if self.status == 304:
                return FetchKind.NOT_MODIFIED
            if self.status in (404, 410):
                return FetchKind.GONE
        elif self.error.startswith(ROBOTS_REFUSAL):
            return FetchKind.ROBOTS_DISALLOWED
        elif self.error.startswith(ROBOTS_UNAVAILABLE):
            return FetchKind.ROBOTS_UNAVAILABLE
        return FetchKind.FAILED
