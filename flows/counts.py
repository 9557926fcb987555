"""A run's counts, typed: what the ``runs`` table keeps, the summary prints and the Prefect
artifacts show. No Prefect here.

Batches count into their own ``RunCounts`` and the run adds them up (``add``). ``as_row`` is
the one flat form (``runs`` columns and ``runs.extra``, the flow's returned summary), and
``from_row`` reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

# Scalar counts, in the order the flat form lists them. Seconds are the ``_s`` fields.
_INTS: tuple[str, ...] = (
    "discovered",
    "sitemap_urls",
    "sitemap_unchanged",
    "fetched",
    "not_modified",
    "unchanged_body",
    "parsed",
    "parse_failed",
    "new",
    "changed",
    "unchanged",
    "withdrawn",
    "gone",
    "known_beyond_probe",
    "robots_disallowed",
    "robots_unavailable",
    "parse_issues",
    "failed",
    "requests",
    "no_answer",
    "pages",
    "withdrawn_skipped",
    "merged",
    "merged_skipped",
    "revalidated",
    "deferred",
)
_SECONDS: tuple[str, ...] = ("fetch_s", "parse_s", "load_s")
# Taken, not added: the age of the oldest check among the pages we hold (flows.revisit).
_TAKEN: tuple[str, ...] = ("oldest_check_days",)


@dataclass
class LanguageCounts:
    """One language's pages: there (200, 304 or unchanged per the sitemap), fetched with a
    body, answered 404/410; and the active cases whose row it fills."""

    discovered: int = 0
    fetched: int = 0
    gone: int = 0
    cases: int = 0


@dataclass
class PrefixCounts:
    """Where probing one country prefix stopped, and the known cases past it."""

    stop: int = 0  # the last serial probed in sequence
    known_beyond: int = 0  # rechecked one by one all the same


@dataclass
class RunCounts:
    discovered: int = 0  # case pages that are there (200, 304, unchanged per sitemap)
    sitemap_urls: int = 0
    sitemap_unchanged: int = 0  # not requested: the sitemap dates them no later than ours
    fetched: int = 0
    not_modified: int = 0
    unchanged_body: int = 0
    parsed: int = 0
    parse_failed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    gone: int = 0
    known_beyond_probe: int = 0
    robots_disallowed: int = 0
    robots_unavailable: int = 0
    parse_issues: int = 0
    failed: int = 0  # fetch failures; the summary adds the parse failures
    requests: int = 0
    no_answer: int = 0
    pages: int = 0  # reparse: archived pages read
    withdrawn_skipped: int = 0  # reparse: pages of withdrawn cases, left as they are
    merged: int = 0  # ids whose page redirected to another case's page
    merged_skipped: int = 0  # reparse: pages that are another case's, left as they are
    revalidated: int = 0  # pages we held that were asked again (flows.revisit)
    deferred: int = 0  # pages due that a run left for later (revisit.max_pages_per_run)
    oldest_check_days: float = 0.0  # days since the oldest check among the pages we hold
    fetch_s: float = 0.0
    parse_s: float = 0.0  # summed over batches
    load_s: float = 0.0
    http: dict[int, int] = field(default_factory=dict)  # answers by HTTP status
    languages: dict[str, LanguageCounts] = field(default_factory=dict)
    prefixes: dict[int, PrefixCounts] = field(default_factory=dict)

    def lang(self, lang: str) -> LanguageCounts:
        return self.languages.setdefault(lang, LanguageCounts())

    def add(self, other: RunCounts) -> None:
        """Add ``other``'s counts to these (a prefix's stop is taken, not added)."""
        for name in (*_INTS, *_SECONDS):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for status, n in other.http.items():
            self.http[status] = self.http.get(status, 0) + n
        for lang, theirs in other.languages.items():
            mine = self.lang(lang)
            for f in fields(LanguageCounts):
                setattr(mine, f.name, getattr(mine, f.name) + getattr(theirs, f.name))
        self.prefixes.update(other.prefixes)
        for name in _TAKEN:
            setattr(self, name, max(getattr(self, name), getattr(other, name)))

    def as_row(self) -> dict[str, int | float]:
        """The flat form: every scalar count, ``http_{status}``, ``lang_{lang}_{count}`` for
        each language met and ``probe_stop_{prefix}``/``probe_known_beyond_{prefix}`` for
        each prefix probed; seconds rounded to milliseconds."""
        row: dict[str, int | float] = {name: getattr(self, name) for name in _INTS}
        row |= {name: round(getattr(self, name), 3) for name in (*_SECONDS, *_TAKEN)}
        row |= {f"http_{status}": n for status, n in sorted(self.http.items())}
        for lang, counts in self.languages.items():
            row |= {f"lang_{lang}_{f.name}": getattr(counts, f.name) for f in fields(counts)}
        for prefix, probe in sorted(self.prefixes.items()):
            row[f"probe_stop_{prefix}"] = probe.stop
            row[f"probe_known_beyond_{prefix}"] = probe.known_beyond
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, int | float]) -> RunCounts:
        """Read ``as_row``'s form back; names it does not write are ignored."""
        counts = cls()
        for name in (*_INTS, *_SECONDS, *_TAKEN):
            if name in row:
                setattr(counts, name, type(getattr(counts, name))(row[name]))
        lang_fields = {f.name for f in fields(LanguageCounts)}
        for key, value in row.items():
            kind, _, rest = key.partition("_")
            if kind == "http" and rest.isdigit():
                counts.http[int(rest)] = int(value)
            elif kind == "lang" and rest.partition("_")[2] in lang_fields:
                lang, _, name = rest.partition("_")
                setattr(counts.lang(lang), name, int(value))
            elif key.startswith("probe_stop_"):
                prefix = int(key.removeprefix("probe_stop_"))
                counts.prefixes.setdefault(prefix, PrefixCounts()).stop = int(value)
            elif key.startswith("probe_known_beyond_"):
                prefix = int(key.removeprefix("probe_known_beyond_"))
                counts.prefixes.setdefault(prefix, PrefixCounts()).known_beyond = int(value)
        return counts
