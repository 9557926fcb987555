"""What the release and changes tests share (no tests here): a warehouse with every kind of
value a release must carry, the real CLI in a subprocess, and expected CSV cells written
independently of the release code."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from _warehouse_support import day, make_record

from latinno.record import PAGE_PARTS, CaseRecord, ParseIssue, Source
from warehouse.db import writing
from warehouse.load import load_records, mark_withdrawn
from warehouse.runs import finish_run, start_run

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "html"

# Run the real entry point, then report on stderr whether Prefect got imported.
RUNNER = (
    "import sys\n"
    "from latinno.cli import main\n"
    "sys.argv[0] = 'latinno'\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    loaded = any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules)\n"
    "    print('PREFECT_LOADED' if loaded else 'NO_PREFECT', file=sys.stderr)\n"
)

LONG_ID, RAW_ID, EMPTY_ID, GONE_ID, NO_MEANS_ID = 17901, 17902, 17903, 17904, 17905
FORMULA_TITLE = '=HYPERLINK("http://evil.example","click")'
RAW_FORMALIZATION = "semi-formal arrangement"
# Longer than SPSS holds (32,767 bytes), with line breaks, quotes and commas.
LONG_DESCRIPTION = 'Línea "uno", sí\r\nsegunda línea\n' + "ñ" * 20_000


def latinno(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def fixture_records() -> list[CaseRecord]:
    """The reviewed records of every fixture page (three languages), with their parse issues.

    The expected records rather than the parser's output: these tests are about releases, and
    must not fail while the parser is being changed.
    """
    records = []
    for lang in ("en", "es", "pt"):
        for path in sorted((FIXTURES / lang / "case").glob("*/expected.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            # The reviewed records name each issue's field and raw text, not its wording.
            data["issues"] = [{"message": "kept, not coded", **i} for i in data["issues"]]
            records.append(CaseRecord.from_dict(data))
    return records


def edge_records() -> list[CaseRecord]:
    return [
        make_record(LONG_ID, title=FORMULA_TITLE, description=LONG_DESCRIPTION),
        make_record(
            RAW_ID,
            formalization=RAW_FORMALIZATION,
            frequency=None,
            co_governance=None,
            means=(),
            title="Mesa de diálogo — ñandú, ação",
        ),
        make_record(EMPTY_ID, sources=(Source("", "https://www.gob.pe/x"),)),
        make_record(GONE_ID, title="A case that will be withdrawn"),
        # Its page showed no Means section: every means variable is unknown, not "no".
        make_record(
            NO_MEANS_ID,
            means=(),
            sections_present=tuple(p for p in PAGE_PARTS if p != "means"),
            issues=(ParseIssue("means", None, "section 'means' not found on the page"),),
        ),
    ]


def run(db: Path, run_id: str, at: datetime, records: list[CaseRecord]) -> None:
    """One run as the flow records it: start, load, finish (all at ``at``)."""
    with writing(db) as con:
        start_run(con, run_id, at, {"base_url": "https://latinno.net"})
        load_records(con, records, run_id=run_id, seen_at=at, primary_lang="en")
        finish_run(con, run_id, at + timedelta(minutes=5), {"new": len(records)})


def build_warehouse(db: Path) -> Path:
    """Fixture cases and edge cases loaded by run r1; GONE_ID withdrawn by run r2 a day later."""
    run(db, "r1", day(0), fixture_records() + edge_records())
    with writing(db) as con:
        start_run(con, "r2", day(1), {"base_url": "https://latinno.net"})
        mark_withdrawn(con, [GONE_ID], day(1), run_id="r2")
        finish_run(con, "r2", day(1) + timedelta(minutes=5), {"withdrawn": 1})
    return db


def expected_cell(value: object) -> str:
    """A CSV cell as the release must write it (plain dialect), after the csv module reads it."""
    if value is None:
        return ""
    if value is True or value is False:
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, float):
        return repr(value)
    return str(value)
