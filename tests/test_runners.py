"""Parse workers of Prefect's process pool stay light (issue 12): they parse, and do not import
every installed Prefect collection (prefect-dask, and with it dask, distributed and pandas)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner
from test_parsing import fixture_pages

from flows.parsing import ParseSpec
from flows.runners import _api_url, parse_engine, prepare_worker
from latinno.record import CaseRecord

SPEC = ParseSpec.of({}, ["active"])

HEAVY = ["prefect_dask", "distributed", "dask", "pandas"]


@task
def loaded(names: list[str]) -> dict[str, bool]:
    """Which of ``names`` the worker running this task has imported, after a task run."""
    return {name: name in sys.modules for name in names}


def on_a_worker(monkeypatch: pytest.MonkeyPatch, initializer: Any) -> dict[str, bool]:
    @flow
    def probe() -> dict[str, bool]:
        if url := _api_url():  # the worker reports to this run's API, as flows.runners does
            monkeypatch.setenv("PREFECT_API_URL", url)
        with ProcessPoolTaskRunner(max_workers=1, initializer=initializer) as runner:
            return runner.submit(loaded, {"names": HEAVY}).result()

    return probe()


def test_parse_workers_prepare_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the initializer the worker imports them (so this test can see the difference) ...
    assert on_a_worker(monkeypatch, None)["prefect_dask"] is True
    # ... with it, none of them, and the task run still completes.
    assert on_a_worker(monkeypatch, prepare_worker) == dict.fromkeys(HEAVY, False)


def children(pid: int) -> list[tuple[int, bytes]]:
    """(pid, command line) of every live child process of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def test_workers_started_ahead_use_the_runs_prefect_api() -> None:
    """Workers started on a thread of their own (``ParseEngine.expect``) still get the API the
    run uses; without it each would start a temporary Prefect server of its own (10-25 s and
    about 200 MB each, unseen)."""
    pages = fixture_pages()

    @flow
    def parse_ahead() -> tuple[int, list[bytes]]:
        engine = parse_engine(SPEC, engine="local", workers=2, dask_address=None, pool_min_pages=10)
        with engine:
            engine.expect(len(pages))
            outcomes = engine.parse(pages)
            workers = [pid for pid, cmd in children(os.getpid()) if b"spawn_main" in cmd]
            assert len(workers) == 2, children(os.getpid())
            servers = [cmd for pid in workers for _, cmd in children(pid)]
        return sum(isinstance(o, CaseRecord) for o in outcomes), servers

    parsed, servers = parse_ahead()
    assert parsed == len(pages)
    assert servers == []  # no worker started anything, let alone a Prefect server
