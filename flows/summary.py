"""A run's summary: what the CLI prints, the Prefect artifact shows and ``runs`` keeps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from flows.counts import RunCounts
from latinno.vocabulary import LANGS

LANG_ORDER: tuple[str, ...] = tuple(LANGS)

# Order and wording of the counts, as shown to people.
COUNT_LABELS: tuple[tuple[str, str], ...] = (
    ("discovered", "case pages discovered"),
    ("fetched", "fetched (200)"),
    ("not_modified", "not modified (304)"),
    ("sitemap_unchanged", "unchanged per sitemap lastmod (not requested)"),
    ("unchanged_body", "fetched, body unchanged"),
    ("parsed", "parsed"),
    ("new", "new cases"),
    ("changed", "changed cases"),
    ("unchanged", "unchanged cases"),
    ("withdrawn", "withdrawn"),
    ("gone", "404/410 answers (probes included)"),
    ("known_beyond_probe", "known cases past where probing stopped (rechecked)"),
    ("robots_disallowed", "skipped: disallowed by robots.txt"),
    ("parse_issues", "parse issues"),
    ("failed", "failed (after retries, or unparseable)"),
    ("requests", "HTTP requests (retries, robots.txt, sitemap included)"),
    ("no_answer", "requests answered by nothing (reset, timeout)"),
)


@dataclass
class RunSummary:
    run_id: str
    db_path: str
    base_url: str
    counts: RunCounts
    failed_urls: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    max_failure_share: float = 0.5  # http.max_failure_share of the run
    notes: list[str] = field(default_factory=list)  # e.g. a stale lock taken over
    reasons: dict[str, int] = field(default_factory=dict)  # failed pages by reason
    robots_note: str | None = None  # why robots.txt kept pages unrequested (5xx, no answer)

    @property
    def exit_code(self) -> int:
        """0 when every page ended fetched, not modified or gone; 2 when some still failed."""
        return 2 if self.counts.failed else 0

    @property
    def requested(self) -> int:
        """Pages the run asked the site for, or meant to (a robots.txt refusal aside)."""
        c = self.counts
        return c.fetched + c.not_modified + c.gone + c.failed - c.parse_failed

    @property
    def headline(self) -> str | None:
        """The first line a failed run prints: what went wrong, counted; None when it worked."""
        failed = self.counts.failed
        if not failed:
            return None
        unavailable = self.counts.robots_unavailable
        requested = max(self.requested, failed)
        share = failed / requested
        if unavailable:
            why = (self.robots_note or "robots.txt").removesuffix("; not requested")
            return (
                f"failed: {why} at {self.base_url}, so {unavailable} pages were not requested "
                f"(RFC 9309); {failed} of {requested} pages failed"
            )
        if share > self.max_failure_share:
            return (
                f"failed: most pages failed, {failed} of {requested} ({share:.0%}, more than "
                f"http.max_failure_share {self.max_failure_share:.0%}); the rest were loaded"
            )
        return f"{failed} of {requested} pages failed after retries; the rest were loaded"

    def as_dict(self) -> dict[str, Any]:
        """Plain values; the counts in their flat form (``RunCounts.as_row``)."""
        data = asdict(self)
        data["counts"] = self.counts.as_row()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        return cls(**{**data, "counts": RunCounts.from_row(data["counts"])})


def summary_rows(summary: RunSummary) -> list[tuple[str, int]]:
    return [(label, int(getattr(summary.counts, key))) for key, label in COUNT_LABELS]


# Per language (``LanguageCounts``): pages that are there (200, 304 or unchanged per the
# sitemap), fetched with a body, answered 404/410, and active cases whose row it fills.
LANGUAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("discovered", "pages discovered"),
    ("fetched", "fetched (200)"),
    ("gone", "404/410"),
    ("cases", "cases it fills"),
)


def language_rows(summary: RunSummary) -> list[tuple[str, ...]]:
    """One row per language the run met: the language, then the ``LANGUAGE_COLUMNS`` counts."""
    languages = summary.counts.languages
    langs = sorted(
        languages, key=lambda lang: (LANG_ORDER.index(lang) if lang in LANG_ORDER else 9, lang)
    )
    return [
        (lang, *(str(getattr(languages[lang], key)) for key, _ in LANGUAGE_COLUMNS))
        for lang in langs
    ]


def probe_rows(summary: RunSummary) -> list[tuple[int, int, int]]:
    """Per probed prefix: the last serial probed in sequence, and the known cases past it
    (rechecked one by one all the same; 0 unless ``source.max_serial`` is below them)."""
    prefixes = summary.counts.prefixes
    return [(p, prefixes[p].stop, prefixes[p].known_beyond) for p in sorted(prefixes)]


def summary_table(summary: RunSummary) -> list[dict[str, Any]]:
    """The key numbers of a run, one row per count: the run's Prefect table artifact."""
    return [{"what": label, "count": count} for label, count in summary_rows(summary)] + [
        {"what": "duration (s)", "count": round(summary.duration_s, 1)}
    ]


def summary_markdown(summary: RunSummary) -> str:
    lines = [
        f"# LATINNO refresh `{summary.run_id}`",
        "",
        f"Source: {summary.base_url} · warehouse: `{summary.db_path}` · {summary.duration_s:.1f} s",
        "",
        "| what | count |",
        "|---|---:|",
        *(f"| {label} | {count} |" for label, count in summary_rows(summary)),
    ]
    languages = language_rows(summary)
    if languages:
        lines += [
            "",
            "## By language",
            "",
            "| language | " + " | ".join(label for _, label in LANGUAGE_COLUMNS) + " |",
            "|---|" + "---:|" * len(LANGUAGE_COLUMNS),
            *("| " + " | ".join(row) + " |" for row in languages),
        ]
    probes = probe_rows(summary)
    if probes:
        lines += [
            "",
            "## Probing",
            "",
            "| prefix | stopped after serial | known cases past it |",
            "|---:|---:|---:|",
            *(f"| {p} | {stop} | {beyond} |" for p, stop, beyond in probes),
        ]
    if summary.failed_urls:
        lines += ["", "## Failed pages", "", *(f"- {url}" for url in summary.failed_urls[:200])]
    return "\n".join(lines) + "\n"
