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

    @property
    def exit_code(self) -> int:
        """0 when every page ended fetched, not modified or gone; 2 when some still failed."""
        return 2 if self.counts.get("failed", 0) else 0

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
