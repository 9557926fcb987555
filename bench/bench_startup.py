"""CLI start-up benchmark (issue 5): commands that need no orchestration start in under a second.

    python bench/bench_startup.py [--repeats 7] [--no-write]

Times whole processes (median of repeats) for `latinno --help`, `parse`, `query`, `status` and
`export`, beside a bare `python -c pass` measured in the same run, and checks that none of them
imported Prefect. Appends to bench/results/startup.md with the machine and date.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "startup.md"
PAGE = REPO / "fixtures" / "html" / "en" / "case" / "17045" / "index.html"

# Runs the CLI in-process and reports whether prefect got imported, so the check costs nothing.
PROBE = (
    "import sys, runpy; sys.argv = ['latinno', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('latinno', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "sys.stderr.write('PREFECT_IMPORTED' if 'prefect' in sys.modules else '')\n"
)


def timed(cmd: list[str], repeats: int) -> tuple[float, bool]:
    walls, prefect = [], False
    for _ in range(repeats):
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        prefect |= "PREFECT_IMPORTED" in proc.stderr
    return statistics.median(walls), prefect


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "w.duckdb"
        import duckdb  # noqa: F401  (a file the read-only commands can open)

        from warehouse.db import writing

        with writing(db):
            pass
        commands = {
            "latinno --help": ["--help"],
            "latinno parse PAGE": ["parse", str(PAGE)],
            'latinno query "SELECT count(*) ..."': [
                "query",
                "SELECT count(*) FROM cases",
                "--db",
                str(db),
            ],
            "latinno status": ["status", "--db", str(db)],
            "latinno export --format csv": [
                "export",
                "--format",
                "csv",
                "--db",
                str(db),
                "--out",
                str(Path(tmp) / "out"),
            ],
        }
        baseline, _ = timed([sys.executable, "-c", "pass"], args.repeats)
        rows = []
        for label, argv in commands.items():
            wall, prefect = timed([sys.executable, "-c", PROBE, *argv], args.repeats)
            rows.append((label, wall, prefect))
            print(f"{label:32s} {wall:6.3f}s  prefect imported: {prefect}")
    print(f"{'python -c pass':32s} {baseline:6.3f}s")
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        new = not RESULTS.exists()
        with RESULTS.open("a", encoding="utf-8") as fh:
            if new:
                fh.write(
                    "# CLI start-up\n\n`python bench/bench_startup.py` appends a section per "
                    "run. Target (issue 5): under 1 s, without importing Prefect.\n"
                )
            fh.write(
                f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M UTC}\n\nMachine: {describe_machine()}\n\n"
                f"Median of {args.repeats} runs, whole process.\n\n"
                "| command | wall s | minus bare Python | imports Prefect |\n"
                "|---|---:|---:|---|\n"
            )
            for label, wall, prefect in rows:
                fh.write(
                    f"| `{label}` | {wall:.3f} | {wall - baseline:.3f} | "
                    f"{'yes' if prefect else 'no'} |\n"
                )
            fh.write(f"| `python -c pass` (baseline) | {baseline:.3f} | 0 | no |\n")


if __name__ == "__main__":
    main()
