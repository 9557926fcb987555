"""Peak memory of fetching a gzip-inside-gzip bomb, against a normal page fetch in the same run.

Run: ``.venv/bin/python bench/bench_hostile_memory.py [--repeats 3]``
Writes (appends to) ``bench/results/hostile_memory.md``.

Each fetch runs in a fresh child process (``--child URL``), so its peak RSS (``ru_maxrss``)
is that fetch's alone; the site server (``--hostile``) runs in this process. Measured,
alternating so machine noise hits all alike, medians over ``--repeats``:

- baseline: the polite ``Fetcher`` fetching one normal case page;
- bomb: the same ``Fetcher`` fetching ``double_gzip`` (``Content-Encoding: gzip, gzip``, 1 GiB
  of zeros), refused at ``max_body_bytes`` (5 MB) while decoding;
- httpx decoding (reference): what the fetcher did before issue 13, httpx decoding each chunk
  whole and the size checked afterwards, on a smaller bomb (``--reference-mib``, default 256
  MiB) so the machine is not put at risk: it grows with the bomb, the fetcher does not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flows.fetch import Fetcher  # noqa: E402
from flows.fetch_types import FetchPolicy  # noqa: E402
from latinno.config import Settings, override  # noqa: E402
from latinno.sitemodel.server import HOSTILE_PAGES, hostile_body, run_server_in_thread  # noqa: E402

UA = "latinno-pipeline-bench/0.1 (+https://example.org/contact)"
CAP = 5_000_000
RESULTS = REPO / "bench" / "results" / "hostile_memory.md"
HEADER = """# Hostile memory benchmark

`python bench/bench_hostile_memory.py` appends a section per run. Target (issue 13): a
gzip-inside-gzip body is refused with peak memory a small multiple of `http.max_body_bytes`
above a normal page fetch measured in the same run.

"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _fetch(url: str) -> dict[str, object]:
    settings = override(
        Settings(),
        {
            "source": {"base_url": url},
            "politeness": {"rate": 0.0, "user_agent": UA},
            "http": {"max_body_bytes": CAP, "max_retries": 0},
        },
        "benchmark",
    )
    async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
        result = await fetcher.get(url)
    return {"status": result.status, "bytes": len(result.body or b""), "error": result.error}


async def _httpx_decoding(url: str) -> dict[str, object]:
    """The pre-issue-13 way: httpx decodes, the size is checked after each decoded chunk."""
    import httpx

    size = 0
    async with httpx.AsyncClient() as client, client.stream("GET", url) as response:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > CAP:
                return {"status": response.status_code, "bytes": size, "error": "over the cap"}
    return {"status": response.status_code, "bytes": size, "error": None}


def child(mode: str, url: str) -> None:
    started = time.perf_counter()
    run = _httpx_decoding if mode == "httpx" else _fetch
    outcome = asyncio.run(run(url))
    outcome["seconds"] = time.perf_counter() - started
    outcome["peak_mb"] = _peak_mb()
    print(json.dumps(outcome))


def _measure(mode: str, url: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-mib", type=int, default=256)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    root = REPO / "fixtures" / "html"
    bomb = HOSTILE_PAGES["double_gzip"].path
    wire = len(hostile_body("double_gzip", 1 << 30))
    small = args.reference_mib << 20
    with (
        run_server_in_thread(root, hostile=True) as server,
        run_server_in_thread(root, hostile=True, bomb_bytes=small) as reference,
    ):
        hostile_body("double_gzip", small)
        runs: dict[str, list[dict[str, object]]] = {"baseline": [], "bomb": [], "httpx": []}
        for _ in range(args.repeats):
            runs["baseline"].append(_measure("fetcher", f"{server.base_url}/en/case/17045/"))
            runs["bomb"].append(_measure("fetcher", f"{server.base_url}{bomb}"))
            runs["httpx"].append(_measure("httpx", f"{reference.base_url}{bomb}"))

    def median(name: str, key: str) -> float:
        return statistics.median(float(run[key]) for run in runs[name])  # type: ignore[arg-type]

    base = median("baseline", "peak_mb")
    rows = [
        ("baseline: a normal case page (fetcher)", "baseline"),
        ("bomb: double gzip of 1 GiB (fetcher)", "bomb"),
        (f"reference: double gzip of {args.reference_mib} MiB (httpx decoding)", "httpx"),
    ]
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- machine: {describe_machine()}",
        f"- bomb: `Content-Encoding: gzip, gzip`, {wire:,} bytes on the wire, 1 GiB decoded; "
        f"max_body_bytes {CAP:,}; each fetch in a fresh process (ru_maxrss), "
        f"median of {args.repeats} alternating runs",
        "",
        "| fetch | peak RSS MB | vs baseline | above baseline MB | seconds | outcome |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, name in rows:
        peak = median(name, "peak_mb")
        outcome = runs[name][-1]["error"] or f"{runs[name][-1]['bytes']:,} bytes"
        lines.append(
            f"| {label} | {peak:.0f} | {peak / base:.2f}× | {peak - base:+.0f} | "
            f"{median(name, 'seconds'):.2f} | {outcome} |"
        )
    all_runs = "; ".join(
        f"{name} " + ", ".join(f"{float(run['peak_mb']):.0f}" for run in runs[name])  # type: ignore[arg-type]
        for name in runs
    )
    lines += ["", f"All runs (peak MB): {all_runs}", "", ""]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    new_file = not RESULTS.exists()
    with RESULTS.open("a", encoding="utf-8") as out:
        if new_file:
            out.write(HEADER)
        out.write(text)
    print(text)


if __name__ == "__main__":
    main()
