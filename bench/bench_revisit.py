"""Revisit benchmark (issue 23): a simulated year of weekly refreshes, requests counted at the
server, and how long each change took to reach the warehouse.

    python bench/bench_revisit.py [--cases 400] [--weeks 52] [--seed 1] [--no-write]

One site server (latinno.sitemodel.server) on loopback, English, no sitemap (probing); the
refresh flow runs in this process with the clock set by ``LATINNO_NOW``, a week per run.
Between runs: edits of a few cases (title changed), a case added just past the highest serial
of a prefix or in a gap inside the id range, now and then a case removed. After each run the
warehouse is read: an edit is seen when the new title is there, an addition when the case is,
a removal when it is withdrawn. Staleness = the run that saw it minus the time of the change.
After the year, four weeks without changes show what a no-change week costs. A baseline
no-change run with ``revisit.enabled: false`` (every page, every run) is measured on
the same warehouse. Requests are scaled to the 3,744-case site: revalidations × 3744/cases, the
probe part (misses past the last case, gaps) as it is, since it does not grow with cases.
Appended to bench/results/revisit.md with the machine and date.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "revisit.md"
T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
REAL_SITE = 3744
QUIET_WEEKS = 4


def _refresh(base_url: str, db: Path, **revisit: Any) -> dict[str, Any]:
    from flows.refresh import refresh

    overrides = {
        "source": {"base_url": base_url, "discovery": "probe"},
        "warehouse": {"path": str(db)},
        "politeness": {"rate": 0, "concurrency": 4},
        "revisit": revisit,
    }
    return asyncio.run(refresh(config_path=str(REPO / "config.yaml"), overrides=overrides))


class Site:
    """The simulated site: its cases on disk, and the changes made to it."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng = root, rng
        self.cases = root / "en" / "case"
        self.titles: dict[int, str] = {}  # as the HTML shows them
        for page in self.cases.glob("*/expected.json"):
            title = json.loads(page.read_text(encoding="utf-8"))["title"]
            self.titles[int(page.parent.name)] = title.replace("'", "&#39;")
        self.changes: list[dict[str, Any]] = []

    def edit(self, when: datetime) -> None:
        cid = self.rng.choice(sorted(self.titles))
        page = self.cases / str(cid) / "index.html"
        new = f"Edited council {cid} {len(self.changes)}"
        try:
            text = page.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # a page in another charset: edit another one
            return self.edit(when)
        if self.titles[cid] not in text:
            return self.edit(when)
        page.write_text(text.replace(self.titles[cid], new), encoding="utf-8")
        self.titles[cid] = new
        self.changes.append({"kind": "edit", "case": cid, "at": when, "title": new})

    def add(self, when: datetime, *, past_highest: bool) -> None:
        prefix = self.rng.choice(sorted({cid // 1000 for cid in self.titles}))
        mine = sorted(cid for cid in self.titles if cid // 1000 == prefix)
        if past_highest:
            cid = mine[-1] + 1
            kind = "add past highest"
        else:
            gaps = sorted(set(range(prefix * 1000 + 1, mine[-1])) - set(mine) - self.removed())
            if not gaps:
                return
            cid = self.rng.choice(gaps)
            kind = "add in a gap"
        shutil.copytree(self.cases / str(mine[0]), self.cases / str(cid))
        self.titles[cid] = self.titles[mine[0]]
        self.changes.append({"kind": kind, "case": cid, "at": when})

    def remove(self, when: datetime) -> None:
        cid = self.rng.choice(sorted(self.titles))
        shutil.rmtree(self.cases / str(cid))
        del self.titles[cid]
        self.changes.append({"kind": "removal", "case": cid, "at": when})

    def removed(self) -> set[int]:
        return {c["case"] for c in self.changes if c["kind"] == "removal"}


def _seen(db: Path, site: Site, now: datetime) -> None:
    """Mark every change the warehouse now shows with the run that showed it first."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT case_id, title, status FROM cases").fetchall()
    cases = {cid: (title, status) for cid, title, status in rows}
    for change in site.changes:
        if "seen" in change:
            continue
        row = cases.get(change["case"])
        kind = change["kind"]
        if kind == "edit":
            expected = change["title"]
            if row and row[0] == expected and site.titles.get(change["case"]) == expected:
                change["seen"] = now
            elif site.titles.get(change["case"]) != expected:
                change["seen"] = None  # edited again or removed before seen: not counted
        elif (kind.startswith("add") and row and row[1] == "active") or (
            kind == "removal" and row and row[1] == "withdrawn"
        ):
            change["seen"] = now


def _simulate(cases: int, weeks: int, seed: int, work: Path) -> dict[str, Any]:
    from latinno.sitemodel.generate import generate_site
    from latinno.sitemodel.server import run_server_in_thread

    root = work / "site"
    generate_site(root, total=cases, seed=seed)
    rng = random.Random(seed)
    site = Site(root, rng)
    db = work / "w.duckdb"
    runs: list[dict[str, Any]] = []
    with run_server_in_thread(root) as server:
        for week in range(weeks + QUIET_WEEKS):
            now = T0 + timedelta(weeks=week)
            os.environ["LATINNO_NOW"] = now.isoformat()
            server.reset_stats()
            counts = _refresh(server.base_url, db)["counts"]
            requests = server.stats()["total_requests"]
            runs.append({"week": week, "requests": requests, **counts})
            _seen(db, site, now)
            print(f"week {week}: {requests} requests, {counts.get('revalidated', 0)} revalidated")
            if week >= weeks - 1:
                continue  # then a month without changes: what a no-change week costs
            # Changes during the following week, at random times.
            for _ in range(max(1, cases // 100)):
                site.edit(now + timedelta(days=rng.uniform(0.1, 6.9)))
            site.add(now + timedelta(days=rng.uniform(0.1, 6.9)), past_highest=week % 2 == 0)
            if week % 2 == 1:
                site.add(now + timedelta(days=rng.uniform(0.1, 6.9)), past_highest=False)
            if week % 3 == 2:
                site.remove(now + timedelta(days=rng.uniform(0.1, 6.9)))
        # The same warehouse, every page asked (the policy off): the cost without it.
        os.environ["LATINNO_NOW"] = (T0 + timedelta(weeks=weeks)).isoformat()
        server.reset_stats()
        _refresh(server.base_url, db, enabled=False)
        baseline = server.stats()["total_requests"]
    return {"runs": runs, "changes": site.changes, "baseline": baseline, "cases": cases}


def _scaled(run: dict[str, Any], cases: int) -> float:
    pages = run.get("revalidated", 0)
    return pages * REAL_SITE / cases + (run["requests"] - pages)


def _report(result: dict[str, Any], weeks: int, seed: int) -> str:
    runs, cases = result["runs"][:weeks], result["cases"]
    quiet = result["runs"][weeks:]
    steady = runs[5:] or runs[1:]
    requests = [r["requests"] for r in steady]
    scaled = [_scaled(r, cases) for r in steady]
    base_scaled = result["baseline"] - cases + REAL_SITE  # its page part scaled
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {describe_machine()}",
        "",
        f"{cases} cases (en, probing, no sitemap), {weeks} weekly runs, seed {seed}; changes "
        f"between runs: {max(1, cases // 100)} edits a week, an addition past the highest serial "
        "every other week, one in a gap every other week, a removal every third week.",
        "",
        "| | requests per run (weeks 5+) | scaled to 3,744 cases |",
        "|---|---|---|",
        f"| first run (full crawl) | {runs[0]['requests']} | |",
        f"| weekly, median | {statistics.median(requests):.0f} | {statistics.median(scaled):.0f} |",
        f"| weekly, max | {max(requests)} | {max(scaled):.0f} |",
        f"| weekly, min | {min(requests)} | {min(scaled):.0f} |",
        f"| no-change weeks after the year ({len(quiet)}), max | "
        f"{max(r['requests'] for r in quiet)} | {max(_scaled(r, cases) for r in quiet):.0f} |",
        f"| every page every run (`revisit.enabled: false`) | {result['baseline']} | "
        f"{base_scaled:.0f} |",
        "",
        "| change | count | seen | max days to warehouse | mean days | bound |",
        "|---|---|---|---|---|---|",
    ]
    bounds = {"edit": 28, "removal": 28, "add past highest": 7, "add in a gap": 28}
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
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory(prefix="latinno-revisit-") as tmp:
        os.environ.setdefault("PREFECT_HOME", str(Path(tmp) / "prefect"))
        result = _simulate(args.cases, args.weeks, args.seed, Path(tmp))
    for run in result["runs"]:
        run["at"] = T0 + timedelta(weeks=run["week"])
    text = _report(result, args.weeks, args.seed)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        header = "" if RESULTS.exists() else "# Revisit benchmark (bench/bench_revisit.py)\n\n"
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(header + text + "\n")


if __name__ == "__main__":
    main()
