"""The polite fetcher: one page in, one ``FetchResult`` out, never an exception for HTTP trouble.

Rules (issue 3): robots.txt obeyed (fetched once per host, Crawl-delay as a minimum spacing), a
per-host rate and concurrency cap, retries with exponential backoff and full jitter on timeouts,
connection errors, truncated bodies, 408, 429 and 5xx, honouring Retry-After (capped); other 4xx
are final. Bodies over ``max_body_bytes`` are refused while streaming, on the wire and while
decoding (gzip/deflate are decoded here in bounded steps, never by httpx in one go), and one
request (one attempt) lasts at most ``max_request_s`` however slowly its body drips; that
timeout is retried once at most, as is a refused connection to a host that never answered.
Redirects are followed (at most 5) only to allowed hosts, on the same port, never from https
to http (flows.fetch_rules). Validators turn a request into a conditional GET. A host asking
for a Crawl-delay or Retry-After beyond our caps is given up for the run; anything else going
wrong while fetching a page fails that page only.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from flows.client import (
    REFUSED,
    BodyTooLarge,
    BodyUndecodable,
    BoundedDecoder,
    build_client,
    content_codings,
    plain_reason,
    refused_reason,
)
from flows.fetch_rules import (
    ROBOTS_LIMIT,
    Attempt,
    fetch_result,
    host_key,
    redirect_refusal,
    retry_after_s,
    robots_text,
    too_large,
)
from flows.fetch_types import FetchPolicy, FetchResult
from flows.politeness import HostPolicy, RobotsRules
from flows.progress import SlowRequests
from latinno.errors import FetchError

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429})


class Fetcher:
    """Fetch pages politely under a ``FetchPolicy``; use as ``async with Fetcher(policy)``.

    A first URL on a host the policy does not allow raises FetchError (a programming error), a
    redirect to one is a failed result naming both URLs.

    Limits are per Fetcher: use one Fetcher (in one event loop) for everything a run fetches,
    or the host sees the sum of several fetchers' rates.
    """

    def __init__(self, policy: FetchPolicy, *, seed: int | None = None) -> None:
        self.policy = policy
        self.http, self.polite = policy.http, policy.politeness  # config.yaml's sections
        self._rng = random.Random(seed)
        self._hosts: dict[str, HostPolicy] = {}
        self._client: httpx.AsyncClient | None = None
        # Hosts that sent any HTTP answer, and why the others did not: a run that never heard
        # from its site has failed, whatever its pages say.
        self._answered: set[str] = set()
        self._silence: dict[str, str] = {}
        # Every request's answer, retries, robots.txt and sitemaps included: the run's counts
        # must equal what the site saw (status -> requests; 0: no answer at all).
        self.statuses: Counter[int] = Counter()
        self.merged = 0  # pages that redirected to another case's page
        self.waiting = SlowRequests(policy.http.timeout_s)  # past the read timeout: a drip

    async def __aenter__(self) -> Fetcher:
        # Room for a few hosts (redirect targets) at the per-host cap; the semaphores enforce it.
        self._client = build_client(
            user_agent=self.policy.user_agent,
            timeout_s=self.http.timeout_s,
            max_connections=self.polite.concurrency * 4,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- public ----------------------------------------------------------------------------

    def is_allowed(self, url: str) -> bool:
        """True when ``url`` is http(s) on one of the allowed hosts."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        host = parts.hostname.lower()
        try:
            port = parts.port
        except ValueError:  # out of range: no URL of any host
            return False
        return host in self.policy.allowed_hosts or f"{host}:{port}" in self.policy.allowed_hosts

    async def robots(self, url: str) -> RobotsRules:
        """The robots.txt rules of ``url``'s host, fetched once per host and kept."""
        return await self._robots_for(self._policy(url), url)

    async def unreachable(self, url: str) -> str | None:
        """Why ``url``'s host cannot be reached at all, or None when it answers.

        Asks for its robots.txt (with the usual retries; the rules are kept for the run), so
        a site where nothing listens fails before any page is planned.
        """
        policy = self._policy(url)
        if self.polite.obey_robots:
            await self._robots_for(policy, url)
        elif host_key(url) not in self._answered:
            await self._fetch_with_retries(policy, urljoin(url, "/robots.txt"), {})
        key = host_key(url)
        if key in self._answered:
            return None
        return self._silence.get(key, "no answer")

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url`` (conditionally when validators are given); never raises for HTTP.

        Whatever goes wrong while fetching it (an odd redirect httpx cannot even send, say)
        fails this page only: its result carries the reason.
        """
        if not self.is_allowed(url):
            raise FetchError(url, f"host not in allowed hosts {sorted(self.policy.allowed_hosts)}")
        if self._client is None:
            raise FetchError(url, "Fetcher used outside 'async with'")
        try:
            result = await self._get(url, etag, last_modified)
            self.merged += result.merged_into is not None
            return result
        except Exception as exc:  # one page's trouble, whatever it is, is that page's alone
            why = f"unexpected error while fetching: {type(exc).__name__}: {exc}"
            log.debug("%s: %s", url, why, exc_info=True)
            return fetch_result(url, url, Attempt(error=why, attempts=0), 0)

    async def _get(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempts = 0
        current = url
        moved: int | None = None  # the first redirect's status
        for _hop in range(MAX_REDIRECTS + 1):
            policy = self._policy(current)
            if self.polite.obey_robots:
                rules = await self._robots_for(policy, current)
                if not rules.can_fetch(current):
                    refusal = Attempt(error=rules.refusal(), attempts=0)
                    return fetch_result(url, current, refusal, attempts)
            outcome = await self._fetch_with_retries(policy, current, headers)
            attempts += outcome.attempts
            location = outcome.headers.get("location")
            if outcome.status in REDIRECT_STATUSES and outcome.error is None and location:
                target = urljoin(current, location)
                refused = self._redirect_refusal(current, target)
                if refused:
                    outcome.error = refused
                    return fetch_result(url, current, outcome, attempts, (etag, last_modified))
                moved = moved or outcome.status
                current = target
                continue
            if outcome.status == 304 and not headers and outcome.error is None:
                # "Not modified" since what? We sent no validators: there is no page to keep.
                outcome.error = "HTTP 304 (not modified) to a request without validators"
            return fetch_result(url, current, outcome, attempts, (etag, last_modified), moved)
        failure = Attempt(error=f"more than {MAX_REDIRECTS} redirects starting at {url}")
        return fetch_result(url, current, failure, attempts)

    def _redirect_refusal(self, current: str, target: str) -> str | None:
        if not self.is_allowed(target):
            return (
                f"redirect from {current} to {target} refused: "
                f"host not in allowed hosts {sorted(self.policy.allowed_hosts)}"
            )
        return redirect_refusal(current, target, self.policy.allowed_hosts)

    # -- internals -------------------------------------------------------------------------

    def _policy(self, url: str) -> HostPolicy:
        key = host_key(url)
        policy = self._hosts.get(key)
        if policy is None:
            policy = HostPolicy.create(self.polite.rate, self.polite.concurrency)
            self._hosts[key] = policy
        return policy

    async def _robots_for(self, policy: HostPolicy, url: str) -> RobotsRules:
        if policy.robots is not None:
            return policy.robots
        async with policy.robots_lock:
            if policy.robots is None:
                policy.robots = await self._load_robots(policy, url)
                delay = policy.robots.crawl_delay
                cap = self.polite.max_crawl_delay_s
                if self.polite.obey_robots and delay > cap:
                    self._give_up(
                        policy,
                        url,
                        f"asks for a Crawl-delay of {delay:g} s in robots.txt, more than "
                        f"politeness.max_crawl_delay_s ({cap:g} s)",
                    )
                elif self.polite.obey_robots and delay:
                    policy.limiter.set_min_interval(delay)
        return policy.robots

    def _give_up(self, policy: HostPolicy, url: str, why: str) -> str:
        """Request nothing more of ``url``'s host this run, and say so once."""
        if policy.gave_up is None:
            policy.gave_up = f"{urlsplit(url).netloc} {why}; not requested this run"
            log.warning("%s", policy.gave_up)
        return policy.gave_up

    async def _load_robots(self, policy: HostPolicy, url: str) -> RobotsRules:
        robots_url = urljoin(url, "/robots.txt")
        asker = policy
        for _hop in range(MAX_REDIRECTS + 1):
            outcome = await self._fetch_with_retries(asker, robots_url, {}, keep_first=ROBOTS_LIMIT)
            location = outcome.headers.get("location")
            if outcome.status in REDIRECT_STATUSES and location:
                # RFC 9309 2.3.1.2: follow at least five redirects, to another allowed host too
                # (latinno.net -> www, http -> https); its rules are this host's.
                target = urljoin(robots_url, location)
                refused = self._redirect_refusal(robots_url, target)
                if refused:
                    return RobotsRules.allow_all(self.policy.user_agent, refused)
                robots_url = target
                asker = self._policy(target)  # that host's limits for the request to it
                continue
            if outcome.status == 200 and outcome.error is None and outcome.body is not None:
                return RobotsRules.parse(robots_text(outcome.body), self.policy.user_agent)
            status = outcome.status
            if status is not None and 400 <= status < 500 and status not in RETRY_STATUSES:
                # RFC 9309 2.3.1.3: robots.txt "unavailable" (4xx) means no restrictions.
                return RobotsRules.allow_all(self.policy.user_agent)
            why = f"{status}" if status is not None else plain_reason(outcome.error or "no answer")
            return RobotsRules.unreachable(
                self.policy.user_agent, f"robots.txt unavailable ({why})"
            )
        return RobotsRules.allow_all(self.policy.user_agent, f"{robots_url}: too many redirects")

    async def _fetch_with_retries(
        self,
        policy: HostPolicy,
        url: str,
        headers: dict[str, str],
        keep_first: int | None = None,
    ) -> Attempt:
        if policy.gave_up is not None:
            return Attempt(error=policy.gave_up, attempts=0)
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(policy, url, headers, keep_first)
            outcome.attempts = attempt
            self.statuses[outcome.status or 0] += 1
            if outcome.status is not None:
                self._answered.add(host_key(url))
            elif outcome.error:
                self._silence[host_key(url)] = plain_reason(outcome.error)
            if not outcome.retryable or attempt > self._retries(url, outcome):
                if outcome.retryable and outcome.error is not None:
                    outcome.error = f"{outcome.error} (gave up after {attempt} attempts)"
                return outcome
            cap = self.http.retry_after_cap_s
            if outcome.retry_after is not None and outcome.retry_after > cap:
                # Waiting the cap and asking again would be retried for days; the host said
                # "not now": nothing more of it this run, and the run says so.
                why = (
                    f"asks to wait {outcome.retry_after:.0f} s (Retry-After), more than "
                    f"http.retry_after_cap_s ({cap:g} s)"
                )
                outcome.error = f"{outcome.error}: {self._give_up(policy, url, why)}"
                return outcome
            if outcome.retry_after is not None:
                # The host asked everyone to wait: hold back every request to it, not just ours.
                policy.limiter.defer(outcome.retry_after)
            else:
                ceiling = min(
                    self.http.backoff_max_s, self.http.backoff_base_s * 2 ** (attempt - 1)
                )
                await asyncio.sleep(self._rng.uniform(0.0, ceiling))

    def _retries(self, url: str, outcome: Attempt) -> int:
        """How often ``outcome``'s request may be retried: a host refusing before it ever
        answered is down (one quick retry, not a minute of backoff to say so, issue 21)."""
        limit = self.http.max_retries if outcome.max_retries is None else outcome.max_retries
        if outcome.error == REFUSED and host_key(url) not in self._answered:
            limit = 1
        return min(limit, self.http.max_retries)

    async def _attempt(
        self, policy: HostPolicy, url: str, headers: dict[str, str], keep_first: int | None
    ) -> Attempt:
        assert self._client is not None
        async with policy.slots:
            await policy.limiter.wait()
            try:
                # One request's whole time, however slowly its body drips: httpx's timeout
                # bounds each read, and a byte every few seconds never trips it.
                async with asyncio.timeout(self.http.max_request_s):
                    with self.waiting.watch(url):
                        return await self._exchange(url, headers, keep_first)
            except TimeoutError:  # a drip: five more would hold the run five times as long
                return Attempt(
                    error=f"timeout: the request took longer than max_request_s "
                    f"({self.http.max_request_s:g}s)",
                    retryable=True,
                    max_retries=1,
                )
            except httpx.TimeoutException as exc:
                return Attempt(error=f"timeout ({type(exc).__name__})", retryable=True)
            except httpx.InvalidURL as exc:  # e.g. a Location of mailto:, javascript:, data:
                return Attempt(error=f"unusable redirect: {exc}")
            except httpx.TransportError as exc:
                text = str(exc)
                if "location header" in text.lower():  # retrying gets the same header
                    return Attempt(error=f"unusable redirect: {text}")
                if isinstance(exc, httpx.RemoteProtocolError) and "message body" in text:
                    return Attempt(error=f"truncated body: {text}", retryable=True)
                name = type(exc).__name__
                refused = refused_reason(exc)
                return Attempt(
                    error=refused or f"connection error ({name}){': ' + text if text else ''}",
                    retryable=True,
                )
            except httpx.HTTPError as exc:  # decoding errors and the like: retrying won't help
                return Attempt(error=f"{type(exc).__name__}: {exc}")

    async def _exchange(
        self, url: str, headers: dict[str, str], keep_first: int | None = None
    ) -> Attempt:
        """One request; ``keep_first``: a longer body is cut to that many bytes, not refused."""
        assert self._client is not None
        cap = keep_first or self.http.max_body_bytes
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            got = {name.lower(): value for name, value in response.headers.items()}
            declared = got.get("content-length")
            too_long = declared is not None and declared.isdigit() and int(declared) > cap
            if too_long and not keep_first:
                return Attempt(status, got, error=too_large(cap, str(declared)))
            try:
                decoder = BoundedDecoder(content_codings(got.get("content-encoding")), cap)
                received = 0
                # Raw bytes, decoded by us in bounded steps (flows/client.py says why).
                async for chunk in response.aiter_raw():
                    received += len(chunk)
                    if received > cap and keep_first:
                        decoder.feed(chunk[: len(chunk) - (received - cap)])
                        return Attempt(status, got, decoder.partial())
                    if received > cap:
                        return Attempt(status, got, error=too_large(cap, f"more than {received}"))
                    decoder.feed(chunk)
                # Content-Length counts the bytes on the wire (before any decoding).
                if (
                    declared is not None
                    and declared.isdigit()
                    and status != 304
                    and received != int(declared)
                ):
                    error = f"truncated body: {received} of {declared} bytes"
                    return Attempt(status, got, error=error, retryable=True)
                body = decoder.finish()
            except BodyTooLarge as exc:
                if keep_first:
                    return Attempt(status, got, decoder.partial())
                how = f" decoded ({got.get('content-encoding', '')})"
                return Attempt(status, got, error=too_large(cap, f"more than {exc.size}", how))
            except BodyUndecodable as exc:
                return Attempt(status, got, error=str(exc))
        if status in RETRY_STATUSES or 500 <= status < 600:
            retry_after = retry_after_s(got.get("retry-after"))
            return Attempt(status, got, body, f"HTTP {status}", True, retry_after)
        if 400 <= status < 500 and status not in (404, 410):
            return Attempt(status, got, body, error=f"HTTP {status}")
        return Attempt(status, got, body)
