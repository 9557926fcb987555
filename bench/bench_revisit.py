"""Revisit benchmark (issue 23): a simulated year of weekly refreshes, requests counted at the
server, and how long each change took to reach the warehouse.

    python bench/bench_revisit.py [--cases 400] [--weeks 52] [--seed 1] [--no-write]
        [--languages en,es,pt] [--translated 0.02] [--scale-to 3131,3744] [--every 7]

One site server (latinno.sitemodel.server) on loopback, no sitemap (probing); the refresh flow
runs in this process with the clock set by ``LATINNO_NOW``, a week per run (``--every 1``: a
day per run, the changes of a week made on their days; costs are then also summed per week of
runs, and the known pages revalidated per run show whether a run takes a burst). With es/pt,
``--translated`` is the share of cases that also have them (1: every case in every language);
the other cases' es/pt pages are held back and one is published every week (a new translation
of a known case, bound: ``revisit.translation_days``).
Between runs: edits of a few cases (title changed), a case added just past the highest serial
of a prefix or in a gap inside the id range, now and then a case removed. After each run the
warehouse is read: an edit is seen when the new title is there, an addition when the case is,
a removal when it is withdrawn. Staleness = the run that saw it minus the time of the change.
After the year, four weeks without changes show what a no-change week costs. A baseline
no-change run with ``revisit.enabled: false`` (every page, every run) is measured on
the same warehouse. Every request at the server is classified by the site as it was during the
run: a page that is there, a language a known case lacks, an id in a gap below the highest
serial of its prefix, a probe past it, other (robots.txt). Scaled to ``--scale-to`` cases:
pages and missing languages × scale-to/(cases the site has in that run), gaps × the
generator's gap ids at scale-to over those at --cases (a few per prefix whatever the size),
probes past the end and robots.txt as they are.
Appended to bench/results/revisit.md with the machine and date.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from _machine import describe_machine
from _revisit_site import SCALED_KINDS, Site, mark_seen

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "revisit.md"
T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
REAL_SITE = 3744
QUIET_WEEKS = 4


def _refresh(base_url: str, db: Path, langs: tuple[str, ...], **revisit: Any) -> dict[str, Any]:
    from flows.refresh import refresh

    overrides = {
        "source": {"base_url": base_url, "discovery": "probe", "languages": list(langs)},
        "warehouse": {"path": str(db)},
        "politeness": {"rate": 0, "concurrency": 4},
        "revisit": revisit,
    }
    return asyncio.run(refresh(config_path=str(REPO / "config.yaml"), overrides=overrides))


Change = tuple[datetime, Callable[[], None]]


def _week_of_changes(site: Site, now: datetime, week: int, cases: int) -> list[Change]:
    """Changes during the week from ``now``, at random times: each made on the site after the
    last run before its time (with daily runs, on that day)."""
    rng = site.rng
    changes: list[Change] = []

    def at(change: Callable[..., None], **kwargs: Any) -> None:
        when = now + timedelta(days=rng.uniform(0.1, 6.9))
        changes.append((when, partial(change, when, **kwargs)))

    for _ in range(max(1, cases // 100)):
        at(site.edit)
    at(site.add, past_highest=week % 2 == 0)
    if week % 2 == 1:
        at(site.add, past_highest=False)
    if week % 3 == 2:
        at(site.remove)
    at(site.translate)
    return changes


def _simulate(opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    from latinno.sitemodel.generate import generate_site
    from latinno.sitemodel.server import run_server_in_thread

    root, langs, weeks = work / "site", opts.languages, opts.weeks
    generate_site(root, total=opts.cases, seed=opts.seed, languages=langs)
    site = Site(root, random.Random(opts.seed), langs)
    translated = site.hold_back_translations(opts.translated) if opts.translated < 1 else None
    db = work / "w.duckdb"
    runs: list[dict[str, Any]] = []
    pending: list[Change] = []
    every = timedelta(days=opts.every)
    with run_server_in_thread(root) as server:
        for run in range(round((weeks + QUIET_WEEKS) * 7 / opts.every)):
            now = T0 + every * run
            week = (now - T0) // timedelta(weeks=1)
            os.environ["LATINNO_NOW"] = now.isoformat()
            server.reset_stats()
            counts = _refresh(server.base_url, db, langs)["counts"]
            stats = server.stats()
            kinds = site.classify(stats["paths"])
            here = len(site.titles)  # the site grows and shrinks: scaled by its size then
            runs.append({"at": now, "week": week, "requests": stats["total_requests"]})
            runs[-1].update({"cases": here, **counts, **kinds})
            mark_seen(db, site, now)
            print(f"{now:%Y-%m-%d}: {stats['total_requests']} requests, {dict(kinds)}", flush=True)
            # Then a month without changes: what a no-change week costs.
            if week < weeks - 1 and now - every < T0 + timedelta(weeks=week):
                pending += _week_of_changes(site, T0 + timedelta(weeks=week), week, opts.cases)
            for change in sorted((c for c in pending if c[0] < now + every), key=lambda c: c[0]):
                change[1]()
            pending = [c for c in pending if c[0] >= now + every]
        # The same warehouse, every page asked (the policy off): the cost without it.
        os.environ["LATINNO_NOW"] = (T0 + every * len(runs)).isoformat()
        server.reset_stats()
        _refresh(server.base_url, db, langs, enabled=False)
        stats = server.stats()
        baseline = {"requests": stats["total_requests"], "cases": len(site.titles)}
        baseline.update(site.classify(stats["paths"]))
    return {
        "runs": runs,
        "changes": site.changes,
        "baseline": baseline,
        "cases": opts.cases,
        "translated": translated,
    }


def _gap_ids(cases: int, seed: int) -> int:
    """Ids inside the id ranges that are no case, on the site the generator makes."""
    from latinno.sitemodel.generate import allocate

    return sum(max(s, default=0) - len(s) for s in allocate(cases, random.Random(seed)).values())


def _scaled(run: dict[str, Any], cases: int, opts: argparse.Namespace) -> float:
    """Pages and missing languages × target/(cases the site had in that run), gaps × the
    generator's gap ids at the target over those at ``cases`` (a few per prefix whatever the
    size), the others as they are."""
    target = opts.scale_to
    pages = run.get("page", 0) + run.get("translation", 0)
    gaps = run.get("gap", 0) * _gap_ids(target, opts.seed) / _gap_ids(cases, opts.seed)
    return pages * target / run["cases"] + gaps + run["requests"] - pages - run.get("gap", 0)


def _setting(result: dict[str, Any], opts: argparse.Namespace) -> str:
    cases, langs = result["cases"], ",".join(opts.languages)
    translated = result["translated"]
    if len(opts.languages) == 1:
        which = ""
    elif translated is None:
        which = " (every case in every language)"
    else:
        which = f" ({translated} of them also in es/pt at the start; one more published a week)"
    return (
        f"{cases} cases{which}, languages {langs}, probing, no sitemap; runs {_every(opts)} for "
        f"{opts.weeks} weeks then {QUIET_WEEKS} weeks without changes, seed {opts.seed}; changes "
        "between runs: "
        f"{max(1, cases // 100)} edits of English titles a week, an addition past the highest "
        "serial every other week, one in a gap every other week, a removal (all languages) "
        f"every third week. Scaled to {opts.scale_to:,} cases: pages there and languages a case "
        f"lacks × {opts.scale_to}/(cases in that run: {cases} at first, "
        f"{result['runs'][-1]['cases']} at the end); ids in gaps × "
        f"{_gap_ids(opts.scale_to, opts.seed)}/{_gap_ids(cases, opts.seed)} (the generator's "
        f"gap ids at each size, seed {opts.seed}); probes past the last case and robots.txt "
        "as they are."
    )


def _by_week(runs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Runs grouped by the week they fall in (one each with weekly runs)."""
    weeks: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        weeks.setdefault(run["week"], []).append(run)
    return list(weeks.values())


