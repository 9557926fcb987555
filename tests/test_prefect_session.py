"""The test session's one Prefect server (tests/_prefect_support.py): CLI runs and in-process
flows report to it, and none of them starts a temporary server of its own (each of those was a
cold start of 5-25 s per test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _flow_support import quiet_cli_env, run_refresh

from latinno.sitemodel.server import run_server_in_thread

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "html"


def flow_runs(api: str) -> list[dict[str, object]]:
    response = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=30)
    response.raise_for_status()
    runs: list[dict[str, object]] = response.json()
    return runs


def test_cli_and_in_process_runs_report_to_the_session_server(
    prefect_api: str, tmp_path: Path
) -> None:
    before = {run["id"] for run in flow_runs(prefect_api)}
    env = quiet_cli_env(tmp_path)
    assert env["PREFECT_API_URL"] == prefect_api
    with run_server_in_thread(FIXTURES, sitemap=True) as site:
        command = ["refresh", "--db", str(tmp_path / "cli.duckdb"), "--rate", "0", "--limit", "2"]
        proc = subprocess.run(
            [sys.executable, "-m", "latinno.cli", *command, "--base-url", site.base_url],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        after_cli = [run for run in flow_runs(prefect_api) if run["id"] not in before]
        run_refresh(base_url=site.base_url, db=str(tmp_path / "inproc.duckdb"))
    after_both = [run for run in flow_runs(prefect_api) if run["id"] not in before]
    assert [run["state_type"] for run in after_cli] == ["COMPLETED"]
    assert len(after_both) == 2 and {run["state_type"] for run in after_both} == {"COMPLETED"}
    # No temporary server: it would have created its database in the command's Prefect home.
    assert not (Path(env["PREFECT_HOME"]) / "prefect.db").exists()
