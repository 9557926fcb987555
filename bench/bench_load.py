"""Load benchmark: 100,000 synthetic case records through warehouse.load (Arrow, set-based),
then again unchanged, beside a row-by-row ``executemany`` baseline on a sample, same run.

Run: ``python bench/bench_load.py [--records 100000] [--sample 2000]``. Writes
bench/results/load.md (date, machine, figures). Targets: >= 100x the baseline's rows/s and
100k records in under 2 s.
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

from latinno.record import CaseRecord, ParseIssue, Source  # noqa: E402
from latinno.vocabulary import COUNTRIES, codes_for  # noqa: E402
from warehouse.content import canonical_json, case_content, content_hash  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.load import load_records  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "load.md"


def fixture_records() -> list[CaseRecord]:
    """Base records: fixtures/html/**/expected.json when present, else built-in samples."""
    found = []
    for path in sorted((ROOT / "fixtures" / "html").glob("**/expected.json")):
        try:
            found.append(CaseRecord.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, TypeError, KeyError):
            continue
    english = [r for r in found if r.lang == "en"]
    if english:  # one language per case, as a refresh with languages [en] loads them
        return english
    base = []
    means, ends, cycle = codes_for("means"), codes_for("ends"), codes_for("policy_cycle")
    for i, country in enumerate(COUNTRIES):
        case_id = country.id_prefix * 1000 + 1
        base.append(
            CaseRecord(
                url=f"https://latinno.net/en/case/{case_id}/",
                case_id=case_id,
                lang="en",
                country_code=country.code,
                country=country.name_en,
                title=f"Participatory budgeting of {country.name_en} — {i}",
                description="A paragraph describing the innovation, its history and its "
                "outcomes, long enough to look like a real description. " * 3,
                formalization=codes_for("formalization")[i % 3],
                frequency=codes_for("frequency")[i % 3],
                participant_selection=codes_for("participant_selection")[i % 4],
                participant_types=codes_for("participant_types")[: 1 + i % 3],
                decisiveness=codes_for("decisiveness")[i % 3],
                co_governance=bool(i % 2),
                means=means[: 1 + i % 4],
                ends=ends[i % 5 :],
                policy_cycle=cycle[i % 2 :: 2],
                sources=(Source("Official site", f"https://example.org/{i}"),),
                issues=(ParseIssue("ends", "Other", "unknown option"),) if i % 7 == 0 else (),
                parser_version="bench",
            )
        )
    return base


def synthetic(n: int, base: list[CaseRecord]) -> list[CaseRecord]:
    """n records: the base records replicated with new ids (and urls)."""
    out = []
    for i in range(n):
        record = base[i % len(base)]
        case_id = 1_000_000 + i
        out.append(replace(record, case_id=case_id, url=f"https://latinno.net/en/case/{case_id}/"))
    return out


def baseline(path: Path, records: list[CaseRecord], seen: datetime) -> float:
    """Row-by-row: executemany INSERTs into the same schema, one transaction. Returns seconds."""
    con = connect(path)
    started = time.perf_counter()
    con.begin()
    case_rows, texts, history, bridges = [], [], [], {"means": [], "ends": [], "pt": [], "pc": []}
    for r in records:
        text = canonical_json(case_content(r))
        digest = content_hash(text)
        case_rows.append(
            (
                r.case_id,
                r.country_code,
                r.title,
                r.description,
                r.formalization,
                r.frequency,
                r.participant_selection,
                r.decisiveness,
                r.co_governance,
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
        texts.append((r.case_id, r.lang, r.title, r.description, r.url, seen, seen, seen))
        history.append((r.case_id, 1, seen, None, "active", "new", digest, text, "bench"))
        bridges["means"] += [(r.case_id, c) for c in r.means]
        bridges["ends"] += [(r.case_id, c) for c in r.ends]
        bridges["pt"] += [(r.case_id, c) for c in r.participant_types]
        bridges["pc"] += [(r.case_id, c) for c in r.policy_cycle]
    con.executemany("INSERT INTO cases VALUES (" + ", ".join("?" * 18) + ")", case_rows)
    con.executemany("INSERT INTO case_texts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", texts)
    con.executemany("INSERT INTO case_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", history)
    con.executemany("INSERT INTO case_means VALUES (?, ?)", bridges["means"])
    con.executemany("INSERT INTO case_ends VALUES (?, ?)", bridges["ends"])
    con.executemany("INSERT INTO case_participant_types VALUES (?, ?)", bridges["pt"])
    con.executemany("INSERT INTO case_policy_cycle VALUES (?, ?)", bridges["pc"])
    con.commit()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    import duckdb

    base = fixture_records()
    records = synthetic(args.records, base)
    sample = records[: args.sample]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    first, again, base_s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            path = Path(tmp) / f"bench{rep}.duckdb"
            con = connect(path)
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

    first_med, again_med, base_med = (statistics.median(x) for x in (first, again, base_s))
    load_rate = len(records) / first_med
    reload_rate = len(records) / again_med
    base_rate = len(sample) / base_med
    per_100k = 100_000 / load_rate
    lines = [
        "# Load benchmark (bench/bench_load.py)",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