def _cost_rows(result: dict[str, Any], opts: argparse.Namespace) -> list[str]:
    """Requests per run and, with runs more often than weekly, per week of runs."""
    weeks, cases, every = opts.weeks, result["cases"], _every(opts)
    runs = [r for r in result["runs"] if r["week"] < weeks]
    steady = [r for r in runs if r["week"] >= 5] or runs[1:]
    requests = [r["requests"] for r in steady]
    scaled = [_scaled(r, cases, opts) for r in steady]
    quiet = _by_week([r for r in result["runs"] if r["week"] >= weeks])
    quiet_scaled = [sum(_scaled(r, cases, opts) for r in week) for week in quiet]
    rows = [
        f"| | requests per run (weeks 5+) | scaled to {opts.scale_to:,} cases |",
        "|---|---|---|",
        f"| first run (full crawl) | {runs[0]['requests']} | |",
        f"| {every}, median | {statistics.median(requests):.0f} | "
        f"{statistics.median(scaled):.0f} |",
        f"| {every}, max | {max(requests)} | {max(scaled):.0f} |",
        f"| {every}, min | {min(requests)} | {min(scaled):.0f} |",
    ]
    if opts.every != 7:
        week_sums = [sum(r["requests"] for r in w) for w in _by_week(steady)]
        week_scaled = [sum(_scaled(r, cases, opts) for r in w) for w in _by_week(steady)]
        rows += [
            f"| a week of runs, median | {statistics.median(week_sums):.0f} | "
            f"{statistics.median(week_scaled):.0f} |",
            f"| a week of runs, max | {max(week_sums)} | {max(week_scaled):.0f} |",
        ]
    rows += [
        f"| no-change weeks after the year ({len(quiet)}), max | "
        f"{max(sum(r['requests'] for r in week) for week in quiet)} | {max(quiet_scaled):.0f} |",
        f"| every page every run (`revisit.enabled: false`) | {result['baseline']['requests']} | "
        f"{_scaled(result['baseline'], cases, opts):.0f} |",
        "",
        "Known pages revalidated per run (weeks 5+, unscaled): "
        + _spread_of([r.get("revalidated", 0) for r in steady])
        + "; requests without an answer (after retries) in all runs: "
        + f"{sum(r.get('no_answer', 0) for r in result['runs'])}, pages failed: "
        + f"{sum(r.get('failed', 0) for r in result['runs'])}",
        "",
        "No-change weeks by kind (unscaled): "
        + "; ".join(
            ", ".join(
                f"{k} {sum(r.get(k, 0) for r in week)}"
                for k in (*SCALED_KINDS, "past end", "other")
            )
            for week in quiet
        ),
    ]
    return rows


