"""A run's summary: what the CLI prints, the Prefect artifact shows and ``runs`` keeps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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
    ("robots_disallowed", "skipped: disallowed by robots.txt"),
    ("parse_issues", "parse issues"),
    ("failed", "failed (after retries, or unparseable)"),
)


@dataclass
class RunSummary:
    run_id: str
    db_path: str
    base_url: str
    counts: dict[str, int | float]  # parse_s and load_s are seconds (summed over batches)
    failed_urls: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    max_failure_share: float = 0.5  # http.max_failure_share of the run
    notes: list[str] = field(default_factory=list)  # e.g. a stale lock taken over
    reasons: dict[str, int] = field(default_factory=dict)  # failed pages by reason

    @property
    def exit_code(self) -> int:
        """0 when every page ended fetched, not modified or gone; 2 when some still failed."""
        return 2 if self.counts.get("failed", 0) else 0

    @property
    def requested(self) -> int:
        """Pages the run asked the site for, or meant to (a robots.txt refusal aside)."""
        kinds = ("fetched", "not_modified", "gone", "failed")
        return int(sum(self.counts.get(k, 0) for k in kinds) - self.counts.get("parse_failed", 0))

    @property
    def headline(self) -> str | None:
        """The first line a failed run prints: what went wrong, counted; None when it worked."""
        failed = int(self.counts.get("failed", 0))
        if not failed:
            return None
        unavailable = int(self.counts.get("robots_unavailable", 0))
        requested = max(self.requested, failed)
        share = failed / requested
        if unavailable:
            why = next((r for r in self.reasons if r.startswith("robots.txt")), "robots.txt")
            why = why.removesuffix("; not requested")
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
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        return cls(**data)


def summary_rows(summary: RunSummary) -> list[tuple[str, int]]:
    return [(label, int(summary.counts.get(key, 0))) for key, label in COUNT_LABELS]


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
    if summary.failed_urls:
        lines += ["", "## Failed pages", "", *(f"- {url}" for url in summary.failed_urls[:200])]
    return "\n".join(lines) + "\n"
