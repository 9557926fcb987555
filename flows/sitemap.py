"""Reading a site's sitemaps, and choosing from them the case pages to ask for.

A sitemap's ``<lastmod>`` values come back with its URLs (:func:`read_sitemap_entries`), so a
refresh may skip unchanged pages; :func:`sitemap_pages` chooses the pages of every case to ask
for, in every configured language.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from datetime import time as dt_time
from email.utils import parsedate_to_datetime

from flows.client import BodyTooLarge, BodyUndecodable, BoundedDecoder
from flows.fetch import Fetcher
from flows.fetch_types import Validators
from latinno.pages import PageKey, page_key

log = logging.getLogger(__name__)

MAX_SITEMAP_FILES = 50


# W3C datetime (https://www.w3.org/TR/NOTE-datetime), the sitemap protocol's lastmod format:
# YYYY, YYYY-MM, YYYY-MM-DD, or a date with hh:mm[:ss[.s+]] and a zone (Z or +hh:mm/-hh:mm).
_W3C_DATETIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2}))?)?)?"
)


def parse_w3c_datetime(text: str) -> datetime | None:
    """An aware UTC datetime from a W3C datetime; None when ``text`` is not one.

    Date-only forms mean the start of that day (month, year) in UTC. A time without a zone is
    not W3C and is refused rather than guessed: a wrong zone could hide a change for hours.
    """
    match = _W3C_DATETIME.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        offset = UTC
        if zone not in (None, "Z"):
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if minutes > 59:
                return None
            offset = timezone(sign * timedelta(hours=hours, minutes=minutes))
        stamp = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=offset,
        )
        return stamp.astimezone(UTC)
    except (ValueError, OverflowError):  # month 13, hour 25, zone beyond 24 h, year 0 west of UTC
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sitemap_entries(
    body: bytes, url: str, max_bytes: int
) -> tuple[dict[str, datetime | None], bool] | None:
    """``({location: lastmod}, is_index)`` of a sitemap or sitemap index; None if not one.

    A gzipped file (sitemap.xml.gz) is decoded in bounded steps, refused past ``max_bytes``
    like any body: 1 MB of gzip can claim gigabytes.
    """
    if body[:2] == b"\x1f\x8b":
        decoder = BoundedDecoder(["gzip"], max_bytes)
        try:
            decoder.feed(body)
            body = decoder.finish()
        except BodyUndecodable:
            log.warning("%s: not a valid gzip sitemap; ignored", url)
            return None
        except BodyTooLarge:
            log.warning(
                "%s: gzipped sitemap decodes to more than max_body_bytes (%d); ignored",
                url,
                max_bytes,
            )
            return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        log.warning("%s: not a valid sitemap (%s); ignored", url, exc)
        return None
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        log.warning("%s: root element <%s> is not a sitemap; ignored", url, kind)
        return None
    entries: dict[str, datetime | None] = {}
    bad: list[str] = []
    # Only <loc>/<lastmod> directly inside each <url>/<sitemap>: extensions such as image:loc
    # nest deeper and name no page.
    for item in root:
        fields = {_local(child.tag): (child.text or "").strip() for child in item}
        loc = fields.get("loc")
        if not loc:
            continue
        lastmod = None
        if fields.get("lastmod"):
            lastmod = parse_w3c_datetime(fields["lastmod"])
            if lastmod is None:
                bad.append(fields["lastmod"])
        entries[loc] = _later(entries[loc], lastmod) if loc in entries else lastmod
    if bad:
        # One line per file, not per entry: a site that gets the format wrong gets it wrong
        # everywhere.
        log.warning(
            "%s: %d lastmod values are not W3C datetimes (such as %r); read as unknown",
            url,
            len(bad),
            bad[0],
        )
    return entries, kind == "sitemapindex"


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    """A URL listed twice: the later lastmod, or unknown if either is (so it is fetched)."""
    if a is None or b is None:
        return None
    return max(a, b)


async def read_sitemap_entries(
    fetcher: Fetcher, base_url: str, *, cases_only: bool = True
) -> dict[str, datetime | None] | None:
    """Case URLs, each with its ``<lastmod>`` (aware, UTC; None when absent or unreadable).

    The sitemaps are those robots.txt names, else ``/sitemap.xml``; None when neither offers
    one (the caller then probes ids). Sitemap indexes are followed (at most 50 files); URLs on
    hosts that are not allowed are dropped, and with ``cases_only`` so is everything that is
    not a case page. URLs keep sitemap order. A date-only lastmod is midnight UTC of that day,
    so a page changed later that day still carries it: compare dates, not instants, then.
    """
    rules = await fetcher.robots(base_url)
    queue = [u for u in rules.sitemaps if fetcher.is_allowed(u)]
    dropped = [u for u in rules.sitemaps if not fetcher.is_allowed(u)]
    if dropped:
        log.warning("robots.txt names sitemaps on hosts not allowed, ignored: %s", dropped)
    if not queue:
        queue = [f"{base_url.rstrip('/')}/sitemap.xml"]
    seen: set[str] = set()
    found = False
    urls: dict[str, datetime | None] = {}
    while queue and len(seen) < MAX_SITEMAP_FILES:
        sitemap = queue.pop(0)
        if sitemap in seen:
            continue
        seen.add(sitemap)
        result = await fetcher.get(sitemap)
        if not result.ok or result.body is None:
            if not result.gone:
                log.warning("sitemap %s not read: %s", sitemap, result.error or result.status)
            continue
        parsed = _sitemap_entries(result.body, sitemap, fetcher.policy.http.max_body_bytes)
        if parsed is None:
            continue
        found = True
        entries, is_index = parsed
        if is_index:
            queue.extend(u for u in entries if fetcher.is_allowed(u) and u not in seen)
            continue
        for loc, lastmod in entries.items():
            if not fetcher.is_allowed(loc):
                continue
            if cases_only and page_key(loc) is None:
                continue
            urls[loc] = _later(urls[loc], lastmod) if loc in urls else lastmod
    if left := [u for u in dict.fromkeys(queue) if u not in seen]:
        # A site with more sitemap files than we read: say so, or its other cases go unseen.
        log.warning(
            "more than %d sitemap files; %d not read (such as %s): their cases are found only "
            "if known already",
            MAX_SITEMAP_FILES,
            len(left),
            left[0],
        )
    return urls if found else None


async def read_sitemap(
    fetcher: Fetcher, base_url: str, *, cases_only: bool = True
) -> list[str] | None:
    """The URLs of :func:`read_sitemap_entries`, in sitemap order, without their lastmods."""
    entries = await read_sitemap_entries(fetcher, base_url, cases_only=cases_only)
    return None if entries is None else list(entries)


# --- the sitemap's lastmod and ids ---------------------------------------------------------


def _key(url: str) -> PageKey:
    return page_key(url) or PageKey(0, "")


def sitemap_lastmods(entries: Mapping[str, datetime | None]) -> dict[PageKey, datetime]:
    """The sitemap's lastmod of every case page it lists that has one."""
    return {_key(url): when for url, when in entries.items() if when is not None and _key(url)[0]}


