"""Peer benchmark (issue 12): `latinno refresh` against a bare floor and a Scrapy spider.

    python bench/bench_peer.py [--sizes 300,3744] [--rounds 3] [--concurrency 8] [--at REV]
                               [--no-write] [--keep]

The generated site (English pages only: ``latinno.sitemodel.generate``) is served by nginx on
loopback,
so the server is never the bottleneck; nginx answers conditional GETs with 304 (ETag and
Last-Modified of the files) and sends ``Cache-Control: max-age=0`` so that Scrapy's RFC 2616
cache revalidates every page, as our no-change run does. robots.txt names the sitemap, whose
``<lastmod>`` are the files' mtimes. Per round and size, each a whole process, in an order that
rotates between rounds:

- floor: a bare httpx loop over the case URLs with the project's parser (bench_refresh's floor),
  records into DuckDB at the end;
- Scrapy: a ``SitemapSpider`` (robots.txt obeyed, the sitemap read, the same parser in the
  callback), a JSONL feed loaded into DuckDB at the end; and, as the no-change peer, a first run
  with ``HTTPCACHE_ENABLED`` and ``RFC2616Policy`` followed by a rerun (every page a
  conditional GET answered 304, parsed again from the cache);
- ``latinno refresh`` (``source.discovery: sitemap``): full with a warm Prefect server (started
  once by this script); full cold (no PREFECT_API_URL: Prefect's temporary server), first
  with a fresh PREFECT_HOME (the first run on a machine: the temporary server creates its
  database) and then again with that home kept (every later run); no-change
  with every page revalidated (``trust_sitemap_lastmod: false``) and trusting the sitemap;
- the no-change floor: a bare httpx loop of conditional GETs with the validators of a first pass.

Scrapy lives in its own virtualenv under bench/.work/ (created on first use; the parser's
dependencies at the versions of requirements.lock), never in the project's .venv. ``--at REV``
measures a commit's files (``git archive``) instead of the working tree. Medians over rounds of
wall-clock and CPU seconds (user + system of the whole process tree), peak RSS of each whole
process tree (sampled from /proc: Prefect's temporary server included), ratios
against the floor and against Scrapy, written to bench/results/peer.md with the machine, the
date and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _machine import describe_machine
from _peer_report import RESULTS, write_results
from _peer_setup import (
    CONDITIONAL_SCRIPT,
    FLOOR_TO_DUCKDB,
    SCRAPY_SCRIPT,
    SCRAPY_VERSION,
    code_tree,
    measure,
    nginx_binary,
    nginx_version,
    scrapy_python,
    start_nginx,
    start_prefect_server,
    stop_group,
)
from bench_refresh import WORK

REPO = Path(__file__).resolve().parent.parent
LATINNO = str(REPO / ".venv" / "bin" / "latinno")

REFRESH_KINDS = ("refresh_warm", "refresh_revalidate", "refresh_lastmod")


# -- one measurement each -----------------------------------------------------------------------


class SizeRun:
    """Everything one site size needs across rounds: URLs, validators, configs, results."""

    def __init__(self, size: int, site: Path, base: str, tmp: Path) -> None:
        self.size = size
        self.site = site
        self.base = base
        self.dir = tmp / f"size-{size}"
        self.dir.mkdir()
        ids = sorted(int(p.name) for p in (site / "en" / "case").iterdir())
        self.pages = len(ids)
        self.urls = [f"{base}/en/case/{i}/" for i in ids]
        self.validators = self.dir / "validators.json"
        self.config = self.dir / "peer.yaml"
        self.config.write_text("source:\n  discovery: sitemap\n")
        self.revalidate = self.dir / "revalidate.yaml"
        # Every page asked again: the revisit policy (issue 23) would ask only those due.
        self.revalidate.write_text(
            "source:\n  discovery: sitemap\n  trust_sitemap_lastmod: false\n"
            "revisit:\n  enabled: false\n"
        )
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def add(self, kind: str, measured: dict[str, Any]) -> None:
        measured.pop("stdout", None)
        self.rows.setdefault(kind, []).append(measured)


async def _collect_validators(urls: list[str], concurrency: int) -> list[list[str]]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        async def one(url: str) -> list[str]:
            async with sem:
                r = await client.get(url)
            r.raise_for_status()
            return [url, r.headers["etag"], r.headers["last-modified"]]

        return await asyncio.gather(*(one(u) for u in urls))


def measure_floor(s: SizeRun, env: dict[str, str], conc: int, round_no: int) -> None:
    db = s.dir / f"floor-{round_no}.duckdb"
    cmd = [sys.executable, str(s.dir.parent / "floor.py"), str(conc), str(db)]
    measured = measure(cmd, env, "\n".join(s.urls))
    count = int(measured["stdout"].split()[0])
    assert count == s.pages, f"floor parsed {count} of {s.pages} pages"
    assert duck_count(db, "SELECT count(*) FROM cases") == s.pages
    s.add("floor", measured)


def measure_conditional(s: SizeRun, env: dict[str, str], conc: int, round_no: int) -> None:
    cmd = [sys.executable, str(s.dir.parent / "conditional.py"), str(conc), str(s.validators)]
    measured = measure(cmd, env)
    count = int(measured["stdout"].split()[0])
    assert count == s.pages, f"conditional floor: {count} of {s.pages} answered 304"
    s.add("floor_conditional", measured)


def measure_scrapy(s: SizeRun, env: dict[str, str], conc: int, round_no: int, python: Path) -> None:
    def crawl(kind: str, cache: Path | None, db: Path) -> dict[str, Any]:
        feed = s.dir / f"{kind}-{round_no}.jsonl"
        spider = s.dir.parent / "peer_spider.py"
        cmd = [str(python), str(spider), s.base, str(feed), str(db), str(conc)]
        measured = measure([*cmd, str(cache) if cache else "-"], env)
        stats = json.loads(measured["stdout"].strip().splitlines()[-1])
        assert stats["items"] == s.pages, f"{kind}: {stats['items']} of {s.pages} items"
        measured["stats"] = stats
        return measured

    s.add("scrapy", crawl("scrapy", None, s.dir / f"scrapy-{round_no}.duckdb"))
    cache = s.dir / f"httpcache-{round_no}"
    db = s.dir / f"scrapy-cached-{round_no}.duckdb"
    s.add("scrapy_cache_first", crawl("scrapy_cache_first", cache, db))
    rerun = crawl("scrapy_cached", cache, db)
    revalidated = rerun["stats"].get("httpcache/revalidate", 0)
    # Every case page (plus robots.txt and the sitemap) must have been asked and answered 304.
    assert revalidated >= s.pages, f"Scrapy rerun: {revalidated} of {s.pages} revalidated, {rerun}"
    s.add("scrapy_cached", rerun)


def refresh_cmd(s: SizeRun, db: Path, conc: int, config: Path) -> list[str]:
    return [
        LATINNO,
        "refresh",
        "--config",
        str(config),
        "--base-url",
        s.base,
        "--db",
        str(db),
        "--rate",
        "0",
        "--concurrency",
        str(conc),
    ]


def last_run(db: Path) -> dict[str, Any]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(
            "SELECT duration_s, fetched, not_modified, discovered FROM runs "
            "ORDER BY started_at DESC LIMIT 1"
        )
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
    if row is None:
        raise SystemExit(f"{db}: the refresh recorded no run")
    return dict(zip(names, row, strict=True))


def duck_count(db: Path, sql: str) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def measure_refresh(s: SizeRun, env: dict[str, str], conc: int, round_no: int) -> None:
    db = s.dir / f"refresh-{round_no}.duckdb"
    for kind, config in zip(REFRESH_KINDS, (s.config, s.revalidate, s.config), strict=True):
        measured = measure(refresh_cmd(s, db, conc, config), env)
        run = last_run(db)
        measured["flow"] = run["duration_s"]
        if kind == "refresh_warm":
            assert duck_count(db, "SELECT count(*) FROM cases") == s.pages
        elif kind == "refresh_revalidate":
            assert run["not_modified"] == s.pages, f"revalidate: {run} for {s.pages} pages"
        else:
            assert not run["fetched"], f"lastmod no-change fetched pages: {run}"
        s.add(kind, measured)


def measure_cold(s: SizeRun, env: dict[str, str], conc: int, round_no: int) -> None:
    """Without a Prefect server: the first run on a machine (a fresh Prefect home, whose
    database the temporary server creates), then a later one (the same home)."""
    home = s.dir / f"prefect-cold-{round_no}"
    cold_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    cold_env["PREFECT_HOME"] = str(home)
    for kind in ("refresh_cold", "refresh_cold_kept"):
        db = s.dir / f"{kind}-{round_no}.duckdb"
        measured = measure(refresh_cmd(s, db, conc, s.config), cold_env)
        measured["flow"] = last_run(db)["duration_s"]
        assert duck_count(db, "SELECT count(*) FROM cases") == s.pages
        s.add(kind, measured)
    shutil.rmtree(home, ignore_errors=True)


# -- the run ------------------------------------------------------------------------------------


def ensure_site(size: int) -> Path:
    from latinno.sitemodel.generate import generate_site

    site = WORK / f"site-{size}"
    if not (site / "en" / "case").is_dir() or len(list((site / "en" / "case").iterdir())) != size:
        shutil.rmtree(site, ignore_errors=True)
        print(f"bench_peer: generating {size} pages under {site}", flush=True)
        generate_site(site, total=size)
    return site


def run(args: argparse.Namespace) -> dict[str, Any]:
    nginx_binary()  # fails first, with how to install it
    python = scrapy_python()
    code, code_name = code_tree(args.at)
    sites = {size: ensure_site(size) for size in args.sizes}
    tmp = Path(tempfile.mkdtemp(prefix="latinno-peer-", dir=WORK))
    # Every process imports the measured tree first: scripts run from files in tmp (so their own
    # folder, not the working directory, leads sys.path; Scrapy also reads its callbacks'
    # source), and `latinno` puts PYTHONPATH before the editable install.
    for name, text in (
        ("floor.py", FLOOR_TO_DUCKDB),
        ("conditional.py", CONDITIONAL_SCRIPT),
        ("peer_spider.py", SCRAPY_SCRIPT),
    ):
        (tmp / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp / "prefect-warm"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONPATH=str(code),
    )
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    started_procs: list[subprocess.Popen] = []
    try:
        nginx, bases = start_nginx(tmp, sites)
        started_procs.append(nginx)
        prefect, api_url = start_prefect_server(env)
        started_procs.append(prefect)
        warm_env = dict(env, PREFECT_API_URL=api_url)
        sizes = [SizeRun(size, sites[size], bases[size], tmp) for size in args.sizes]
        for s in sizes:
            pages = asyncio.run(_collect_validators(s.urls, args.concurrency))
            s.validators.write_text(json.dumps(pages))
        conc = args.concurrency
        groups: list[tuple[str, Callable[[SizeRun, int], None]]] = [
            ("floor", lambda s, r: measure_floor(s, env, conc, r)),
            ("scrapy", lambda s, r: measure_scrapy(s, env, conc, r, python)),
            ("refresh", lambda s, r: measure_refresh(s, warm_env, conc, r)),
            ("conditional", lambda s, r: measure_conditional(s, env, conc, r)),
            ("cold", lambda s, r: measure_cold(s, env, conc, r)),
        ]
        for round_no in range(args.rounds):
            order = groups[round_no % len(groups) :] + groups[: round_no % len(groups)]
            for s in sizes:
                for _name, step in order:
                    step(s, round_no)
                print(f"round {round_no + 1}, {s.size} pages: {brief(s)}", flush=True)
            for s in sizes:  # the feeds, caches and databases of a round are no longer needed
                for path in s.dir.glob(f"*-{round_no}*"):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
    finally:
        for proc in reversed(started_procs):
            stop_group(proc)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": describe_machine(),
        "code": code_name,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "scrapy": SCRAPY_VERSION,
        "nginx": nginx_version(),
        "sizes": [summarize(s) for s in sizes],
    }


def brief(s: SizeRun) -> str:
    return ", ".join(f"{kind} {rows[-1]['wall']:.2f}s" for kind, rows in s.rows.items())


def summarize(s: SizeRun) -> dict[str, Any]:
    out: dict[str, Any] = {"pages": s.pages, "runs": {}}
    for kind, rows in s.rows.items():
        entry = {
            "wall": statistics.median(r["wall"] for r in rows),
            "walls": [round(r["wall"], 2) for r in rows],
            "rss_tree": statistics.median(r["rss_tree"] for r in rows),
            "rss_tree_max": max(r["rss_tree"] for r in rows),
            "rss": statistics.median(r["rss"] for r in rows),
            "cpu": statistics.median(r.get("cpu", 0.0) for r in rows),
        }
        if "flow" in rows[0]:
            entry["flow"] = statistics.median(r["flow"] for r in rows)
        out["runs"][kind] = entry
    return out


# -- the report ---------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    return sorted(int(part) for part in text.split(",") if part.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=_sizes, default=[300, 3744], help="comma-separated pages")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--no-write", action="store_true", help="print, do not write peer.md")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (debugging)")
    ap.add_argument(
        "--at", metavar="REV", help="measure a commit's files (git archive) instead of the tree"
    )
    args = ap.parse_args()
    report = run(args)
    print(json.dumps(report, indent=2))
    (WORK / "peer-last.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    if not args.no_write:
        write_results(report)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
