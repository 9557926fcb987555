"""Rules the fetcher applies to what a site answers: which redirects it follows, how long it
waits when asked to, how much of a robots.txt it reads. Plain functions, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urlsplit

from flows.fetch_types import FetchResult
from latinno.pages import page_key

# RFC 9309 2.5: a crawler must parse at least the first 500 KiB of a robots.txt; a longer one
# is read that far, never refused as a body over max_body_bytes.
ROBOTS_LIMIT = 500 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)


@dataclass
class Attempt:
    """One request's outcome (after its retries, ``attempts`` of them)."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    attempts: int = 1
    # Fewer retries than http.max_retries for this kind of failure (a drip past max_request_s).
    max_retries: int | None = None


def fetch_result(
    url: str,
    final_url: str,
    outcome: Attempt,
    attempts: int,
    sent: tuple[str | None, str | None] = (None, None),
    moved: int | None = None,
) -> FetchResult:
    """The result of asking for ``url``, answered at ``final_url``; ``sent``: the validators
    asked with, ``moved``: the status of the first redirect on the way, if any."""
    asked, landed = page_key(url), page_key(final_url)
    # A redirect to another case's page is a merge: this id's page is gone, and the other
    # case is fetched (and counted) under its own id, never copied under this one.
    merged = asked is not None and landed is not None and landed.case_id != asked.case_id
    where = asked if merged else (landed or asked)
    got = outcome.headers
    etag = got.get("etag")
    last_modified = got.get("last-modified")
    if outcome.status == 304:
        # A 304 may omit validators; the ones we sent are still the page's.
        etag = etag or sent[0]
        last_modified = last_modified or sent[1]
    match = _CHARSET.search(got.get("content-type", ""))
    return FetchResult(
        url=url,
        final_url=final_url,
        case_id=where.case_id if where else None,
        lang=where.lang if where else None,
        status=moved if merged and moved else outcome.status,
        body=outcome.body if outcome.error is None and not merged else None,
        headers=got,
        etag=etag,
        last_modified=last_modified,
        charset=match.group(1).lower() if match else None,
        fetched_at=datetime.now(UTC),
        attempts=attempts,
        error=outcome.error,
        merged_into=landed.case_id if merged and landed and outcome.error is None else None,
    )


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def robots_text(body: bytes) -> str:
    """A robots.txt's text; one cut at ``ROBOTS_LIMIT`` loses its last, perhaps half, line."""
    if len(body) >= ROBOTS_LIMIT:
        body = body[: body.rfind(b"\n") + 1]
    return body.decode("utf-8", errors="replace")


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def too_large(cap: int, size: str, how: str = "") -> str:
    return f"body of {size} bytes{how} exceeds max_body_bytes ({cap}); refused"


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port out of range
        return None


def redirect_refusal(current: str, target: str, allowed_hosts: frozenset[str]) -> str | None:
    """Why a redirect from ``current`` to ``target`` (an allowed host) is not followed, or None.

    Another port of the same or another allowed host is another service (an internal one,
    perhaps): refused unless that ``host:port`` is allowed by name. So is https -> http: a
    downgrade would send the request, and take the answer, in clear text.
    """
    src, dst = urlsplit(current), urlsplit(target)
    lead = f"redirect from {current} to {target} refused"
    if src.scheme == "https" and dst.scheme == "http":
        return f"{lead}: a downgrade from https to http"
    both_default = _explicit_port(src) is None and _explicit_port(dst) is None
    if not both_default and _port(src) != _port(dst):
        named = f"{(dst.hostname or '').lower()}:{_port(dst)}"
        if named not in allowed_hosts:
            return f"{lead}: another port ({_port(src)} -> {_port(dst)})"
    return None


def _explicit_port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return -1
