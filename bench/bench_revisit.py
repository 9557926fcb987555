"""Revisit benchmark (issue 23): a simulated year of weekly refreshes, requests counted at the
server, and how long each change took to reach the warehouse.

    python bench/bench_revisit.py [--cases 400] [--weeks 52] [--seed 1] [--no-write]
        [--languages en,es,pt] [--translated 0.02] [--scale-to 3744]

One site server (latinno.sitemodel.server) on loopback, no sitemap (probing); the refresh flow
runs in this process with the clock set by ``LATINNO_NOW``, a week per run. With es/pt,
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
from datetime import UTC, datetime, timedelta
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


def _week_of_changes(site: Site, now: datetime, week: int, cases: int) -> None:
    """Changes during the week after a run, at random times."""
    rng = site.rng
    for _ in range(max(1, cases // 100)):
        site.edit(now + timedelta(days=rng.uniform(0.1, 6.9)))
    site.add(now + timedelta(days=rng.uniform(0.1, 6.9)), past_highest=week % 2 == 0)
    if week % 2 == 1:
        site.add(now + timedelta(days=rng.uniform(0.1, 6.9)), past_highest=False)
    if week % 3 == 2:
        site.remove(now + timedelta(days=rng.uniform(0.1, 6.9)))
    site.translate(now + timedelta(days=rng.uniform(0.1, 6.9)))


def _simulate(opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    from latinno.sitemodel.generate import generate_site
    from latinno.sitemodel.server import run_server_in_thread

    root, langs, weeks = work / "site", opts.languages, opts.weeks
    generate_site(root, total=opts.cases, seed=opts.seed, languages=langs)
    site = Site(root, random.Random(opts.seed), langs)
    translated = site.hold_back_translations(opts.translated) if opts.translated < 1 else None
    db = work / "w.duckdb"
    runs: list[dict[str, Any]] = []
    with run_server_in_thread(root) as server:
        for week in range(weeks + QUIET_WEEKS):
            now = T0 + timedelta(weeks=week)
            os.environ["LATINNO_NOW"] = now.isoformat()
            server.reset_stats()
            counts = _refresh(server.base_url, db, langs)["counts"]
            stats = server.stats()
            kinds = site.classify(stats["paths"])
            here = len(site.titles)  # the site grows and shrinks: scaled by its size then
            runs.append({"week": week, "requests": stats["total_requests"], "cases": here})
            runs[-1].update({**counts, **kinds})
            mark_seen(db, site, now)
            print(f"week {week}: {stats['total_requests']} requests, {dict(kinds)}", flush=True)
            if week < weeks - 1:  # then a month without changes: what a no-change week costs
                _week_of_changes(site, now, week, opts.cases)
        # The same warehouse, every page asked (the policy off): the cost without it.
        os.environ["LATINNO_NOW"] = (T0 + timedelta(weeks=weeks + QUIET_WEEKS)).isoformat()
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
        f"{cases} cases{which}, languages {langs}, probing, no sitemap; {opts.weeks} weekly runs "
        f"then {QUIET_WEEKS} without changes, seed {opts.seed}; changes between runs: "
        f"{max(1, cases // 100)} edits of English titles a week, an addition past the highest "
        "serial every other week, one in a gap every other week, a removal (all languages) "
        f"every third week. Scaled to {opts.scale_to:,} cases: pages there and languages a case "
        f"lacks × {opts.scale_to}/(cases in that run: {cases} at first, "
        f"{result['runs'][-1]['cases']} at the end); ids in gaps × "
        f"{_gap_ids(opts.scale_to, opts.seed)}/{_gap_ids(cases, opts.seed)} (the generator's "
        f"gap ids at each size, seed {opts.seed}); probes past the last case and robots.txt "
        "as they are."
    )


def _report(result: dict[str, Any], opts: argparse.Namespace) -> str:
    weeks, target = opts.weeks, opts.scale_to
    runs, cases = result["runs"][:weeks], result["cases"]
    quiet = result["runs"][weeks:]
    steady = runs[5:] or runs[1:]
    requests = [r["requests"] for r in steady]
    scaled = [_scaled(r, cases, opts) for r in steady]
    quiet_scaled = [_scaled(r, cases, opts) for r in quiet]
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {describe_machine()}",
        "",
        _setting(result, opts),
        "",
        f"| | requests per run (weeks 5+) | scaled to {target:,} cases |",
        "|---|---|---|",
        f"| first run (full crawl) | {runs[0]['requests']} | |",
        f"| weekly, median | {statistics.median(requests):.0f} | {statistics.median(scaled):.0f} |",
        f"| weekly, max | {max(requests)} | {max(scaled):.0f} |",
        f"| weekly, min | {min(requests)} | {min(scaled):.0f} |",
        f"| no-change weeks after the year ({len(quiet)}), max | "
        f"{max(r['requests'] for r in quiet)} | {max(quiet_scaled):.0f} |",
        f"| every page every run (`revisit.enabled: false`) | {result['baseline']['requests']} | "
        f"{_scaled(result['baseline'], cases, opts):.0f} |",
        "",
        "No-change weeks by kind (unscaled): "
        + "; ".join(
            ", ".join(f"{k} {r.get(k, 0)}" for k in (*SCALED_KINDS, "past end", "other"))
            for r in quiet
        ),
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
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--languages", default="en", help="comma-separated, English first")
    parser.add_argument("--translated", type=float, default=1.0, help="share of cases in es/pt")
    parser.add_argument("--scale-to", type=int, default=REAL_SITE, help="cases of the real site")
    parser.add_argument("--no-write", action="store_true")
    opts = parser.parse_args()
    opts.languages = tuple(lang.strip() for lang in opts.languages.split(",") if lang.strip())
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory(prefix="latinno-revisit-") as tmp:
        os.environ.setdefault("PREFECT_HOME", str(Path(tmp) / "prefect"))
        result = _simulate(opts, Path(tmp))
    for run in result["runs"]:
        run["at"] = T0 + timedelta(weeks=run["week"])
    text = _report(result, opts)
    print(text)
    if not opts.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        header = "" if RESULTS.exists() else "# Revisit benchmark (bench/bench_revisit.py)\n\n"
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(header + text + "\n")


if __name__ == "__main__":
    main()
