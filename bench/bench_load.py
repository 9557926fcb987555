"""Load benchmark: 100,000 synthetic case records through warehouse.load (Arrow, set-based),
then again unchanged, beside a row-by-row ``executemany`` baseline on a sample, same run.

Run: ``python bench/bench_load.py [--records 100000] [--sample 2000] [--note TEXT]``. Appends a
dated section (date, machine, figures) to bench/results/load.md. Targets: >= 100x the
baseline's rows/s and 100k records in under 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _machine import describe_machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latinno.columns import of_kind, scalar_columns  # noqa: E402
from latinno.record import CASE_COLUMNS, CaseRecord  # noqa: E402
from warehouse.content import canonical_json, case_content, content_hash  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.load import load_records  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "load.md"


def fixture_records() -> list[CaseRecord]:
    """Base records: the English expected records of fixtures/html (one language per case, as
    a refresh with languages [en] loads them); those whose issues lack a message are skipped."""
    found = []
    for path in sorted((ROOT / "fixtures" / "html").glob("**/expected.json")):
        try:
            found.append(CaseRecord.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, TypeError, KeyError):
            continue
    english = [r for r in found if r.lang == "en"]
    if not english:
        raise SystemExit("bench_load: no usable fixtures/html/**/expected.json (run from a clone)")
    return english


def synthetic(n: int, base: list[CaseRecord]) -> list[CaseRecord]:
    """n records: the base records replicated with new ids (and urls)."""
    out = []
    for i in range(n):
        record = base[i % len(base)]
        case_id = 1_000_000 + i
        out.append(replace(record, case_id=case_id, url=f"https://latinno.net/en/case/{case_id}/"))
    return out


def baseline(path: Path, records: list[CaseRecord], seen: datetime) -> float:
    """Row-by-row: executemany INSERTs into the same schema, one transaction. Returns seconds.

    Columns follow the column spec (CASE_COLUMNS), as the loader's do.
    """
    scalars = [c.name for c in scalar_columns(CASE_COLUMNS)]
    texts_of = [c.name for c in of_kind(CASE_COLUMNS, "text")]
    lists = of_kind(CASE_COLUMNS, "codes")
    con = connect(path)
    started = time.perf_counter()
    con.begin()
    case_rows, texts, history = [], [], []
    bridges: dict[str, list[tuple[int, str]]] = {c.name: [] for c in lists}
    for r in records:
        text = canonical_json(case_content(r))
        digest = content_hash(text)
        case_rows.append(
            (
                r.case_id,
                *(getattr(r, name) for name in scalars),
                r.url,
                r.lang,
                "active",
                seen,
                seen,
                seen,
                r.parser_version,
                digest,
                0,  # quick_hash: its value does not matter to the cost of a row-by-row insert
            )
        )
        text_values = (getattr(r, name) for name in texts_of)
        texts.append((r.case_id, r.lang, *text_values, r.url, seen, seen, seen))
        history.append((r.case_id, 1, seen, None, "active", "new", digest, text, "bench"))
        for column in lists:
            bridges[column.name] += [(r.case_id, c) for c in getattr(r, column.name)]
    names = ", ".join(scalars)
    con.executemany(
        f"INSERT INTO cases (case_id, {names}, url, lang, status, first_seen_at, last_seen_at, "
        "last_changed_at, parser_version, content_hash, quick_hash) "
        f"VALUES ({', '.join('?' * (len(scalars) + 10))})",
        case_rows,
    )
    con.executemany(
        f"INSERT INTO case_texts VALUES ({', '.join('?' * (len(texts_of) + 6))})", texts
    )
    con.executemany("INSERT INTO case_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", history)
    for column in lists:
        con.executemany(f"INSERT INTO {column.table} VALUES (?, ?)", bridges[column.name])
    con.commit()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def measure(
    records: list[CaseRecord], sample: list[CaseRecord], repeats: int
) -> tuple[list[float], list[float], list[float]]:
    """Seconds of each repeat: first load, unchanged reload, executemany baseline (sample)."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    first, again, base_s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(repeats):
            con = connect(Path(tmp) / f"bench{rep}.duckdb")
            started = time.perf_counter()
            stats = load_records(con, records, run_id="r1", seen_at=t0, primary_lang="en")
            first.append(time.perf_counter() - started)
            assert stats.new == len(records), stats
            started = time.perf_counter()
            stats = load_records(
                con, records, run_id="r2", seen_at=t0 + timedelta(days=7), primary_lang="en"
            )
            again.append(time.perf_counter() - started)
            assert stats.unchanged == len(records) and stats.new == stats.changed == 0, stats
            con.close()
            base_s.append(
                baseline(Path(tmp) / f"base{rep}.duckdb", sample, t0.replace(tzinfo=None))
            )
    return first, again, base_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", default="", help="what this run measures, for its heading")
    args = parser.parse_args()

    import duckdb

    base = fixture_records()
    records = synthetic(args.records, base)
    sample = records[: args.sample]
    first, again, base_s = measure(records, sample, args.repeats)

    first_med, again_med, base_med = (statistics.median(x) for x in (first, again, base_s))
    load_rate = len(records) / first_med
    reload_rate = len(records) / again_med
    base_rate = len(sample) / base_med
    per_100k = 100_000 / load_rate
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {date}" + (f": {args.note}" if args.note else ""),
        "",
        f"- Date: {date}",
        f"- Machine: {describe_machine()}",
        f"- DuckDB {duckdb.__version__}; {len(base)} base records replicated to "
        f"{len(records):,} records (new ids); {args.repeats} repeats, medians quoted.",
        "- Machine shared with other jobs while measuring: compare the ratio, not absolutes.",
        "",
        "| what | records | median s | records/s |",
        "|---|---:|---:|---:|",
        f"| load_records, new (Arrow, set-based) | {len(records):,} | {first_med:.3f} "
        f"| {load_rate:,.0f} |",
        f"| load_records, reload unchanged | {len(records):,} | {again_med:.3f} "
        f"| {reload_rate:,.0f} |",
        f"| baseline: executemany row by row | {len(sample):,} | {base_med:.3f} "
        f"| {base_rate:,.0f} |",
        "",
        f"- Ratio load / baseline: **{load_rate / base_rate:,.0f}x** (target >= 100x); "
        f"reload / baseline: {reload_rate / base_rate:,.0f}x.",
        f"- Seconds for 100k records: load **{per_100k:.2f} s**, reload "
        f"{100_000 / reload_rate:.2f} s (target < 2 s).",
        f"- All runs (s): load {[round(x, 3) for x in first]}, reload "
        f"{[round(x, 3) for x in again]}, baseline {[round(x, 3) for x in base_s]}.",
        "",
    ]
    # Each run is appended as a dated section, so earlier figures stay for comparison.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    earlier = args.out.read_text(encoding="utf-8") if args.out.exists() else _TITLE
    args.out.write_text(earlier.rstrip("\n") + "\n\n" + "\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


_TITLE = "# Load benchmark (bench/bench_load.py)\n"


if __name__ == "__main__":
    main()
