"""Refresh benchmark (issue 3): the full pipeline against a floor measured in the same run.

    python bench/bench_refresh.py [--pages 3744] [--rounds 3] [--concurrency 8]
        [--polite-pages 200] [--no-write]

Per round, each in its own process, against one site server process on loopback:
- floor: a bare httpx async loop over the same URLs (concurrency N), parsing every page with
  the same parser, nothing stored;
- full: ``latinno refresh --rate 0 --concurrency N`` into a new DuckDB file;
- no-change: the same command again on that file (every page answers 304);
- polite, once: ``latinno refresh --rate 2 --concurrency 2 --limit N`` (the real job's rate):
  CPU seconds (user + system of the process tree) against wall time, and per 1,000 pages.
The refresh processes talk to a Prefect server started once by this script (as a scheduled
deployment would), so Prefect's ~10 s temporary-server start is not counted; it is reported
apart, once, as "cold start". Peak RSS is sampled from /proc for the process and for its whole
tree. Figures: medians over rounds, appended to
bench/results/refresh.md with the machine and date.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"
RESULTS = REPO / "bench" / "results" / "refresh.md"
LATINNO = [sys.executable, "-m", "latinno.cli"]

FLOOR_SCRIPT = """
import asyncio, sys, time, httpx
from parsers import parse_case
urls = sys.stdin.read().split()
conc = int(sys.argv[1])
async def main():
    sem = asyncio.Semaphore(conc)
    limits = httpx.Limits(max_connections=conc)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one(url):
            async with sem:
                r = await client.get(url)
            return parse_case(r.content, url)
        return await asyncio.gather(*(one(u) for u in urls))
t = time.perf_counter()
records = asyncio.run(main())
print(len(records), time.perf_counter() - t)
"""


def _tree_rss_mb(pid: int) -> tuple[float, float]:
    """(RSS of pid, RSS of pid and all its descendants) in MB, from /proc."""

    def rss(p: int) -> int:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return 0
        return 0

    def children(p: int) -> list[int]:
        out: list[int] = []
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
        return out

    own = rss(pid)
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss(p)
        stack += children(p)
    return own / 1024, total / 1024


def run_measured(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> dict:
    """Run a command, sampling its RSS every 20 ms; returns wall, CPU (user + system of the
    tree, once waited for), peak RSS and stdout."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = {"own": 0.0, "tree": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            own, tree = _tree_rss_mb(proc.pid)
            peak["own"] = max(peak["own"], own)
            peak["tree"] = max(peak["tree"], tree)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate(stdin)
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err[-3000:]}")
    return {"wall": wall, "cpu": cpu, "rss": peak["own"], "rss_tree": peak["tree"], "stdout": out}