@dataclass(frozen=True)
class Listing:
    """The case pages a sitemap lists, and the languages it lists any page in: made once per
    run (``flows.revisit.leave_alone`` asks per case; finding the languages there cost cases
    × pages)."""

    keys: Collection[PageKey]
    langs: frozenset[str]

    @classmethod
    def of(cls, keys: Collection[PageKey]) -> Listing:
        return cls(keys, frozenset(key.lang for key in keys))


def unchanged_per_sitemap(
    key: PageKey,
    lastmods: Mapping[PageKey, datetime],
    validators: Mapping[PageKey, Validators],
) -> bool:
    """True when the sitemap's lastmod names the Last-Modified of our stored copy, to the second.

    Both come from the site's clock. A lastmod that differs in either direction means fetch: a
    later one is an edit, an earlier one a page restored from a backup (issue 21), which an
    "older than our copy" rule would skip forever. A midnight lastmod may be a bare date
    (``YYYY-MM-DD``, which the sitemap protocol allows): it is compared as a date, with the
    UTC day of our copy (issue 23). A second edit later that same day is then seen by the
    revisit policy's safety share (flows.revisit), not by the sitemap.
    """
    lastmod = lastmods.get(key)
    ours_validators = validators.get(key)  # absent for --full and for stale cases
    if lastmod is None or ours_validators is None or not ours_validators.last_modified:
        return False
    try:
        ours = parsedate_to_datetime(ours_validators.last_modified)
    except (TypeError, ValueError):
        return False
    if ours.tzinfo is None:
        ours = ours.replace(tzinfo=UTC)
    if lastmod.time() == dt_time(0, 0):
        return lastmod.date() == ours.astimezone(UTC).date()
    return lastmod.replace(microsecond=0) == ours.replace(microsecond=0)


def sitemap_pages(
    urls: Iterable[str],
    languages: Sequence[str],
    prefixes: Collection[int],
    known_ids: Iterable[int],
    held: Collection[PageKey],
) -> list[list[PageKey]]:
    """The pages to ask for, one group per case (sorted by id, languages in configured order).

    A case is every id the sitemap lists in any language, and every known id, within
    ``prefixes``. Of its configured languages it is asked in those the sitemap lists for it,
    those we hold a page in (``held``: a page that went must answer 404 before the case can
    be withdrawn), and those the sitemap lists no page in at all (a sitemap of one language
    says nothing about the others). A known case left with none is asked in the first
    language; an unknown one listed only in languages not configured is not asked.
    """
    listed: set[PageKey] = set()
    for url in urls:
        key = page_key(url)
        if key is not None and key.case_id // 1000 in prefixes:
            listed.add(key)
    known = {cid for cid in known_ids if cid // 1000 in prefixes}
    covered = {key.lang for key in listed}
    groups = []
    for cid in sorted({key.case_id for key in listed} | known):
        langs = [
            lang
            for lang in languages
            if PageKey(cid, lang) in listed or (cid, lang) in held or lang not in covered
        ]
        if not langs and cid in known:
            langs = [languages[0]]
        if langs:
            groups.append([PageKey(cid, lang) for lang in langs])
    return groups