def _spread_of(values: list[int]) -> str:
    mean = statistics.fmean(values)
    return (
        f"median {statistics.median(values):.0f}, mean {mean:.1f}, min {min(values)}, "
        f"max {max(values)} ({max(values) / mean:.2f} × the mean)"
    )


def _every(opts: argparse.Namespace) -> str:
    return "weekly" if opts.every == 7 else f"every {opts.every:g} days"


def _report(result: dict[str, Any], opts: argparse.Namespace) -> str:
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {describe_machine()}",
        "",
        _setting(result, opts),
        "",
        *_cost_rows(result, opts),
        "",
        "| change | count | seen | max days to warehouse | mean days | bound |",
        "|---|---|---|---|---|---|",
    ]
    bounds = {"edit": 28, "removal": 28, "add past highest": 7, "add in a gap": 28}
    if result["translated"] is not None:
        bounds["new translation"] = 91
    for kind, bound in bounds.items():
        mine = [c for c in result["changes"] if c["kind"] == kind and c.get("seen", 0) is not None]
        judged = [c for c in mine if c["at"] < result["runs"][-1]["at"] - timedelta(days=bound)]
        waits = [(c["seen"] - c["at"]).total_seconds() / 86400 for c in judged if "seen" in c]
        unseen = len(judged) - len(waits)
        lines.append(
            f"| {kind} | {len(judged)} | {len(waits)} (unseen: {unseen}) | "
            f"{max(waits, default=0):.1f} | {statistics.fmean(waits) if waits else 0:.1f} | "
            f"{bound} |"
        )
    lines += [
        "",
        "Requests per run: " + ", ".join(str(r["requests"]) for r in result["runs"]),
        "",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--every", type=float, default=7.0, help="days between runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--languages", default="en", help="comma-separated, English first")
    parser.add_argument("--translated", type=float, default=1.0, help="share of cases in es/pt")
    parser.add_argument(
        "--scale-to", default=str(REAL_SITE), help="cases of the real site (comma-separated: each)"
    )
    parser.add_argument("--no-write", action="store_true")
    opts = parser.parse_args()
    opts.languages = tuple(lang.strip() for lang in opts.languages.split(",") if lang.strip())
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory(prefix="latinno-revisit-") as tmp:
        os.environ.setdefault("PREFECT_HOME", str(Path(tmp) / "prefect"))
        result = _simulate(opts, Path(tmp))
    text = ""
    for target in opts.scale_to.split(","):  # one simulation, a report per site size
        text += _report(result, argparse.Namespace(**{**vars(opts), "scale_to": int(target)}))
    print(text)
    if not opts.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        header = "" if RESULTS.exists() else "# Revisit benchmark (bench/bench_revisit.py)\n\n"
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(header + text)


if __name__ == "__main__":
    main()
