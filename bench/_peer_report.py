"""The peer benchmark's report (bench_peer.py): tables per size, where each target stands,
and the section written into bench/results/peer.md."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "peer.md"
FIXED_COST_HEADING = "## Fixed cost"


FULL_ROWS = (
    ("floor", "floor: bare httpx loop + parser, records → DuckDB"),
    ("scrapy", "Scrapy `SitemapSpider`, same parser, JSONL → DuckDB"),
    ("refresh_warm", "`latinno refresh`, warm Prefect server"),
    (
        "refresh_cold",
        "`latinno refresh`, cold: temporary Prefect server, first run on the machine",
    ),
    (
        "refresh_cold_kept",
        "`latinno refresh`, cold: temporary Prefect server, Prefect home kept (later runs)",
    ),
    ("scrapy_cache_first", "Scrapy with HTTP cache on, first run (fills the cache)"),
)
NOCHANGE_ROWS = (
    ("floor_conditional", "floor: bare httpx loop of conditional GETs (all 304)"),
    ("scrapy_cached", "Scrapy rerun, `HTTPCACHE` + `RFC2616Policy` (all revalidated, reparsed)"),
    ("refresh_revalidate", "`latinno refresh` no-change, every page revalidated (all 304)"),
    ("refresh_lastmod", "`latinno refresh` no-change, sitemap lastmod trusted (none asked)"),
)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}"


def size_table(size: dict[str, Any]) -> list[str]:
    runs = size["runs"]
    lines = [
        f"### {size['pages']:,} pages",
        "",
        "| run | wall s | rounds | × floor | × Scrapy | CPU s | CPU × floor | CPU × Scrapy | "
        "peak RSS MB, tree (median / max) | inside the flow s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, floor_kind, scrapy_kind in (
        (FULL_ROWS, "floor", "scrapy"),
        (NOCHANGE_ROWS, "floor_conditional", "scrapy_cached"),
    ):
        floor, scrapy = runs[floor_kind], runs[scrapy_kind]
        for kind, label in rows:
            if kind not in runs:
                continue
            r = runs[kind]
            flow = f"{r['flow']:.2f}" if "flow" in r else ""
            lines.append(
                f"| {label} | {r['wall']:.2f} | {' / '.join(map(str, r['walls']))} | "
                f"{_ratio(r['wall'], floor['wall'])} | {_ratio(r['wall'], scrapy['wall'])} | "
                f"{r['cpu']:.2f} | {_ratio(r['cpu'], floor['cpu'])} | "
                f"{_ratio(r['cpu'], scrapy['cpu'])} | "
                f"{r['rss_tree']:.0f} / {r['rss_tree_max']:.0f} | {flow} |"
            )
    return [*lines, ""]


# (label, size: "small" or "big", run, against, limit) for each target of issues 12 and 20.
TARGETS = (
    ("warm: refresh ≤ Scrapy", "small", "refresh_warm", "scrapy", 1.0),
    ("warm: refresh ≤ Scrapy (issue 20)", "big", "refresh_warm", "scrapy", 1.0),
    ("warm: refresh ≤ 0.8× Scrapy", "big", "refresh_warm", "scrapy", 0.8),
    ("warm: refresh ≤ 1.3× floor", "big", "refresh_warm", "floor", 1.3),
    (
        "no-change, all revalidated: refresh ≤ Scrapy's cached rerun",
        "big",
        "refresh_revalidate",
        "scrapy_cached",
        1.0,
    ),
    (
        "no-change, all revalidated: refresh ≤ 1.2× the conditional-GET floor",
        "big",
        "refresh_revalidate",
        "floor_conditional",
        1.2,
    ),
    ("cold, first run on the machine ≤ 1.5× warm", "big", "refresh_cold", "refresh_warm", 1.5),
    ("cold, later runs ≤ 1.5× warm", "big", "refresh_cold_kept", "refresh_warm", 1.5),
)


def _per_round(run: dict[str, Any], against: dict[str, Any]) -> str:
    """Each round's ratio, and their median: both runs of a round met the same machine load,
    so these move less than the ratio of the two medians does."""
    ratios = [a / b for a, b in zip(run["walls"], against["walls"], strict=True)]
    return f"{' / '.join(f'{r:.2f}' for r in ratios)} ({statistics.median(ratios):.2f})"


def targets(report: dict[str, Any]) -> list[str]:
    by = {s["pages"]: s["runs"] for s in report["sizes"]}
    # The targets are for a small run (300 pages) and the whole site (3,744).
    sizes = {"small": min(by, default=0), "big": max(by, default=0)}
    sizes = {k: v for k, v in sizes.items() if v and (v < 1000) == (k == "small")}
    lines = [
        "| target | wall ratio | limit | met | per round (median) | CPU ratio (for reference) |",
        "|---|---:|---:|---|---|---:|",
    ]
    for label, which, kind, against, limit in TARGETS:
        if which not in sizes:
            continue
        runs = by[sizes[which]]
        wall = runs[kind]["wall"] / runs[against]["wall"]
        cpu = runs[kind]["cpu"] / runs[against]["cpu"]
        lines.append(
            f"| {sizes[which]:,} pages, {label} | {wall:.2f}× | {limit:.2f}× | "
            f"{'yes' if wall <= limit else 'no'} | {_per_round(runs[kind], runs[against])} | "
            f"{cpu:.2f}× |"
        )
    if "big" not in sizes:
        return [*lines, ""]
    warm = by[sizes["big"]]["refresh_warm"]
    rss = warm["rss_tree_max"]
    lines.append(
        f"| {sizes['big']:,} pages, peak RSS of the warm refresh ≤ 400 MB "
        f"(max over rounds; the main process alone: {warm['rss']:.0f} MB) | {rss:.0f} MB | "
        f"400 MB | {'yes' if rss <= 400 else 'no'} | |"
    )
    return [*lines, ""]


def render(report: dict[str, Any]) -> str:
    lb = ", ".join(f"{x:.2f}" for x in report["load_before"])
    la = ", ".join(f"{x:.2f}" for x in report["load_after"])
    head = [
        f"## {report['date']}",
        "",
        f"Code: {report['code']}. Machine: {report['machine']}.",
        "",
        f"Load average (1, 5, 15 min) before: {lb}; after: {la} (the machine is shared with "
        "other work: read the ratios, not the seconds).",
        "",
        f"nginx {report['nginx']} on loopback serving the generated site (English pages only), "
        f"Scrapy {report['scrapy']}; concurrency {report['concurrency']} everywhere, no rate "
        f"limit, medians of {report['rounds']} interleaved rounds, wall-clock seconds of whole "
        "processes (interpreter start to exit); CPU s: user + system seconds of the whole "
        "process tree (they move less than wall-clock seconds when the machine is shared). Full "
        "runs are compared with the floor and Scrapy's plain run; no-change runs with the "
        "conditional-GET floor and Scrapy's cached rerun. Peak RSS: the process and all its "
        "descendants (for the cold run, Prefect's temporary server too). "
        '"Inside the flow": `runs.duration_s`.',
        "",
    ]
    body = [line for size in report["sizes"] for line in size_table(size)]
    return "\n".join([*head, *body, "Targets (issues 12 and 20):", "", *targets(report)])


def write_results(report: dict[str, Any]) -> None:
    """Add the run before the hand-written "Fixed cost" section, if there is one."""
    section = render(report)
    if not RESULTS.exists():
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "# Peer benchmark\n\n`python bench/bench_peer.py` adds a section per run "
            "(issue 12).\n\n" + section + "\n",
            encoding="utf-8",
        )
        return
    text = RESULTS.read_text(encoding="utf-8")
    at = text.find(f"\n{FIXED_COST_HEADING}")
    if at < 0:
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + section + "\n", encoding="utf-8")
    else:
        RESULTS.write_text(
            text[:at].rstrip("\n") + "\n\n" + section + "\n" + text[at:], encoding="utf-8"
        )