def last_flow_seconds(db: Path) -> float:
    """The flow's own duration (runs.duration_s): a run inside a long-lived `latinno serve`
    process costs this, without the ~2 s of importing Prefect that every CLI process pays."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT duration_s FROM runs ORDER BY started_at DESC LIMIT 1"
        ).fetchone()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prefect_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("Prefect server did not start within 90 s")


def start_site(root: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [*LATINNO, "site", "serve", "--port", "0", "--root", str(root), "--sitemap"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def refresh_cmd(base_url: str, db: Path, concurrency: int) -> list[str]:
    return [
        *LATINNO,
        "refresh",
        "--base-url",
        base_url,
        "--db",
        str(db),
        "--rate",
        "0",
        "--concurrency",
        str(concurrency),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=3744)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--polite-pages", type=int, default=200)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    from latinno.sitemodel.generate import generate_site

    site = WORK / f"site-{args.pages}"
    if not (site / "en" / "case").is_dir():
        shutil.rmtree(site, ignore_errors=True)
        generate_site(site, total=args.pages)
    tmp = Path(tempfile.mkdtemp(prefix="latinno-bench-"))
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(tmp / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    site_proc, base_url = start_site(site)
    try:
        ids = sorted(int(p.name) for p in (site / "en" / "case").iterdir())
        rows, cold, polite_pages = _measure(base_url, ids, tmp, env, args)
    finally:
        site_proc.terminate()
        site_proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    report = _summary(rows, cold, len(ids), polite_pages, args)
    print(json.dumps(report, indent=2))
    if not args.no_write:
        write_results(report)


def _measure(
    base_url: str, ids: list[int], tmp: Path, env: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, list[dict]], dict, int]:
    """One cold refresh; per round the floor, a full, a no-change and a revalidating refresh
    against a warm Prefect server, and a reparse; then one polite refresh."""
    rows: dict[str, list[dict]] = {
        "floor": [],
        "full": [],
        "nochange": [],
        "revalidate": [],
        "reparse": [],
    }
    # The same no-change refresh without trusting the sitemap's <lastmod>: every page is
    # revalidated with a conditional GET (304), as on a site without lastmod, or when probing;
    # the revisit policy (issue 23) would ask only the pages due.
    revalidate_cfg = tmp / "revalidate.yaml"
    revalidate_cfg.write_text(
        "source:\n  trust_sitemap_lastmod: false\nrevisit:\n  enabled: false\n"
    )
    urls = "\n".join(f"{base_url}/en/case/{i}/" for i in ids)
    # Cold start once: the CLI as a newcomer runs it, temporary Prefect server included.
    cold = run_measured(refresh_cmd(base_url, tmp / "cold.duckdb", args.concurrency), env)
    prefect_proc, api_url = start_prefect_server(env)
    warm_env = dict(env, PREFECT_API_URL=api_url)
    try:
        for round_no in range(args.rounds):
            floor = run_measured(
                [sys.executable, "-c", FLOOR_SCRIPT, str(args.concurrency)], env, urls
            )
            count = int(floor["stdout"].split()[0])
            assert count == len(ids), f"floor parsed {count} of {len(ids)} pages"
            rows["floor"].append(floor)
            db = tmp / f"round{round_no}.duckdb"
            cmd = refresh_cmd(base_url, db, args.concurrency)
            for kind in ("full", "nochange", "revalidate"):
                extra = ["--config", str(revalidate_cfg)] if kind == "revalidate" else []
                measured = run_measured(cmd + extra, warm_env)
                measured["flow"] = last_flow_seconds(db)
                rows[kind].append(measured)
            # Every archived page parsed again, no network (issue 8: its time on bs4).
            rows["reparse"].append(run_measured([*LATINNO, "reparse", "--db", str(db)], env))
            print(
                f"round {round_no + 1}: floor {floor['wall']:.2f}s, "
                f"full {rows['full'][-1]['wall']:.2f}s, "
                f"no-change {rows['nochange'][-1]['wall']:.2f}s, "
                f"revalidate {rows['revalidate'][-1]['wall']:.2f}s",
                flush=True,
            )
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            loaded = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        assert loaded == len(ids), f"refresh loaded {loaded} of {len(ids)} cases"
        polite_db = tmp / "polite.duckdb"
        polite = refresh_cmd(base_url, polite_db, 2)
        polite[polite.index("--rate") + 1] = "2"
        polite += ["--limit", str(args.polite_pages)]
        rows["polite"] = [run_measured(polite, warm_env)]
        with duckdb.connect(str(polite_db), read_only=True) as con:
            polite_pages = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        print(f"polite: {polite_pages} pages, {rows['polite'][0]['wall']:.1f}s", flush=True)
    finally:
        prefect_proc.terminate()
        prefect_proc.wait(timeout=30)
    return rows, cold, polite_pages


def _summary(
    rows: dict[str, list[dict]], cold: dict, pages: int, polite_pages: int, args: argparse.Namespace
) -> dict:
    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[kind])

    floor_s, full_s, noch_s = med("floor", "wall"), med("full", "wall"), med("nochange", "wall")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": describe_machine(),
        "pages": pages,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "floor_s": round(floor_s, 2),
        "full_s": round(full_s, 2),
        "nochange_s": round(noch_s, 2),
        "revalidate_s": round(med("revalidate", "wall"), 2),
        "revalidate_flow_s": round(med("revalidate", "flow"), 2),
        "full_over_floor": round(full_s / floor_s, 2),
        "full_flow_s": round(med("full", "flow"), 2),
        "nochange_flow_s": round(med("nochange", "flow"), 2),
        "full_flow_over_floor": round(med("full", "flow") / floor_s, 2),
        "flow_full_over_nochange": round(med("full", "flow") / med("nochange", "flow"), 2),
        "full_over_nochange": round(full_s / noch_s, 2),
        "full_pages_per_s": round(pages / full_s, 1),
        "full_rss_mb": round(med("full", "rss"), 1),
        "full_rss_tree_mb": round(med("full", "rss_tree"), 1),
        "floor_rss_mb": round(med("floor", "rss"), 1),
        "cold_start_full_s": round(cold["wall"], 2),
        "reparse_s": round(med("reparse", "wall"), 2),
        "reparse_rss_tree_mb": round(med("reparse", "rss_tree"), 1),
        "reparse_cpu_s": round(med("reparse", "cpu"), 2),
        "polite_pages": polite_pages,
        "polite_s": round(med("polite", "wall"), 1),
        "polite_cpu_s": round(med("polite", "cpu"), 1),
        "polite_cpu_per_1000": round(1000 * med("polite", "cpu") / polite_pages, 1),
        "polite_rss_tree_mb": round(med("polite", "rss_tree"), 1),
        "full_cpu_per_1000": round(1000 * med("full", "cpu") / pages, 1),
    }


def write_results(r: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    new = not RESULTS.exists()
    with RESULTS.open("a", encoding="utf-8") as fh:
        if new:
            fh.write(
                "# Refresh benchmark\n\n`python bench/bench_refresh.py` appends a section per "
                "run. Targets (issue 3): full refresh at most 1.5x the floor; no-change refresh "
                "at least 5x faster than full; peak RSS under 400 MB.\n"
            )
        fh.write(
            f"\n## {r['date']}\n\nMachine: {r['machine']}\n\n"
            f"{r['pages']} pages, concurrency {r['concurrency']}, no rate limit, "
            f"medians of {r['rounds']} rounds, wall-clock seconds of whole processes.\n\n"
            "| run | wall s | ratio | peak RSS MB (process / tree) |\n"
            "|---|---:|---:|---:|\n"
            f"| floor: bare httpx loop + same parser | {r['floor_s']} | 1.00 | "
            f"{r['floor_rss_mb']} |\n"
            f"| full refresh (`latinno refresh`) | {r['full_s']} | "
            f"{r['full_over_floor']} x floor | {r['full_rss_mb']} / {r['full_rss_tree_mb']} |\n"
            f"| no-change refresh (sitemap lastmod: no page requested) | {r['nochange_s']} | "
            f"full / no-change = {r['full_over_nochange']} | |\n"
            f"| no-change refresh, lastmod not trusted (3,744 conditional GETs, all 304) | "
            f"{r['revalidate_s']} | full / this = {round(r['full_s'] / r['revalidate_s'], 2)} | |"
            "\n\n"
            f"Inside the flow (`runs.duration_s`, what a run costs in a long-lived `latinno serve` "
            f"process, without importing Prefect): full {r['full_flow_s']} s = "
            f"{r['full_flow_over_floor']} x floor; no-change {r['nochange_flow_s']} s; "
            f"full / no-change = {r['flow_full_over_nochange']}; revalidating every page "
            f"{r['revalidate_flow_s']} s.\n\n"
            f"Full refresh: {r['full_pages_per_s']} pages/s. Cold start (a first `latinno "
            f"refresh` that also starts Prefect's temporary server): {r['cold_start_full_s']} s. "
            f"`latinno reparse` of the {r['pages']} archived pages (no network, in its own "
            f"process): {r['reparse_s']} s ({r['reparse_cpu_s']} CPU s), peak RSS of its tree "
            f"{r['reparse_rss_tree_mb']} MB.\n\n"
            f"At the polite rate (`--rate 2 --concurrency 2`, {r['polite_pages']} pages, warm "
            f"Prefect server): {r['polite_s']} s wall, {r['polite_cpu_s']} CPU s of the process "
            f"tree ({r['polite_cpu_per_1000']} CPU s per 1,000 pages; at no rate limit "
            f"{r['full_cpu_per_1000']}), peak RSS of the tree {r['polite_rss_tree_mb']} MB.\n"
        )


if __name__ == "__main__":
    main()
