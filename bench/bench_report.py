"""Report benchmark: ``latinno report`` of a warehouse of 3,744 cases (the real site's size).

Run: ``python bench/bench_report.py [--cases 3744] [--repeats 5] [--note TEXT]``. The fixture
records (bench_load's) are replicated to ``--cases`` cases with new ids and loaded in one run;
``write_report`` is timed over the repeats. Appends a dated section to bench/results/report.md.
Target (README, "The report"): under a second for 3,744 cases; tests/test_report.py checks what
the report counts, not how long it takes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe_machine
from bench_load import fixture_records, synthetic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latinno import report  # noqa: E402
from warehouse.db import writing  # noqa: E402
from warehouse.load import load_records  # noqa: E402
from warehouse.runs import finish_run, start_run  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "report.md"
_TITLE = "# Report benchmark (bench/bench_report.py)\n"


def measure(cases: int, repeats: int) -> list[float]:
    """Seconds of each ``write_report`` of a warehouse holding ``cases`` cases."""
    with tempfile.TemporaryDirectory(prefix="latinno-bench-") as tmp:
        db = Path(tmp) / "big.duckdb"
        seen = datetime.now(UTC)
        with writing(db) as con:
            start_run(con, "bench", seen, {})
            records = synthetic(cases, fixture_records())
            load_records(con, records, run_id="bench", seen_at=seen, primary_lang="en")
            finish_run(con, "bench", seen, {"fetched": cases, "new": cases})
        times = []
        for round_no in range(repeats):
            started = time.perf_counter()
            report.write_report(db, Path(tmp) / f"r{round_no}.html", lock_timeout_s=5)
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3744)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", default="", help="what this run measures, for its heading")
    args = parser.parse_args()
    times = measure(args.cases, args.repeats)
    median = statistics.median(times)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {date}" + (f": {args.note}" if args.note else ""),
        "",
        f"- Machine: {describe_machine()}",
        f"- {args.cases:,} cases; {args.repeats} reports, median quoted.",
        "",
        f"- `write_report`: **{median:.2f} s** median (target < 1 s), best {min(times):.2f} s; "
        f"all runs {[round(t, 2) for t in times]}.",
        "",
    ]
    # Each run is appended as a dated section, so earlier figures stay for comparison.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    earlier = args.out.read_text(encoding="utf-8") if args.out.exists() else _TITLE
    args.out.write_text(earlier.rstrip("\n") + "\n\n" + "\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
