"""What the polite fetcher costs over a bare httpx loop, on the generated full-size site.

Run: ``.venv/bin/python bench/fetch_overhead.py [--pages 3744] [--concurrency 8] [--repeats 3]``
Writes ``bench/results/fetch_overhead.md``. The site server runs as a subprocess
(``latinno site serve``), so server and client each have a core, as in the real benchmark.

Measured, alternating so machine noise hits all alike, medians over ``--repeats``:
- floor: a bare ``httpx.AsyncClient`` loop over the case URLs (a semaphore of ``concurrency``);
- fetcher: ``fetch_cases`` with rate 0 (robots.txt, retries, caps, streaming on);
- revalidate: the same with every page's ETag, so the server answers 304;
- probe: ``probe_prefix`` over all 18 country prefixes with ``max_misses`` 50 (discovery cost).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from _machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flows.discover import fetch_cases, probe_prefix  # noqa: E402
from flows.fetch import Fetcher  # noqa: E402
from flows.fetch_types import FetchPolicy, FetchResult, Validators  # noqa: E402
from latinno.config import Settings, override  # noqa: E402
from latinno.pages import PageKey, case_url  # noqa: E402
from latinno.sitemodel.server import iter_case_pages  # noqa: E402
from latinno.vocabulary import COUNTRY_BY_PREFIX  # noqa: E402

CLI = "from latinno.cli import main; main()"
UA = "latinno-pipeline-bench/0.1 (+https://example.org/contact)"


def _fetcher(concurrency: int) -> Fetcher:
    settings = override(
        Settings(),
        {
            "source": {"base_url": "http://127.0.0.1"},
            "politeness": {"rate": 0.0, "concurrency": concurrency, "user_agent": UA},
        },
        "benchmark",
    )
    return Fetcher(FetchPolicy.from_settings(settings))


async def _floor(urls: list[str], concurrency: int) -> int:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, headers={"User-Agent": UA}) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one(url: str) -> int:
            async with gate:
                response = await client.get(url)
                response.raise_for_status()
                return len(response.content)

        return sum(await asyncio.gather(*(one(u) for u in urls)))


async def _fetch(
    urls: list[str], concurrency: int, validators: dict[str, Validators | None]
) -> list[FetchResult]:
    async with _fetcher(concurrency) as fetcher:
        return await fetch_cases(fetcher, [(u, validators.get(u)) for u in urls])


async def _probe(base_url: str, concurrency: int) -> int:
    async with _fetcher(concurrency) as fetcher:
        found = 0
        for prefix in sorted(COUNTRY_BY_PREFIX):
            outcome = await probe_prefix(
                fetcher, base_url, prefix, langs=["en"], max_misses=50, max_serial=999, known={}
            )
            found += sum(1 for r in outcome.results if r.ok)
        return found


def _timed(job: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = asyncio.run(job())
    return time.perf_counter() - started, value


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3744)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--site", type=Path, help="an existing generated site (else generated)")
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results" / "fetch_overhead.md"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="latinno-bench-") as tmp:
        site = args.site
        if site is None:
            from latinno.sitemodel.generate import generate_site

            site = Path(tmp) / "site"
            generate_site(site, total=args.pages, seed=0, languages=("en",))
        measured = _measure(site, args.concurrency, args.repeats)
    report = _report(measured, args.concurrency, args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(report)


def _measure(site: Path, c: int, repeats: int) -> dict[str, Any]:
    """Alternating runs of the floor, the fetcher and its revalidation, then one probe run,
    against ``latinno site serve`` in a subprocess."""
    pages = [(lang, cid) for lang, cid in iter_case_pages(site) if lang == "en"]
    server = subprocess.Popen(
        [sys.executable, "-c", CLI, "site", "serve", "--port", "0", "--root", str(site)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        urls = [case_url(base, PageKey(cid, lang)) for lang, cid in pages]
        times: dict[str, list[float]] = {"floor": [], "fetcher": [], "revalidate": []}
        validators: dict[str, Validators | None] = {}
        server_cpu: list[float] = []
        for _ in range(repeats):
            wall, _size = _timed(lambda: _floor(urls, c))
            times["floor"].append(wall)
            before = _cpu_s(server.pid)
            wall, results = _timed(lambda: _fetch(urls, c, {}))
            server_cpu.append(_cpu_s(server.pid) - before)
            assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
            times["fetcher"].append(wall)
            validators = {r.url: Validators(r.etag, r.last_modified) for r in results}
            wall, results = _timed(lambda v=validators: _fetch(urls, c, v))
            assert all(r.not_modified for r in results)
            times["revalidate"].append(wall)
        probe_wall, found = _timed(lambda: _probe(base, c))
    finally:
        server.terminate()
        server.wait(10)
    return {"times": times, "server_cpu": server_cpu, "probe": (probe_wall, found), "n": len(urls)}


def _report(measured: dict[str, Any], c: int, repeats: int) -> str:
    times: dict[str, list[float]] = measured["times"]
    server_cpu: list[float] = measured["server_cpu"]
    probe_wall, found = measured["probe"]
    med = {name: statistics.median(values) for name, values in times.items()}
    n = measured["n"]
    low = {name: min(values) for name, values in times.items()}
    rows = [
        f"| {name} | {med[name]:.2f} | {n / med[name]:.0f} | {med[name] / med['floor']:.2f}× "
        f"| {low[name]:.2f} | {low[name] / low['floor']:.2f}× |"
        for name in ("floor", "fetcher", "revalidate")
    ]
    return "\n".join(
        [
            "# Fetcher overhead vs a bare httpx loop",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {describe_machine()}",
            f"- site: {n} generated case pages (en), server `latinno site serve` in a subprocess",
            f"- concurrency {c}, rate 0 (unlimited), median of {repeats} alternating runs",
            "",
            "| run | wall s (median) | pages/s | vs floor | best s | best vs best floor |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            "The machine is shared with other jobs: the best runs show the intrinsic cost, the",
            "medians what a noisy machine gives.",
            "",
            f"Server CPU during a fetcher run: {statistics.median(server_cpu):.2f} s of "
            f"{med['fetcher']:.2f} s wall ({statistics.median(server_cpu) / med['fetcher']:.0%} "
            "of one core): the client, not the server, bounds the rate.",
            "",
            f"Probe discovery of all 18 prefixes (max_misses 50, no known ids): "
            f"{probe_wall:.2f} s, {found} pages found of {n}.",
            "",
            "All runs: "
            + "; ".join(
                f"{name} " + ", ".join(f"{v:.2f}" for v in values) for name, values in times.items()
            ),
            "",
        ]
    )


if __name__ == "__main__":
    main()
