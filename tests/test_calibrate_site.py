"""Meeting a site marked another way (issue 19), end to end over real loopback HTTP: the first
refresh into a fresh warehouse is held (exit 3, one line naming the lists, the share of pages,
the marker in use and `latinno calibrate`), `latinno calibrate --write` learns the marker into
the config file, and the next refresh loads every field of every case exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest
from _flow_support import expected_records, run_cli, run_refresh, stored_case

from flows.summary import RunSummary
from latinno.sitemodel.server import run_server_in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"


def latinno(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, *args, timeout=600)


# Two kinds end to end: an attribute on the applying options, a class on the others. Every
# marking is learnt and read exactly, and its marker written and read back, in
# tests/test_calibration.py (in-process, milliseconds each).
@pytest.mark.parametrize("marking", ["aria", "inactive-class"])
def test_uncalibrated_first_run_is_held_then_calibrate_then_refresh_is_exact(
    tmp_path: Path, marking: str
) -> None:
    db = tmp_path / "w.duckdb"
    config = tmp_path / "config.yaml"
    config.write_text(
        "# a user's config\nsource:\n  languages: [en]\npoliteness:\n  rate: 0   # local\n"
        f"  concurrency: 4\nwarehouse:\n  path: {db}\n",
        encoding="utf-8",
    )
    with run_server_in_thread(FIXTURES, sitemap=True, marking=marking) as site:
        url = ["--base-url", site.base_url, "--config", str(config)]
        held = latinno(tmp_path, "refresh", *url)
        assert held.returncode == 3, held.stderr
        (line,) = held.stderr.strip().splitlines()
        assert line.startswith("latinno: error: held: means on 60 of 60 pages (100%)"), line
        assert "class 'active' marks applying options" in line, line
        assert "`latinno calibrate`" in line and "nothing applied" in line, line
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM cases").fetchone() == (0,)
        # The archived pages re-read with the same marker are held the same way.
        reparsed = latinno(tmp_path, "reparse", "--config", str(config))
        assert reparsed.returncode == 3, reparsed.stderr
        assert (
            "`latinno calibrate`" in reparsed.stderr and "reparse --accept-drift" in reparsed.stderr
        )

        learnt = latinno(tmp_path, "calibrate", *url, "--write")
        assert learnt.returncode == 0, learnt.stdout + learnt.stderr
        assert "Learnt: " in learnt.stdout and "Written: parser.marker" in learnt.stdout
        assert config.read_text(encoding="utf-8").startswith("# a user's config\n")

        # The learnt marker read back from the file by a refresh in this process (a refresh's
        # exit 0 as a process is tested everywhere; its exit 3 above).
        applied = run_refresh(config_path=str(config), base_url=site.base_url)
        assert RunSummary.from_dict(applied).exit_code == 0, applied["counts"]
    expected = expected_records(FIXTURES, "en")
    with duckdb.connect(str(db), read_only=True) as con:
        assert {r[0] for r in con.execute("SELECT case_id FROM cases").fetchall()} == set(expected)
        for case_id, record in expected.items():
            want = {name: record[name] for name in stored_case(con, case_id)}
            assert stored_case(con, case_id) == want, f"case {case_id} ({marking})"
            issues = con.execute(
                "SELECT field, raw FROM parse_issues WHERE case_id = ?", [case_id]
            ).fetchall()
            assert sorted(issues, key=str) == sorted(
                ((i["field"], i["raw"]) for i in record["issues"]), key=str
            ), f"case {case_id} ({marking})"
